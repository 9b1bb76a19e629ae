"""Compiled queries fail closed without their tenant predicate."""

from __future__ import annotations

import pytest

from app.errors import InternalError
from app.storage.clickhouse.query import CompiledQuery, dangerous_raw_sql

GOOD = (
    "SELECT id FROM traces WHERE project_id = {project_id:String} "
    "AND timestamp >= {from:DateTime64(6)} LIMIT 10"
)


def test_a_scoped_query_compiles() -> None:
    q = CompiledQuery(sql=GOOD, parameters={"project_id": "p1", "from": "2026-01-01"}, tag="traces.list")
    assert q.parameters["project_id"] == "p1"


@pytest.mark.parametrize(
    ("sql", "params", "needle"),
    [
        (GOOD, {}, "no project_id parameter"),
        (GOOD, {"project_id": ""}, "no project_id parameter"),
        ("SELECT id FROM traces LIMIT 10", {"project_id": "p1"}, "no project_id predicate"),
        ("SELECT id FROM traces WHERE project_id = 'p1'", {"project_id": "p1"}, "no project_id predicate"),
    ],
)
def test_unscoped_queries_are_refused(sql: str, params: dict[str, object], needle: str) -> None:
    with pytest.raises(InternalError, match=needle):
        CompiledQuery(sql=sql, parameters=params, tag="traces.list")


def test_tags_are_plain_names() -> None:
    with pytest.raises(InternalError, match="bad query tag"):
        CompiledQuery(sql=GOOD, parameters={"project_id": "p"}, tag="Drop Table")


def test_raw_sql_is_tenant_free_and_parameterless() -> None:
    q = dangerous_raw_sql("SELECT 1", "health.ping")
    assert q.tenant_free and q.parameters == {}
