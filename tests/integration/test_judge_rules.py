"""Rule matching at ingestion on the real flow: the langfuse 5.2.0 SDK's default export (calls flushed
before their root, trace attributes only on the root) through the real pipeline and writer, whose
after-write hook hands the written rows (new and corrected) to `match_written`."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from sqlmodel import select

from app.evaluation import matching, rules
from app.evaluation.judge_types import JUDGE_ENVIRONMENT
from app.evaluation.rules import RuleSpec
from app.storage import Storage
from app.storage.postgres import executions
from app.storage.postgres.eval_tables import EvaluationRule, Evaluator, EvaluatorVersion, JobExecution
from app.tracing.pipeline import OtlpMapper, RawBatch, process_batch
from app.tracing.writer import CoalescingWriter
from tests.conftest import LiveServer, ProjectFixture, jobs_done, sdk_client, wait_for

pytestmark = pytest.mark.integration


@dataclass
class Export:
    content_type: str
    encoding: str | None
    sdk_version: str | None
    body: bytes


@dataclass
class Recorder:
    """Captures what the SDK exports (a stand-in collector: the bodies then go through our pipeline)."""

    exports: list[Export] = field(default_factory=list)
    base_url: str = ""


@contextmanager
def recording_server() -> Iterator[Recorder]:
    rec = Recorder()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length") or 0))
            if self.path.endswith("/otel/v1/traces"):
                rec.exports.append(
                    Export(
                        self.headers.get("content-type", ""),
                        self.headers.get("content-encoding"),
                        self.headers.get("x-langfuse-sdk-version"),
                        body,
                    )
                )
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    rec.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield rec
    finally:
        server.shutdown()
        server.server_close()


def sdk_default_flow(rec: Recorder, project: ProjectFixture, environment: str | None = None) -> str:
    """A user's code without propagate_attributes: the calls end (and are flushed) first; the root, named
    "checkout", gets the user and session through the OpenTelemetry API and is exported last."""
    from langfuse import Langfuse
    from opentelemetry import trace

    lf = Langfuse(
        public_key=project.public_key,
        secret_key=project.secret_key,
        base_url=rec.base_url,
        environment=environment,
    )
    try:
        with lf.start_as_current_observation(as_type="span", name="checkout", input={"q": "hi"}) as root:
            with lf.start_as_current_observation(as_type="generation", name="llm-1", model="m") as gen:
                gen.update(output={"role": "assistant", "content": "hello"})
            with lf.start_as_current_observation(as_type="tool", name="search", input="q") as tool:
                tool.update(output=["r1"])
            lf.flush()  # the calls leave before their root
            span = trace.get_current_span()
            span.set_attribute("user.id", "user-1")
            span.set_attribute("session.id", "sess-1")
            root.update(output="done")
            trace_id = root.trace_id
        lf.flush()
    finally:
        lf.shutdown()
    return trace_id


async def make_evaluator(storage: Storage, project_id: str, name: str = "helpfulness") -> str:
    evaluator = Evaluator(project_id=project_id, name=name, type="llm_as_judge")
    version = EvaluatorVersion(
        project_id=project_id,
        evaluator_id=evaluator.id,
        version=1,
        prompt=[{"role": "user", "content": "Judge {{input}} → {{output}}"}],
        variables=["input", "output"],
        output_definition={"dataType": "NUMERIC", "minValue": 0, "maxValue": 1},
    )
    async with storage.postgres.session() as s:
        s.add(evaluator)
        await s.flush()
        s.add(version)
        await s.commit()
    return evaluator.id


class Ingest:
    """The real pipeline and writer, its after-write hook calling `match_written`."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage
        self.created: list[JobExecution] = []
        self.writer = CoalescingWriter(storage, max_wait_s=0.01, on_written=self._hook)
        self.mapper = OtlpMapper(0)

    async def _hook(self, project_id: str, lines: list[bytes]) -> None:
        self.created += await matching.match_written(self.storage, project_id, lines)

    async def run(self, project_id: str, exports: list[Export]) -> None:
        for e in exports:  # one request after the other, as the SDK sent them
            batch = RawBatch.create(project_id, e.content_type, e.encoding, e.sdk_version)
            await self.storage.blobs.put(batch.key, e.body)
            await process_batch(self.storage, batch, self.writer, self.mapper)

    async def close(self) -> None:
        await self.writer.close()
        self.mapper.close()


