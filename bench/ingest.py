"""Ingestion throughput and lag: the real OTel exporter (protobuf, 512-span batches) → embedded server,
beside a raw clickhouse-connect insert of the same rows (the ceiling). Figures go to BENCHMARKS.md.

    python bench/ingest.py [--spans 200000] [--lag-rate 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.report import record
from bench.startup import free_port

BATCH = 512
SENDERS = 4
SPANS_PER_TRACE = 5
PAYLOAD = "x" * 1000


def make_spans(n: int) -> list:  # type: ignore[type-arg]
    """Finished SDK spans (not yet exported): 5 per trace, ~1 KB input and output each."""
    from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult

    collected: list[ReadableSpan] = []

    class Collect(SpanExporter):
        def export(self, spans):  # type: ignore[no-untyped-def]
            collected.extend(spans)
            return SpanExportResult.SUCCESS

    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(Collect()))
    tracer = provider.get_tracer("langfuse-sdk", "5.0.4")
    for t in range(n // SPANS_PER_TRACE):
        with tracer.start_as_current_span(f"request-{t % 50}") as root:
            root.set_attribute("langfuse.observation.type", "span")
            root.set_attribute("langfuse.observation.input", PAYLOAD)
            root.set_attribute("langfuse.observation.output", PAYLOAD)
            root.set_attribute("user.id", f"user-{t % 500}")
            for i in range(SPANS_PER_TRACE - 1):
                with tracer.start_as_current_span(f"step-{i}") as span:
                    span.set_attribute("langfuse.observation.type", "generation")
                    span.set_attribute("langfuse.observation.model.name", "gpt-4o-mini")
                    span.set_attribute("langfuse.observation.usage_details", '{"input": 100, "output": 20}')
                    span.set_attribute("langfuse.observation.input", PAYLOAD)
                    span.set_attribute("langfuse.observation.output", PAYLOAD)
    return collected


def exporter(base_url: str, auth: str):  # type: ignore[no-untyped-def]
    from opentelemetry.exporter.otlp.proto.http import Compression
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    return OTLPSpanExporter(
        endpoint=f"{base_url}/api/public/otel/v1/traces",
        headers={"Authorization": f"Basic {auth}"},
        compression=Compression.Gzip,
        timeout=30,
    )


def start_server(data_dir: Path, port: int, env_extra: dict[str, str]) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LANGHOUSE_")}
    env |= {
        "LANGHOUSE_DATA_DIR": str(data_dir),
        "LANGHOUSE_PORT": str(port),
        "LANGHOUSE_LOG_LEVEL": "warning",
    }
    env |= env_extra
    proc = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(600):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/public/health", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.1)
    raise SystemExit("server did not start")


async def finished_jobs(redis_url: str) -> dict[str, float]:
    """Job key → finish time (epoch s) of every completed ingestion job."""
    from arq.connections import RedisSettings, create_pool

    from app.jobs.contracts import deserialize

    pool = await create_pool(RedisSettings.from_dsn(redis_url), job_deserializer=deserialize)
    try:
        results = await pool.all_job_results()
        return {
            r.job_id: r.finish_time.timestamp()
            for r in results
            if r.success and r.job_id.startswith("ingest/")
        }
    finally:
        await pool.aclose()


def pct(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100)[q - 1] if len(values) > 1 else values[0]


def raw_baseline(spans: list) -> float:  # type: ignore[type-arg]
    """Spans/s of mapping the same spans and inserting them straight into chDB with clickhouse-connect."""
    from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans

    from app.storage.clickhouse.client import ClickHouse
    from app.storage.clickhouse.migrate import load_migrations
    from app.storage.clickhouse.rows import OBSERVATION_COLUMNS, as_values
    from app.tracing.pipeline import RawBatch, map_otlp

    with tempfile.TemporaryDirectory() as tmp:
        ch = ClickHouse.open(None, Path(tmp), 60)
        client = ch._client
        for m in load_migrations(None):
            for statement in m.statements:
                client.command(statement)
        bodies = [encode_spans(spans[i : i + BATCH]).SerializeToString() for i in range(0, len(spans), BATCH)]
        began = time.perf_counter()
        for body in bodies:
            batch = RawBatch("bench", "k", "application/x-protobuf", None, "5.0.4")
            rows = [row for row, _ in map_otlp(batch, body)]
            client.insert("observations", [as_values(r) for r in rows], column_names=OBSERVATION_COLUMNS)
        took = time.perf_counter() - began
        client.close()
    return len(spans) / took


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--spans", type=int, default=200_000)
    parser.add_argument("--lag-rate", type=int, default=2000, help="spans/s for the lag measurement")
    args = parser.parse_args()
    import base64
    import re

    print(f"building {args.spans} spans…", flush=True)
    spans = make_spans(args.spans)
    batches = [spans[i : i + BATCH] for i in range(0, len(spans), BATCH)]
    with tempfile.TemporaryDirectory() as tmp:
        data_dir, port = Path(tmp) / "data", free_port()
        env = {
            "LANGHOUSE_INIT_ORG_NAME": "bench",
            "LANGHOUSE_INIT_PROJECT_NAME": "bench",
            "LANGHOUSE_INIT_PROJECT_PUBLIC_KEY": "pk-lh-bench",
            "LANGHOUSE_INIT_PROJECT_SECRET_KEY": "sk-lh-bench",
            "LANGHOUSE_INGEST_MAX_BACKLOG": "100000",
        }
        server = start_server(data_dir, port, env)
        base = f"http://127.0.0.1:{port}"
        auth = base64.b64encode(b"pk-lh-bench:sk-lh-bench").decode()
        from app.storage.embedded import redis_socket_path

        redis_url = f"unix://{redis_socket_path(data_dir)}"
        try:
            exp = exporter(base, auth)
            # Throughput: SENDERS exporters (think: app instances) send everything as fast as they can;
            # then wait until every job is done.
            print("throughput run…", flush=True)
            acks: list[float] = []

            def send(part: list) -> None:  # type: ignore[type-arg]
                own = exporter(base, auth)
                for batch in part:
                    t = time.perf_counter()
                    result = own.export(batch)
                    acks.append(time.perf_counter() - t)
                    assert result.name == "SUCCESS", result
                own.shutdown()

            from concurrent.futures import ThreadPoolExecutor

            began = time.perf_counter()
            with ThreadPoolExecutor(SENDERS) as pool:
                list(pool.map(send, [batches[i::SENDERS] for i in range(SENDERS)]))
            sent = time.perf_counter() - began
            while len(asyncio.run(finished_jobs(redis_url))) < len(batches):
                time.sleep(0.05)
            total = time.perf_counter() - began
            throughput = len(spans) / total
            # Lag at a moderate rate: ack time → job finished (rows queryable).
            print("lag run…", flush=True)
            lag_spans = make_spans(min(20_000, args.spans))
            lag_batches = [lag_spans[i : i + BATCH] for i in range(0, len(lag_spans), BATCH)]
            done_before = set(asyncio.run(finished_jobs(redis_url)))
            ack_at: list[float] = []
            interval = BATCH / args.lag_rate
            for batch in lag_batches:
                t = time.time()
                exp.export(batch)
                ack_at.append(time.time())
                time.sleep(max(0.0, interval - (time.time() - t)))
            while len(asyncio.run(finished_jobs(redis_url))) < len(done_before) + len(lag_batches):
                time.sleep(0.05)
            finished = sorted(
                f for k, f in asyncio.run(finished_jobs(redis_url)).items() if k not in done_before
            )
            lags = [max(0.0, f - a) for f, a in zip(finished, ack_at, strict=True)]
            exp.shutdown()
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(60)
    print("raw baseline…", flush=True)
    ceiling = raw_baseline(spans)
    record(
        "ingest",
        f"python bench/ingest.py --spans {args.spans} --lag-rate {args.lag_rate}",
        [
            (
                f"{len(spans)} spans, {SENDERS} OTel exporters (protobuf, gzip, {BATCH}/batch): first request → all rows written",
                f"{throughput:,.0f} spans/s ({total:.1f} s; sending took {sent:.1f} s)",
                "≥ 10,000 spans/s",
            ),
            (
                f"HTTP acknowledgement per {BATCH}-span batch, p50 / p99",
                f"{pct(acks, 50) * 1e3:.0f} / {pct(acks, 99) * 1e3:.0f} ms",
                "p99 < 100 ms",
            ),
            (
                f"lag acknowledgement → written at {args.lag_rate} spans/s, p50 / p95",
                f"{pct(lags, 50):.2f} / {pct(lags, 95):.2f} s",
                "p95 < 2 s",
            ),
            (
                "raw baseline: map + clickhouse-connect insert into chDB, same spans, one thread",
                f"{ceiling:,.0f} spans/s",
                "—",
            ),
            ("Langhouse / raw baseline", f"{throughput / ceiling:.2f}×", "≥ 0.3×"),
        ],
    )
    del re


if __name__ == "__main__":
    main()
