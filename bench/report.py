"""Write a benchmark's figures into its own section of BENCHMARKS.md (figure, command, date, machine)."""

from __future__ import annotations

import os
import platform
import re
from datetime import UTC, datetime
from pathlib import Path

import psutil

FILE = Path(__file__).resolve().parents[1] / "BENCHMARKS.md"


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    mem = psutil.virtual_memory().total / 2**30
    system = f"{platform.system()} {platform.release()}"
    return f"{os.cpu_count()} cores {cpu}, {mem:.0f} GiB, {system}, Python {platform.python_version()}"


def record(section: str, command: str, rows: list[tuple[str, str, str]]) -> None:
    """Replace `section` in BENCHMARKS.md with a table of (figure, value, target) rows."""
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    body = [
        f"<!-- {section}:start -->",
        f"### {section}",
        f"`{command}` · {stamp} · {machine()}",
        "",
        "| figure | value | target |",
        "|---|---|---|",
        *(f"| {a} | {b} | {c} |" for a, b, c in rows),
        f"<!-- {section}:end -->",
    ]
    text = (
        FILE.read_text() if FILE.exists() else "# Benchmarks\n\nFigures written by the scripts in bench/.\n"
    )
    pattern = re.compile(rf"<!-- {re.escape(section)}:start -->.*?<!-- {re.escape(section)}:end -->", re.S)
    block = "\n".join(body)
    text = (
        pattern.sub(lambda _: block, text) if pattern.search(text) else text.rstrip() + "\n\n" + block + "\n"
    )
    FILE.write_text(text)
    print(block)