@pytest.fixture
async def ingest(storage: Storage) -> Any:
    it = Ingest(storage)
    yield it
    await it.close()


def spec(name: str, evaluator_id: str, filters: list[dict[str, Any]], **kw: Any) -> RuleSpec:
    return RuleSpec(
        name=name, enabled=True, evaluator_assignments=[{"evaluatorId": evaluator_id}], filter=filters, **kw
    )


TRACE_NAME = {"type": "stringOptions", "column": "traceName", "operator": "any of", "value": ["checkout"]}
USER = {"type": "string", "column": "userId", "operator": "=", "value": "user-1"}
GENERATIONS = {"type": "stringOptions", "column": "type", "operator": "any of", "value": ["GENERATION"]}


async def test_children_before_root_match_once_the_root_arrives_and_replays_add_nothing(
    storage: Storage, project: ProjectFixture, ingest: Ingest
) -> None:
    pid = project.project_id
    ev = await make_evaluator(storage, pid)
    obs_rule = await rules.create_rule(storage, pid, spec("gens", ev, [TRACE_NAME, USER, GENERATIONS]))
    trace_rule = await rules.create_rule(
        storage, pid, spec("whole", ev, [USER], target="trace", delay_seconds=30)
    )
    session_rule = await rules.create_rule(
        storage, pid, spec("chat", ev, [TRACE_NAME], target="session", session_idle_minutes=5)
    )
    await rules.create_rule(storage, pid, spec("other-user", ev, [{**USER, "value": "user-2"}]))
    with recording_server() as rec:
        trace_id = await asyncio.to_thread(sdk_default_flow, rec, project)
    assert len(rec.exports) >= 2, "the calls and the root left in separate requests"

    await ingest.run(pid, rec.exports[:-1])  # the calls alone: no trace name, no user yet
    assert ingest.created == []
    await ingest.run(pid, rec.exports[-1:])  # the root: it and the corrected calls match
    by_rule: dict[str | None, list[JobExecution]] = {}
    for e in ingest.created:
        by_rule.setdefault(e.rule_id, []).append(e)
    assert set(by_rule) == {obs_rule.id, trace_rule.id, session_rule.id}
    [gen] = by_rule[obs_rule.id]
    assert gen.target_kind == "observation" and gen.target_trace_id == trace_id
    assert gen.target_key == f"{trace_id}/{gen.target_observation_id}" and gen.status == "PENDING"
    assert 9 <= (gen.scheduled_for - gen.created_at).total_seconds() <= 11  # the default delay, 10 s
    [whole] = by_rule[trace_rule.id]
    assert (whole.target_kind, whole.target_key, whole.target_observation_id) == ("trace", trace_id, None)
    assert 29 <= (whole.scheduled_for - whole.created_at).total_seconds() <= 31
    [chat] = by_rule[session_rule.id]
    assert (chat.target_kind, chat.target_key, chat.target_session_id) == ("session", "sess-1", "sess-1")
    assert 299 <= (chat.scheduled_for - chat.created_at).total_seconds() <= 301
    stored = await executions.fetch_execution(storage.postgres, pid, gen.id)
    assert stored is not None and stored.evaluator_id == ev and stored.evaluator_version_id

    ingest.created.clear()
    matching._recent.clear()  # as after a restart: only the unique target key stops a second judgment
    await ingest.run(pid, rec.exports)  # a replay of every request
    assert ingest.created == []
    counts = await executions.counts_by_rule(storage.postgres, pid)
    assert counts == {
        obs_rule.id: {"PENDING": 1},
        trace_rule.id: {"PENDING": 1},
        session_rule.id: {"PENDING": 1},
    }


