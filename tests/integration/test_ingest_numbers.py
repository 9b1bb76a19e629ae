"""One value that cannot be stored never loses the rest of an acknowledged request: numbers are made
storable per span / per event (dropped with a note), and rows ClickHouse still refuses are isolated,
dead-lettered with their reason, and replayable."""

from __future__ import annotations

import argparse
import asyncio
import json
from typing import Any

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from app.cli import _ingest_status
from app.jobs import ingest
from app.jobs.contracts import JobQueue
from app.storage import Storage
from app.storage.clickhouse.query import CompiledQuery
from app.tracing import pipeline
from app.tracing.numbers import DROPPED
from app.tracing.pipeline import OtlpMapper, RawBatch, map_otlp
from app.tracing.writer import CoalescingWriter, Mapped
from tests.conftest import ProjectFixture, assert_aggregates_match_raw, jobs_done, wait_for
from tests.integration.test_ingest_batch import ev
from tests.integration.test_ingest_otlp import PB, URL

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("worker")]
USAGE = "langfuse.observation.usage_details"
COST = "langfuse.observation.cost_details"


def export(trace_hex: str, spans: list[dict[str, Any]]) -> bytes:
    """One trace; span i carries the attributes spans[i] (str → string value, float → double value)."""
    request = ExportTraceServiceRequest()
    scope = request.resource_spans.add().scope_spans.add()
    scope.scope.name, scope.scope.version = "langfuse-sdk", "5.0.4"
    for i, attributes in enumerate(spans):
        s = scope.spans.add()
        s.trace_id = bytes.fromhex(trace_hex)
        s.span_id = (i + 1).to_bytes(8, "big")
        if i:
            s.parent_span_id = (1).to_bytes(8, "big")
        s.name = f"span-{i}"
        s.start_time_unix_nano = 1_700_000_000_000_000_000 + i * 1_000_000
        s.end_time_unix_nano = s.start_time_unix_nano + 5_000_000
        for key, value in {"langfuse.observation.type": "generation", **attributes}.items():
            kv = s.attributes.add()
            kv.key = key
            if isinstance(value, float):
                kv.value.double_value = value
            else:
                kv.value.string_value = value
    return request.SerializeToString()


async def stored(storage: Storage, project_id: str) -> dict[str, dict[str, Any]]:
    """Name → current observation (usage, costs, dropped-value notes)."""
    q = CompiledQuery(
        "SELECT name, usage_details, cost_details, total_cost, prompt_version, metadata_names, "
        "metadata_values FROM observations WHERE project_id = {project_id:String} AND sign = 1 "
        "ORDER BY row_version DESC LIMIT 1 BY id",
        {"project_id": project_id},
        "test.numbers",
    )
    out = {}
    for r in await storage.clickhouse.query(q):
        metadata = dict(zip(r.pop("metadata_names"), r.pop("metadata_values"), strict=True))  # type: ignore[call-overload]
        r["dropped"] = json.loads(metadata[DROPPED]) if DROPPED in metadata else {}
        out[str(r["name"])] = r
    return out


async def test_otlp_spans_with_unstorable_numbers_are_stored_with_notes(
    client, storage: Storage, project: ProjectFixture
) -> None:
    spans = [
        {USAGE: '{"input": 3, "output": 4}'},
        {USAGE: '{"input": 1e30, "output": 4}'},
        {USAGE: '{"input": Infinity}'},
        {USAGE: '{"input": 1180591620717411303424}'},  # 2^70
        {USAGE: '{"input": NaN, "output": 2}'},
        {USAGE: '{"input": -5}'},
        {COST: '{"total": 1e30, "input": 0.25}'},
        {"gen_ai.usage.input_tokens": float("inf"), "gen_ai.usage.output_tokens": 2.0},
        {
            USAGE: '{"input": 1}',
            "langfuse.observation.prompt.name": "p",
            "langfuse.observation.prompt.version": "1099511627776",
        },
        {USAGE: '{"input": 5}'},
    ]
    r = await client.post(URL, content=export("a1" * 16, spans), headers=PB, auth=project.auth)
    assert r.status_code == 200
    await jobs_done(storage, project.project_id, 1)
    rows = await stored(storage, project.project_id)
    assert len(rows) == len(spans)  # nothing lost: every span stored, the good ones untouched
    assert rows["span-0"]["usage_details"] == {"input": 3, "output": 4, "total": 7}
    assert rows["span-0"]["dropped"] == {} and rows["span-9"]["usage_details"]["input"] == 5
    assert rows["span-1"]["usage_details"] == {"output": 4, "total": 4}
    assert "usage_details.input" in rows["span-1"]["dropped"]
    for name in ("span-2", "span-3", "span-4", "span-5"):
        assert "input" not in rows[name]["usage_details"] and "usage_details.input" in rows[name]["dropped"]
    assert rows["span-6"]["cost_details"] == {"input": pytest.approx(0.25)}
    assert "cost_details.total" in rows["span-6"]["dropped"]
    assert rows["span-7"]["usage_details"] == {"output": 2, "total": 2}
    assert "attributes.gen_ai.usage.input_tokens" in rows["span-7"]["dropped"]
    assert rows["span-8"]["prompt_version"] is None and "prompt_version" in rows["span-8"]["dropped"]
    await assert_aggregates_match_raw(storage, project.project_id)


