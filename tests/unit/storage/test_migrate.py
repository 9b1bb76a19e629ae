"""ClickHouse migration files: rendering for a single server and for a cluster."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.errors import InternalError
from app.storage.clickhouse.migrate import load_migrations, render


def test_single_server_rendering_has_no_placeholders() -> None:
    [first, *_] = load_migrations(None)
    assert first.version == 1 and first.name == "init"
    text = "\n".join(first.statements)
    assert "${" not in text and "ON CLUSTER" not in text and "Replicated" not in text
    assert {s.split()[5] for s in first.statements} == {"observations", "traces", "scores"}


def test_cluster_rendering_uses_on_cluster_and_replicated_engines() -> None:
    for migration in load_migrations("prod"):
        for statement in migration.statements:
            # An INSERT has no ON CLUSTER: written on one replica, it reaches the others by replication.
            assert "ON CLUSTER prod" in statement or statement.startswith("INSERT INTO")
            if "ENGINE" in statement:
                assert "ENGINE = Replicated" in statement
    [first, *_] = load_migrations("prod")
    assert "ENGINE = ReplicatedVersionedCollapsingMergeTree(sign, row_version)" in first.statements[0]


def test_sort_keys_start_with_project_and_time() -> None:
    [first, *_] = load_migrations(None)
    for statement in first.statements:
        order_by = statement.split("ORDER BY", 1)[1].strip()
        assert order_by.startswith("(project_id, toStartOfMinute(")


def test_render_is_pure() -> None:
    assert render("CREATE TABLE t ${ON_CLUSTER} ENGINE = ${REPLICATED}MergeTree", "c") == (
        "CREATE TABLE t ON CLUSTER c ENGINE = ReplicatedMergeTree"
    )


def test_bad_file_names_and_duplicate_versions_are_refused(tmp_path: Path) -> None:
    (tmp_path / "0001_a.sql").write_text("SELECT 1;")
    (tmp_path / "0001_b.sql").write_text("SELECT 2;")
    with pytest.raises(InternalError, match="share a version"):
        load_migrations(None, tmp_path)
    (tmp_path / "0001_b.sql").unlink()
    (tmp_path / "2_bad.sql").write_text("SELECT 2;")
    with pytest.raises(InternalError, match="unexpected file"):
        load_migrations(None, tmp_path)
