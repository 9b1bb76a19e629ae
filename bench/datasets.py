"""Reading a large dataset with the SDK: `langfuse.get_dataset(name)` end to end (GET the dataset, then
page `GET /api/public/dataset-items?datasetName&page&limit` 50 at a time) against a real server process
on a seeded data dir (target: 10,000 items in < 3 s). Also times an as-of-version read of the same dataset.

    python bench/datasets.py [--items 10000] [--runs 3]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from app.auth import accounts as domain
from app.auth.keys import issue_api_key
from app.evaluation import datasets
from app.evaluation.datasets import DatasetSpec, ItemSpec
from app.settings import Settings
from app.storage import open_storage
from bench.ingest import start_server
from bench.report import record
from bench.startup import free_port

NAME = "bench/qa"
BATCH = 2_000


async def prepare(data_dir: Path, items: int) -> tuple[str, str, float]:
    """Seed the dataset through the domain's bulk add; the API key and the seeding time (s)."""
    async with open_storage(Settings(data_dir=data_dir, secret_key="bench")) as storage:
        await storage.migrate()
        org = await domain.ensure_organization(storage, "bench")
        project = await domain.ensure_project(storage, org, "bench")
        issued = await issue_api_key(storage, project.id, "bench")
        schema = {"type": "object", "properties": {"question": {"type": "string"}}}
        await datasets.upsert_dataset(storage, project.id, DatasetSpec(name=NAME, input_schema=schema))
        t0 = time.perf_counter()
        for start in range(0, items, BATCH):
            specs = [
                ItemSpec(
                    dataset_name=NAME,
                    id=f"item-{n:06d}",
                    input={"question": f"What is the capital of country {n}?", "context": "x" * 200},
                    expected_output={"answer": f"city {n}"},
                    metadata={"split": "test" if n % 5 == 0 else "train", "n": n},
                )
                for n in range(start, min(items, start + BATCH))
            ]
            await datasets.add_items(storage, project.id, NAME, specs)
        return issued.key.public_key, issued.secret_key, time.perf_counter() - t0


def read(base_url: str, public: str, secret: str, items: int, version: datetime | None) -> float:
    """Seconds `get_dataset` takes; checks every item arrived once."""
    from langfuse import Langfuse

    lf = Langfuse(public_key=public, secret_key=secret, base_url=base_url, tracing_enabled=False)
    try:
        t = time.perf_counter()
        dataset = lf.get_dataset(NAME, version=version)
        took = time.perf_counter() - t
    finally:
        lf.shutdown()
    assert len({i.id for i in dataset.items}) == len(dataset.items) == items, len(dataset.items)
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "data"
        public, secret, seeded = asyncio.run(prepare(data_dir, args.items))
        port = free_port()
        server = start_server(data_dir, port, {})
        try:
            url = f"http://127.0.0.1:{port}"
            current = [read(url, public, secret, args.items, None) for _ in range(args.runs)]
            as_of = [read(url, public, secret, args.items, datetime.now(UTC)) for _ in range(args.runs)]
            load = os.getloadavg()[0]
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(60)
    pages = -(-args.items // 50)
    record(
        "datasets",
        f"python bench/datasets.py --items {args.items} --runs {args.runs}",
        [
            (
                f"dataset items seeded (bulk add, {BATCH:,} a transaction)",
                f"{args.items:,} in {seeded:.1f} s",
                "—",
            ),
            (
                f"`get_dataset(name)` through the SDK, {pages} pages of 50: median (min) of {args.runs}",
                f"{statistics.median(current):.2f} s ({min(current):.2f} s)",
                "< 3 s",
            ),
            (
                "`get_dataset(name, version=now)` (as-of read): median (min)",
                f"{statistics.median(as_of):.2f} s ({min(as_of):.2f} s)",
                "—",
            ),
            (
                "load average (1 min) at the end: other work on the machine inflates the figures",
                f"{load:.1f}",
                "—",
            ),
        ],
    )


if __name__ == "__main__":
    main()