async def test_batch_events_with_unstorable_numbers_are_stored_or_refused_per_event(
    client, storage: Storage, project: ProjectFixture
) -> None:
    def gen(i: int, **body: Any) -> dict[str, Any]:
        return ev(f"e{i}", "generation-create", {"id": f"g{i}", "traceId": "t1", "name": f"g{i}", **body})

    batch = [
        gen(0, usageDetails={"input": 3, "output": 4}),
        gen(1, usageDetails={"input": 1e30, "output": 4}),
        gen(2, usage={"input": 1e30, "output": 2, "unit": "TOKENS"}),
        gen(3, costDetails={"total": 1e30, "input": 0.5}),
        gen(4, usageDetails={"input": -5, "output": 18446744073709551615}),
        gen(5, usageDetails={"input": "abc"}),  # no number at all: refused, with a message
        gen(6, promptName="p", promptVersion=2**40, usageDetails={"input": 1}),
    ]
    r = await client.post("/api/public/ingestion", json={"batch": batch}, auth=project.auth)
    assert r.status_code == 207
    assert [e["id"] for e in r.json()["errors"]] == ["e5"]
    assert "body.usageDetails.input must be a number" in r.json()["errors"][0]["message"]
    await jobs_done(storage, project.project_id, 1)
    rows = await stored(storage, project.project_id)
    assert sorted(rows) == ["g0", "g1", "g2", "g3", "g4", "g6"]
    assert (
        rows["g0"]["usage_details"] == {"input": 3, "output": 4, "total": 7} and rows["g0"]["dropped"] == {}
    )
    assert rows["g1"]["usage_details"] == {"output": 4, "total": 4}
    assert set(rows["g1"]["dropped"]) == {"usageDetails.input"}
    assert rows["g2"]["usage_details"] == {"output": 2, "total": 2} and "usage.input" in rows["g2"]["dropped"]
    assert (
        rows["g3"]["cost_details"] == {"input": pytest.approx(0.5)}
        and "costDetails.total" in rows["g3"]["dropped"]
    )
    assert rows["g4"]["usage_details"] == {} and set(rows["g4"]["dropped"]) == {
        "usageDetails.input",
        "usageDetails.output",
    }
    assert rows["g6"]["prompt_version"] is None and "prompt_version" in rows["g6"]["dropped"]
    await assert_aggregates_match_raw(storage, project.project_id)


def unstorable(line: bytes) -> bytes:
    """The line with a cost no Decimal64(12) column holds: ClickHouse refuses the row at insert."""
    row = json.loads(line)
    row["cost_details"] = {"total": "1000000"}
    return json.dumps(row).encode()


def bad_mapper(victim: str) -> Any:
    """map_otlp, letting one unstorable value through on the span named `victim` (as a mapper that does
    not check it would, or an object mapped by an older version)."""

    def mapped(batch: RawBatch, body: bytes, models: Any = (), *limits: Any) -> Mapped:
        out = map_otlp(batch, body, models, *limits)
        spans = [
            s._replace(line=unstorable(s.line)) if f'"name":"{victim}"'.encode() in s.line else s
            for s in out.spans
        ]
        return out._replace(spans=spans)

    return mapped


async def test_a_refused_row_is_isolated_and_the_rest_of_the_flush_written(
    storage: Storage, project: ProjectFixture
) -> None:
    writer = CoalescingWriter(storage, max_wait_s=0.05)
    try:
        good = RawBatch.create(project.project_id, PB["content-type"], None, None)
        bad = RawBatch.create(project.project_id, PB["content-type"], None, None)
        spans = [{USAGE: '{"input": 1}'}] * 6
        first = writer.write(project.project_id, map_otlp(good, export("b1" * 16, spans)))
        second = writer.write(project.project_id, bad_mapper("span-4")(bad, export("b2" * 16, spans)))
        ok, partly = await asyncio.gather(first, second)  # one flush holding both requests
    finally:
        await writer.close()
    assert (ok.written, ok.refused) == (6, ())
    assert partly.written == 5
    [refused] = partly.refused
    assert refused.row == f"observation {'b2' * 16}/{(5).to_bytes(8, 'big').hex()}"
    assert "Decimal value is too big" in refused.reason and "ARGUMENT_OUT_OF_BOUND" in refused.reason
    assert await count(storage, project.project_id) == 11
    await assert_aggregates_match_raw(storage, project.project_id)


async def _take_ours(storage: Storage, key: str) -> list[dict[str, Any]]:
    """Remove this key's dead letters, leaving the others (the list is shared by the session)."""
    ours = []
    for item in await storage.cache.pop_all(ingest.DEAD_LETTERS, 10_000):
        if key in item:
            ours.append(json.loads(item))
        else:
            await storage.cache.push(ingest.DEAD_LETTERS, item)
    return ours


