"""`langhouse datasets import|export` on an embedded data directory: mapping, progress on stderr, bad
rows by line, the exit code when every row fails, and the export round trip."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from tests.integration.test_cli import cli

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_datasets_import_and_export_from_the_command_line(tmp_path: Path) -> None:
    data = tmp_path / "data"
    r = cli(data, "migrate")
    assert r.returncode == 0, r.stderr
    assert cli(data, "project", "create", "--org", "Acme", "--name", "evals").returncode == 0

    source = tmp_path / "qa.csv"
    source.write_text(
        "question,answer,topic,level\n"
        'What is 2+2?,4,math,"{""grade"": 1}"\n'
        ",5,empty,\n" + "".join(f"q{i},a{i},t{i},{i}\n" for i in range(250)),
        encoding="utf-8",
    )
    mapping = "input=question,expected_output=answer,metadata=topic+level"
    r = cli(data, "datasets", "import", str(source), "--name", "qa", "--mapping", mapping)
    assert r.returncode == 0, r.stderr
    assert "imported 251 items into qa (1 bad rows)" in r.stdout
    assert "line 3: input is empty (column question)" in r.stderr
    assert "100%" in r.stderr and "[" + "#" * 30 + "]" in r.stderr  # the progress bar

    out = tmp_path / "qa-export.csv"
    r = cli(data, "datasets", "export", "--name", "qa", "--project", "evals", "--out", str(out))
    assert r.returncode == 0, r.stderr
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert len(rows) == 251
    first = next(row for row in rows if row["input"] == "What is 2+2?")
    assert first["expected_output"] == "4" and json.loads(first["metadata"]) == {
        "topic": "math",
        "level": {"grade": 1},
    }

    r = cli(data, "datasets", "export", "--name", "qa", "--format", "jsonl")
    assert r.returncode == 0, r.stderr
    lines = [json.loads(line) for line in r.stdout.splitlines()]
    assert len(lines) == 251 and {"q0", "What is 2+2?"} <= {line["input"] for line in lines}

    # Every row bad: reported by line, and the command fails.
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"input": ""}\nnot json\n[1]\n', encoding="utf-8")
    r = cli(data, "datasets", "import", str(broken), "--name", "qa")
    assert r.returncode == 1
    assert "line 1: input is empty" in r.stderr and "line 2: not JSON" in r.stderr
    assert "line 3: not a JSON object" in r.stderr and "every row failed" in r.stderr
    r = cli(data, "datasets", "import", str(source), "--name", "qa", "--mapping", "input=nope")
    assert r.returncode == 1 and "no column 'nope'" in r.stderr
    r = cli(data, "datasets", "export", "--name", "missing")
    assert r.returncode == 1 and "no dataset named 'missing'" in r.stderr