async def test_judge_environment_disabled_rules_and_paused_evaluators_match_nothing(
    storage: Storage, project: ProjectFixture, ingest: Ingest
) -> None:
    pid = project.project_id
    ev = await make_evaluator(storage, pid)
    await rules.create_rule(storage, pid, spec("all", ev, []))
    with recording_server() as rec:  # one collector: the SDK keeps one exporter per key
        await asyncio.to_thread(sdk_default_flow, rec, project, JUDGE_ENVIRONMENT)
        judged = len(rec.exports)
        await ingest.run(pid, rec.exports)
        assert ingest.created == []  # a judge's own trace is never judged

        paused = await make_evaluator(storage, pid, "paused")
        other = await make_evaluator(storage, pid, "other")
        async with storage.postgres.session() as s:
            e = await s.get(Evaluator, paused)
            assert e is not None
            e.status, e.pause_reason = "paused", "bad key"
            s.add(e)
            await s.commit()
        await rules.create_rule(storage, pid, spec("paused-only", paused, []))
        await rules.create_rule(
            storage, pid, RuleSpec(name="off", enabled=False, evaluator_assignments=[{"evaluatorId": other}])
        )
        await asyncio.to_thread(sdk_default_flow, rec, project)
        await ingest.run(pid, rec.exports[judged:])
    assert {e.evaluator_id for e in ingest.created} == {ev} and len(ingest.created) == 3  # rule "all" only


async def test_sampling_is_per_target_and_deterministic(
    storage: Storage, project: ProjectFixture, ingest: Ingest
) -> None:
    pid = project.project_id
    ev = await make_evaluator(storage, pid)
    await rules.create_rule(storage, pid, spec("half", ev, [], sampling=0.5, target="trace"))
    with recording_server() as rec:
        for _ in range(12):
            await asyncio.to_thread(sdk_default_flow, rec, project)
    await ingest.run(pid, rec.exports)
    picked = {e.target_key for e in ingest.created}
    traces = {e.target_trace_id for e in ingest.created}
    assert picked == traces and 0 < len(picked) < 12
    from app.evaluation.rule_filters import sampled

    assert all(sampled(k, 0.5) for k in picked)


async def test_through_the_server_and_worker_a_replay_judges_nothing_twice(
    live_server: LiveServer, storage: Storage, project: ProjectFixture
) -> None:
    """The SDK's requests posted to the server in the order it sent them, then all again: the worker's
    hook matches the calls once their root arrives, and the replay creates no second execution."""
    pid = project.project_id
    ev = await make_evaluator(storage, pid)
    obs_rule = await rules.create_rule(storage, pid, spec("gens", ev, [TRACE_NAME, USER, GENERATIONS]))
    trace_rule = await rules.create_rule(storage, pid, spec("whole", ev, [USER], target="trace"))
    with recording_server() as rec:
        trace_id = await asyncio.to_thread(sdk_default_flow, rec, project)
    async with httpx.AsyncClient(base_url=live_server.base_url, auth=project.auth) as http:
        for round_no in (1, 2):
            for e in rec.exports:
                headers = {"content-type": e.content_type}
                if e.encoding:
                    headers["content-encoding"] = e.encoding
                if e.sdk_version:
                    headers["x-langfuse-sdk-version"] = e.sdk_version
                r = await http.post("/api/public/otel/v1/traces", content=e.body, headers=headers)
                assert r.status_code == 200, r.text
            await jobs_done(storage, pid, round_no * len(rec.exports))
            counts = await wait_for(lambda: _counted(storage, pid, 2))
            assert sum(counts.get(obs_rule.id, {}).values()) == 1
            assert sum(counts.get(trace_rule.id, {}).values()) == 1
    [whole] = [e for e in await _executions(storage, pid) if e.rule_id == trace_rule.id]
    assert (whole.target_kind, whole.target_trace_id) == ("trace", trace_id)


async def _counted(storage: Storage, project_id: str, n: int) -> dict[str, dict[str, int]] | None:
    counts = await executions.counts_by_rule(storage.postgres, project_id)
    return counts if sum(sum(c.values()) for c in counts.values()) >= n else None


async def _executions(storage: Storage, project_id: str) -> list[JobExecution]:
    async with storage.postgres.session() as s:
        stmt = select(JobExecution).where(JobExecution.project_id == project_id)
        return list((await s.exec(stmt)).all())


def make_dataset(server: LiveServer, project: ProjectFixture) -> str:
    with sdk_client(server, project) as lf:
        ds = lf.create_dataset(name="judge-qa")
        for n in (1, 2):
            lf.create_dataset_item(
                dataset_name="judge-qa", id=f"q{n}", input=f"q{n}", expected_output=f"A{n}"
            )
        return str(ds.id)


