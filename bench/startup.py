"""Cold start of `langhouse serve` (embedded, existing data dir) to healthy, and idle memory of its tree."""

from __future__ import annotations

import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.report import record

RUNS = 5


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(data_dir: Path, port: int) -> tuple[subprocess.Popen[bytes], float]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LANGHOUSE_")}
    env |= {
        "LANGHOUSE_DATA_DIR": str(data_dir),
        "LANGHOUSE_PORT": str(port),
        "LANGHOUSE_LOG_LEVEL": "warning",
    }
    began = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/public/health", timeout=1).status_code == 200:
                return proc, time.perf_counter() - began
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.perf_counter() - began > 120:
            raise SystemExit("server did not start")
        time.sleep(0.02)


def tree_memory(proc: subprocess.Popen[bytes], data_dir: Path) -> tuple[float, float]:
    """(PSS, RSS) in MiB summed over the server, its children and the detached Postgres postmaster with
    its workers. PSS splits shared pages (libraries, Postgres shared buffers) between the processes
    that share them, so its sum is the tree's real footprint; summed RSS counts shared pages repeatedly."""
    procs = {psutil.Process(proc.pid), *psutil.Process(proc.pid).children(recursive=True)}
    postmaster = psutil.Process(int((data_dir / "postgres" / "postmaster.pid").read_text().split()[0]))
    procs |= {postmaster, *postmaster.children(recursive=True)}
    infos = [p.memory_full_info() for p in procs]
    return sum(i.pss for i in infos) / 2**20, sum(i.rss for i in infos) / 2**20


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "data"
        proc, first = start(data_dir, free_port())  # first start creates the data directory
        proc.send_signal(signal.SIGTERM)
        proc.wait(60)
        times: list[float] = []
        memory: list[tuple[float, float]] = []
        for _ in range(RUNS):
            proc, took = start(data_dir, free_port())
            times.append(took)
            time.sleep(5)
            memory.append(tree_memory(proc, data_dir))
            proc.send_signal(signal.SIGTERM)
            proc.wait(60)
    record(
        "startup",
        "python bench/startup.py",
        [
            ("first start (empty data dir) to healthy", f"{first:.2f} s", "—"),
            (
                f"cold start, existing data dir, to healthy (median of {RUNS})",
                f"{statistics.median(times):.2f} s",
                "< 5 s",
            ),
            ("cold start, worst", f"{max(times):.2f} s", "< 5 s"),
            (
                "idle memory of the whole process tree, PSS (median)",
                f"{statistics.median(m[0] for m in memory):.0f} MiB",
                "< 400 MiB",
            ),
            (
                "same, summed RSS (counts shared pages repeatedly)",
                f"{statistics.median(m[1] for m in memory):.0f} MiB",
                "—",
            ),
        ],
    )


if __name__ == "__main__":
    main()