async def test_refused_rows_are_dead_lettered_with_their_reason_and_replayed(
    storage: Storage,
    project: ProjectFixture,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    batch = RawBatch.create(project.project_id, PB["content-type"], None, None)
    await storage.blobs.put(batch.key, export("c1" * 16, [{USAGE: '{"input": 2}'}] * 5))
    ctx = {"storage": storage, "writer": CoalescingWriter(storage, max_wait_s=0.01), "mapper": OtlpMapper(0)}
    monkeypatch.setattr(pipeline, "map_otlp", bad_mapper("span-2"))
    try:
        result = await ingest.process_batch(ctx, batch.to_payload())  # no retry: it would fail the same way
    finally:
        monkeypatch.undo()
        await ctx["writer"].close()
    assert result["observations"] == 4 and result["refused"] == 1
    assert await count(storage, project.project_id) == 4

    await _ingest_status(storage, argparse.Namespace(limit=10_000))
    out = capsys.readouterr().out
    line = next(x for x in out.splitlines() if batch.key in x)
    assert "1 row(s) refused by ClickHouse: Decimal value is too big" in line
    assert f"observation {'c1' * 16}/{(3).to_bytes(8, 'big').hex()}: Decimal value is too big" in out

    [letter] = await _take_ours(storage, batch.key)  # as `ingest replay --dead-letters` takes them
    queue = await JobQueue.connect(storage.redis_url)
    try:
        assert await ingest.replay(storage, queue, [letter["key"]]) == 1
    finally:
        await queue.close()
    await wait_for(lambda: _count_is(storage, project.project_id, 5))
    await jobs_done(storage, project.project_id, 1)
    assert await _take_ours(storage, batch.key) == []  # the replay stored everything: no new dead letter
    assert (await stored(storage, project.project_id))["span-2"]["usage_details"] == {"input": 2, "total": 2}
    await assert_aggregates_match_raw(storage, project.project_id)


async def count(storage: Storage, project_id: str) -> int:
    q = CompiledQuery(
        "SELECT count() AS n FROM observations WHERE project_id = {project_id:String}",
        {"project_id": project_id},
        "test.count",
    )
    [row] = await storage.clickhouse.query(q)
    return int(str(row["n"]))


async def _count_is(storage: Storage, project_id: str, n: int) -> bool:
    return await count(storage, project_id) == n


async def test_a_flush_that_fails_after_its_trace_rows_keeps_them_when_retried(
    storage: Storage, project: ProjectFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Trace rows go in before the spans: a retry of a flush that failed between the two writes its
    spans and still has the trace's row (stored spans would make the retry skip it, as for a replay)."""
    from app.storage.clickhouse.queries import traces as trace_queries
    from app.tracing import writer as writer_module

    inserts: list[str] = []

    def second_insert_fails_once(name: str) -> Any:  # the flush's second table, its first time
        insert = getattr(writer_module, name)

        async def wrapped(ch: Any, lines: Any) -> None:
            inserts.append(name)
            if len(inserts) == 2:
                raise ConnectionError("store went away")
            await insert(ch, lines)

        return wrapped

    for name in ("insert_trace_lines", "insert_observation_lines"):
        monkeypatch.setattr(writer_module, name, second_insert_fails_once(name))
    spans = [{"langfuse.trace.name": "kept-name"}, {}, {}]
    writer = CoalescingWriter(storage, max_wait_s=0.01)
    try:
        batch = RawBatch.create(project.project_id, PB["content-type"], None, None)
        with pytest.raises(ConnectionError):
            await writer.write(project.project_id, map_otlp(batch, export("c3" * 16, spans)))
        retried = await writer.write(project.project_id, map_otlp(batch, export("c3" * 16, spans)))
    finally:
        await writer.close()
    assert retried.written == 3
    trace = await trace_queries.fetch_trace(storage.clickhouse, project.project_id, "c3" * 16)
    assert trace is not None and trace.name == "kept-name"
    assert (
        len(await trace_queries.fetch_trace_observations(storage.clickhouse, project.project_id, "c3" * 16))
        == 3
    )


async def test_a_trace_read_beside_a_flush_reads_its_spans_again(
    storage: Storage, project: ProjectFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The trace row is written before the spans: a read between the two finds the trace and no spans,
    and reads the spans once more (the CI run once showed a trace page with an empty tree)."""
    from app.storage.clickhouse.queries import traces as trace_queries
    from app.tracing import trace_service

    writer = CoalescingWriter(storage, max_wait_s=0.01)
    try:
        batch = RawBatch.create(project.project_id, PB["content-type"], None, None)
        await writer.write(project.project_id, map_otlp(batch, export("c4" * 16, [{}] * 2)))
    finally:
        await writer.close()
    read, calls = trace_queries.fetch_trace_observations, []

    async def first_read_too_early(ch: Any, project_id: str, trace_id: str) -> Any:
        calls.append(trace_id)
        return [] if len(calls) == 1 else await read(ch, project_id, trace_id)

    monkeypatch.setattr(trace_queries, "fetch_trace_observations", first_read_too_early)
    detail = await trace_service.trace_detail(storage, project.project_id, "c4" * 16)
    assert len(detail.observations) == 2 and len(calls) == 2