def run_experiment(server: LiveServer, project: ProjectFixture) -> None:
    """The SDK's `run_experiment` over the dataset; its task calls a model."""
    with sdk_client(server, project) as lf:
        dataset = lf.get_dataset("judge-qa")

        def task(*, item: Any, **_: Any) -> str:
            with lf.start_as_current_observation(as_type="generation", name="answer", model="m") as gen:
                gen.update(output=str(item.expected_output))
            return str(item.expected_output)

        dataset.run_experiment(name="qa", run_name="run-1", task=task)


async def test_experiment_item_roots_of_a_dataset_are_matched_with_their_item(
    live_server: LiveServer, storage: Storage, project: ProjectFixture
) -> None:
    pid = project.project_id
    ev = await make_evaluator(storage, pid)
    dataset_id = await asyncio.to_thread(make_dataset, live_server, project)
    roots = {"type": "boolean", "column": "isExperimentItemRootSpan", "operator": "=", "value": True}
    of = {"type": "stringOptions", "column": "datasetId", "operator": "any of", "value": [dataset_id]}
    rule = await rules.create_rule(storage, pid, spec("items", ev, [roots, of]))
    await rules.create_rule(storage, pid, spec("other", ev, [roots, {**of, "value": ["another-dataset"]}]))
    await asyncio.to_thread(run_experiment, live_server, project)
    found = await wait_for(lambda: _items_judged(storage, pid, 2))
    assert len(found) == 2 and {e.target_dataset_item_id for e in found} == {"q1", "q2"}
    assert all(e.target_kind == "observation" and e.rule_id == rule.id for e in found)


async def _items_judged(storage: Storage, project_id: str, n: int) -> list[JobExecution] | None:
    found = await _executions(storage, project_id)
    return found if len(found) >= n else None


async def test_rules_are_cached_per_project_until_a_change_or_the_ttl(
    storage: Storage, project: ProjectFixture
) -> None:
    """A project without rules costs one Postgres read per TTL, not one per flush; a rule changed through
    the domain is seen at once, one written elsewhere (another process) within the TTL."""
    pid = project.project_id
    ev = await make_evaluator(storage, pid)
    assert await matching.enabled_rules(storage, pid) == ()
    async with storage.postgres.session() as s:  # as another process would write it
        s.add(EvaluationRule(project_id=pid, name="elsewhere", evaluator_assignments=[{"evaluatorId": ev}]))
        await s.commit()
    assert await matching.enabled_rules(storage, pid) == ()  # still the cached answer
    matching._cache[pid] = (0.0, ())  # as when its TTL has passed
    assert len(await matching.enabled_rules(storage, pid)) == 1
    await rules.create_rule(storage, pid, spec("here", ev, []))
    assert len(await matching.enabled_rules(storage, pid)) == 2  # the domain's change drops the cache


async def test_an_evaluator_deleted_by_another_process_leaves_the_other_judgments(
    storage: Storage, project: ProjectFixture, ingest: Ingest
) -> None:
    """Matching caches rules: an evaluator deleted meanwhile (no cache drop in this process) makes its
    executions fail their foreign key, and only those are left out."""
    pid = project.project_id
    kept, gone = await make_evaluator(storage, pid, "kept"), await make_evaluator(storage, pid, "gone")
    await rules.create_rule(
        storage,
        pid,
        RuleSpec(
            name="both",
            enabled=True,
            evaluator_assignments=[{"evaluatorId": kept}, {"evaluatorId": gone}],
            filter=[GENERATIONS],
        ),
    )
    assert len(await matching.enabled_rules(storage, pid)) == 1  # cached with both evaluators
    async with storage.postgres.session() as s:  # as another process would delete it
        await s.delete(await s.get(Evaluator, gone))
        await s.commit()
    with recording_server() as rec:
        await asyncio.to_thread(sdk_default_flow, rec, project)
        await ingest.run(pid, rec.exports)
    assert [e.evaluator_id for e in ingest.created] == [kept]
    async with storage.postgres.session() as s:
        stored = (await s.exec(select(JobExecution).where(JobExecution.project_id == pid))).all()
    assert [e.evaluator_id for e in stored] == [kept]
