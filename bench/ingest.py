"""Ingestion throughput and lag: the real OTel exporter (protobuf, 512-span batches) → embedded server,
beside a raw clickhouse-connect insert of the same rows (the ceiling) and, when Phoenix is installed,
Phoenix fed the same spans by the same exporters. Figures go to BENCHMARKS.md.

    python bench/ingest.py [--spans 200000] [--lag-rate 2000] [--phoenix PATH] [--phoenix-spans 5000]

Phoenix is a peer, not a dependency (its pins clash with ours): install it into a venv of its own,
`python3 -m venv .venv-phoenix && .venv-phoenix/bin/pip install arize-phoenix`, which this script
finds by itself (or pass `--phoenix` the path of its `phoenix` command).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
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


def export_all(endpoint: str, headers: dict[str, str], batches: list) -> None:  # type: ignore[type-arg]
    """Send the batches with SENDERS real OTLP/HTTP exporters (protobuf, gzip), each in its own thread."""
    from concurrent.futures import ThreadPoolExecutor

    from opentelemetry.exporter.otlp.proto.http import Compression
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    def send(part: list) -> None:  # type: ignore[type-arg]
        own = OTLPSpanExporter(endpoint=endpoint, headers=headers, compression=Compression.Gzip, timeout=30)
        for batch in part:
            assert own.export(batch).name == "SUCCESS"
        own.shutdown()

    with ThreadPoolExecutor(SENDERS) as pool:
        list(pool.map(send, [batches[i::SENDERS] for i in range(SENDERS)]))


def find_phoenix(given: str | None) -> str | None:
    local = Path(__file__).resolve().parents[1] / ".venv-phoenix" / "bin" / "phoenix"
    return given or shutil.which("phoenix") or (str(local) if local.exists() else None)


def phoenix_rate(phoenix: str, batches: list, timeout_s: float = 1800) -> tuple[float, float]:  # type: ignore[type-arg]
    """Spans/s of a fresh Phoenix server (its defaults: SQLite in a temporary working dir) fed these
    batches by the same exporters, from the first request until its API counts every span."""
    n = sum(len(b) for b in batches)
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        env = os.environ | {
            "PHOENIX_WORKING_DIR": tmp,
            "PHOENIX_HOST": "127.0.0.1",
            "PHOENIX_PORT": str(port),
            "PHOENIX_GRPC_PORT": str(free_port()),
        }
        proc = subprocess.Popen(
            [phoenix, "serve"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        base = f"http://127.0.0.1:{port}"
        try:
            wait_healthy(f"{base}/healthz")
            began = time.perf_counter()
            export_all(f"{base}/v1/traces", {}, batches)
            count = "{ projects { edges { node { recordCount } } } }"
            while True:
                doc = httpx.post(f"{base}/graphql", json={"query": count}, timeout=30).json()
                if sum(e["node"]["recordCount"] for e in doc["data"]["projects"]["edges"]) >= n:
                    break
                if time.perf_counter() - began > timeout_s:
                    raise SystemExit(f"Phoenix did not store {n} spans in {timeout_s:.0f} s")
                time.sleep(0.5)
            took = time.perf_counter() - began
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(60)
    return n / took, took


def wait_healthy(url: str) -> None:
    for _ in range(600):
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"{url} did not answer")


def start_server(data_dir: Path, port: int, env_extra: dict[str, str]) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LANGHOUSE_")}
    env |= {
        "LANGHOUSE_DATA_DIR": str(data_dir),
        "LANGHOUSE_PORT": str(port),
        "LANGHOUSE_LOG_LEVEL": os.environ.get("LANGHOUSE_LOG_LEVEL", "warning"),
    }
    env |= env_extra
    # BENCH_SERVER_LOG=<file> keeps the server's log (its errors, and debug lines at LANGHOUSE_LOG_LEVEL)
    log = os.environ.get("BENCH_SERVER_LOG")
    with open(log or os.devnull, "w") as stderr:
        proc = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "serve"], env=env, stdout=subprocess.DEVNULL, stderr=stderr
        )
    wait_healthy(f"http://127.0.0.1:{port}/api/public/health")
    return proc


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


def raw_baseline(spans: list, runs: int = 3) -> float:  # type: ignore[type-arg]
    """The ceiling: spans/s of clickhouse-connect inserting the same, already mapped and encoded rows
    (observations, and the trace rows of their roots) into a fresh chDB (same schema and materialised
    views) in 8,192-observation blocks, with nothing else running; the median of `runs` runs (one run
    varies by ±15 % here)."""
    import clickhouse_connect
    from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans

    from app.storage.clickhouse.migrate import load_migrations
    from app.storage.clickhouse.write_rows import OBSERVATION_COLUMNS, TRACE_COLUMNS, as_json_line
    from app.tracing.pipeline import RawBatch, map_otlp

    lines, trace_lines = [], []
    for i in range(0, len(spans), BATCH):
        body = encode_spans(spans[i : i + BATCH]).SerializeToString()
        mapped = map_otlp(RawBatch.create("bench", "application/x-protobuf", None, "5.0.4"), body)
        lines += [m.line for m in mapped.spans]
        trace_lines += [as_json_line(t) for t in mapped.traces]
    # as the writer does: skip indexes (full-text) are left to merges
    settings = {"date_time_input_format": "best_effort", "materialize_skip_indexes_on_insert": 0}
    per_block = -(-len(trace_lines) * 8192 // len(lines))  # trace rows per block, rounded up
    rates = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as tmp:
            client = clickhouse_connect.get_client(dsn=f"chdb://{Path(tmp).resolve()}")
            for m in load_migrations(None):
                for statement in m.statements:
                    client.command(statement)
            began = time.perf_counter()
            for block, i in enumerate(range(0, len(lines), 8192)):
                traces = trace_lines[block * per_block : (block + 1) * per_block]
                for table, columns, rows in (
                    ("traces", TRACE_COLUMNS, traces),
                    ("observations", OBSERVATION_COLUMNS, lines[i : i + 8192]),
                ):
                    if rows:
                        block_bytes = b"\n".join(rows)
                        client.raw_insert(table, columns, block_bytes, settings, fmt="JSONEachRow")
            rates.append(len(lines) / (time.perf_counter() - began))
            client.close()
    return statistics.median(rates)


def encoded_bodies(batches: list) -> list[bytes]:  # type: ignore[type-arg]
    """What the OTel exporter puts on the wire for each batch: its own encoder, then gzip."""
    import gzip

    from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans

    return [gzip.compress(encode_spans(b).SerializeToString()) for b in batches]


def post_all(base: str, auth: str, bodies: list[bytes], senders: int) -> list[float]:
    """POST pre-encoded exporter payloads from `senders` concurrent keep-alive clients; return ack times."""
    from concurrent.futures import ThreadPoolExecutor

    headers = {
        "Authorization": f"Basic {auth}",
        "Content-Type": "application/x-protobuf",
        "Content-Encoding": "gzip",
    }
    acks: list[float] = []

    def send(part: list[bytes]) -> None:
        with httpx.Client(base_url=base, headers=headers, timeout=60) as client:
            for body in part:
                t = time.perf_counter()
                r = client.post("/api/public/otel/v1/traces", content=body)
                acks.append(time.perf_counter() - t)
                assert r.status_code == 200, r.text

    with ThreadPoolExecutor(senders) as pool:
        list(pool.map(send, [bodies[i::senders] for i in range(senders)]))
    return acks


def paced(
    base: str, auth: str, bodies: list[bytes], rate: float, redis_url: str, project_id: str = ""
) -> tuple[float, list[float], list[float]]:
    """POST the bodies one after another at `rate` spans/s (a steady production load, not a flood);
    the spans/s written (first request → last job finished), each acknowledgement's seconds, and each
    body's lag from its acknowledgement to its job's finish (jobs of `project_id`'s requests)."""

    def finished() -> dict[str, float]:
        return {
            k: f
            for k, f in asyncio.run(finished_jobs(redis_url)).items()
            if f"/{project_id}/" in k or not project_id
        }

    before = set(finished())
    ack_at, acks = [], []
    interval = BATCH / rate
    headers = {
        "Authorization": f"Basic {auth}",
        "Content-Type": "application/x-protobuf",
        "Content-Encoding": "gzip",
    }
    began = time.time()
    with httpx.Client(base_url=base, timeout=60, headers=headers) as client:
        for body in bodies:
            t = time.perf_counter()
            r = client.post("/api/public/otel/v1/traces", content=body)
            assert r.status_code == 200
            acks.append(time.perf_counter() - t)
            ack_at.append(time.time())
            time.sleep(max(0.0, interval - (time.perf_counter() - t)))
    while len(done := finished()) < len(before) + len(bodies):
        time.sleep(0.05)
    ends = sorted(f for k, f in done.items() if k not in before)
    lags = [max(0.0, f - a) for f, a in zip(ends, ack_at, strict=True)]
    return len(bodies) * BATCH / (ends[-1] - began), acks, lags


def wait_jobs(redis_url: str, n: int) -> dict[str, float]:
    while len(done := asyncio.run(finished_jobs(redis_url))) < n:
        time.sleep(0.05)
    return done


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--spans", type=int, default=200_000)
    parser.add_argument("--lag-rate", type=int, default=2000)
    parser.add_argument("--phoenix", help="Phoenix's `phoenix` command (else found)")
    parser.add_argument("--phoenix-spans", type=int, default=5000, help="spans sent to Phoenix (~120/s)")
    args = parser.parse_args()
    import base64

    from app.storage.embedded import redis_socket_path

    print(f"building {args.spans} spans…", flush=True)
    spans = make_spans(args.spans)
    batches = [spans[i : i + BATCH] for i in range(0, len(spans), BATCH)]
    bodies = encoded_bodies(batches)
    lag_bodies = encoded_bodies(
        [s[i : i + BATCH] for s in [make_spans(40_000)] for i in range(0, len(s), BATCH)]
    )
    env = {
        "LANGHOUSE_INIT_ORG_NAME": "bench",
        "LANGHOUSE_INIT_PROJECT_NAME": "bench",
        "LANGHOUSE_INIT_PROJECT_PUBLIC_KEY": "pk-lh-bench",
        "LANGHOUSE_INIT_PROJECT_SECRET_KEY": "sk-lh-bench",
        "LANGHOUSE_INGEST_MAX_BACKLOG": "100000",
        "LANGHOUSE_INGEST_MAPPER_PROCESSES": os.environ.get("LANGHOUSE_INGEST_MAPPER_PROCESSES", "1"),
    }
    auth = base64.b64encode(b"pk-lh-bench:sk-lh-bench").decode()
    results = {}
    for mode in ("exporter", "payload"):
        with tempfile.TemporaryDirectory() as tmp:
            data_dir, port = Path(tmp) / "data", free_port()
            server = start_server(data_dir, port, env)
            base, redis_url = f"http://127.0.0.1:{port}", f"unix://{redis_socket_path(data_dir)}"
            try:
                print(f"throughput run ({mode})…", flush=True)
                began = time.perf_counter()
                if mode == "exporter":  # the real exporters encode while they send, on this same machine
                    export_all(
                        f"{base}/api/public/otel/v1/traces", {"Authorization": f"Basic {auth}"}, batches
                    )
                else:  # the exporters' bytes, encoded before the clock started: the server's own capacity
                    post_all(base, auth, bodies, SENDERS)
                sent = time.perf_counter() - began
                wait_jobs(redis_url, len(batches))
                total = time.perf_counter() - began
                results[mode] = (len(spans) / total, total, sent)
                if mode == "payload":
                    print("lag run…", flush=True)
                    _, acks, lags = paced(base, auth, lag_bodies, args.lag_rate, redis_url)
            finally:
                server.send_signal(signal.SIGTERM)
                server.wait(60)
    print("raw baseline…", flush=True)
    ceiling = raw_baseline(spans)
    phoenix = find_phoenix(args.phoenix)
    peer = "not installed here"
    if phoenix:
        print(f"Phoenix ({phoenix}), {args.phoenix_spans} spans…", flush=True)
        few = spans[: args.phoenix_spans]
        rate, took = phoenix_rate(phoenix, [few[i : i + BATCH] for i in range(0, len(few), BATCH)])
        peer = f"{rate:,.0f} spans/s ({len(few):,} spans in {took:.1f} s)"
    exp_rate, exp_total, exp_sent = results["exporter"]
    pay_rate, pay_total, pay_sent = results["payload"]
    n = f"{len(spans):,} spans"
    record(
        "ingest",
        f"python bench/ingest.py --spans {args.spans} --lag-rate {args.lag_rate}",
        [
            (
                f"{n}, {SENDERS} real OTel exporters encoding as they send (on the same 2 cores): "
                "first request → all written",
                f"{exp_rate:,.0f} spans/s ({exp_total:.1f} s; sending {exp_sent:.1f} s)",
                "≥ 10,000 spans/s",
            ),
            (
                f"{n}, the exporters' payloads encoded beforehand, {SENDERS} concurrent senders: "
                "first request → all written",
                f"{pay_rate:,.0f} spans/s ({pay_total:.1f} s; sending {pay_sent:.1f} s)",
                "≥ 10,000 spans/s",
            ),
            (
                f"HTTP acknowledgement per {BATCH}-span batch at {args.lag_rate} spans/s, p50 / p99",
                f"{pct(acks, 50) * 1e3:.0f} / {pct(acks, 99) * 1e3:.0f} ms",
                "p99 < 100 ms",
            ),
            (
                f"lag acknowledgement → written at {args.lag_rate} spans/s, p50 / p95",
                f"{pct(lags, 50):.2f} / {pct(lags, 95):.2f} s",
                "p95 < 2 s",
            ),
            (
                "raw baseline (ceiling): clickhouse-connect insert of the same encoded rows (observations "
                "and trace rows) into chDB, 8,192 observations a block, median of 3 runs",
                f"{ceiling:,.0f} spans/s",
                "—",
            ),
            ("Langhouse (payload run) / raw baseline", f"{pay_rate / ceiling:.2f}x", "≥ 0.3x"),
            (
                f"peer: Phoenix (its defaults, SQLite), fed the first spans by the same {SENDERS} exporters: "
                "first request → all counted by its API",
                peer,
                "—",
            ),
        ],
    )


if __name__ == "__main__":
    main()
