"""The stored-observation scan of scheduled evaluations: hostile project, trace and observation ids in the
cursor travel only as bound parameters; the project predicate, live rows, sort-key order and the page cap
are always there."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.storage.clickhouse.queries.eval_targets import MAX_SCAN_PAGE, ScanCursor, compile_observation_scan
from tests.unit.storage.test_query_injection import HOSTILE, check

T1 = datetime(2026, 11, 20, tzinfo=UTC)
T2 = T1 + timedelta(days=1)


@pytest.mark.parametrize("evil", HOSTILE)
def test_hostile_values_are_only_parameters(evil: str) -> None:
    check(lambda v: compile_observation_scan("p", T1, T2, ScanCursor(T1, v, "o"), 10), evil)
    check(lambda v: compile_observation_scan("p", T1, T2, ScanCursor(T1, "t", v), 10), evil)
    check(lambda v: compile_observation_scan(v, T1, T2, None, 10), evil)


def test_the_scan_is_project_scoped_live_ordered_and_capped() -> None:
    q = compile_observation_scan("proj", T1, T2, None, 10**9)
    assert q.parameters["project_id"] == "proj" and "project_id = {project_id:String}" in q.sql
    assert "sign = 1" in q.sql and "start_time >= {p1:DateTime64(6)}" in q.sql
    assert q.sql.endswith(
        "ORDER BY toStartOfMinute(start_time), trace_id, id, row_version DESC LIMIT {p3:UInt32}"
    )
    assert q.parameters["p3"] == MAX_SCAN_PAGE
    after = compile_observation_scan("proj", T1, T2, ScanCursor(T1, "t", "o"), 5)
    assert (
        "(toStartOfMinute(start_time), trace_id, id) > ({p3:DateTime}, {p4:String}, {p5:String})" in after.sql
    )
    assert (after.parameters["p4"], after.parameters["p5"], after.parameters["p6"]) == ("t", "o", 5)
