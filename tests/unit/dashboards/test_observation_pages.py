"""The observations page's query string → list request (wrong values kept as messages per field, hostile
text only ever a parameter), its cost format, and CSV cells that a spreadsheet will not run."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import pytest
from litestar import Request

from app.dashboards.export import csv_cell
from app.dashboards.observation_pages import Listing, listing
from app.errors import InvalidInput
from app.storage.clickhouse.queries import observations as oq
from app.storage.clickhouse.queries.common import NumberRange


def _listing(**params: Any) -> Listing:
    scope: Any = {
        "type": "http",
        "method": "GET",
        "path": "/observations",
        "headers": [],
        "query_string": urlencode(params, doseq=True).encode(),
    }
    return listing(Request(scope=scope), "project-1", 50)


def test_filters_become_the_list_request() -> None:
    found = _listing(
        type="GENERATION",
        model="gpt-4o-mini",
        level="ERROR",
        latency_min="1.5",
        latency_max="2",
        cost_max="0.01",
        prompt="support/triage",
        prompt_version="3",
        user="u",
        session="s",
        name="llm",
        sort="LATENCY",
        order="asc",
    )
    assert found.errors == {} and found.request is not None
    req = found.request
    assert req.project_id == "project-1" and req.first == 50
    assert req.sort is oq.ObservationSort.LATENCY and not req.descending
    f = req.filter
    assert (f.types, f.models, f.levels, f.names) == (("GENERATION",), ("gpt-4o-mini",), ("ERROR",), ("llm",))
    assert (f.user_ids, f.session_ids, f.prompt_names, f.prompt_versions) == (
        ("u",),
        ("s",),
        ("support/triage",),
        (3,),
    )
    assert f.latency_ms == NumberRange(1500, 2000)  # asked in seconds
    assert f.total_cost == NumberRange(None, 0.01)
    default = _listing().request
    assert default is not None and default.filter == oq.ObservationFilter()
    assert default.sort is oq.ObservationSort.START_TIME and default.descending and default.after is None


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"latency_min": "abc"}, "latency_min"),
        ({"latency_max": "-1"}, "latency_max"),
        ({"cost_min": "nan"}, "cost_min"),
        ({"cost_min": "0.5", "cost_max": "0.1"}, "cost_max"),
        ({"prompt_version": "two"}, "prompt_version"),
        ({"prompt_version": "0"}, "prompt_version"),
        ({"from": "yesterday"}, "from"),
        ({"from": "2026-02-01T00:00", "to": "2026-01-01T00:00"}, "from"),
    ],
)
def test_a_wrong_value_is_a_message_for_its_field_not_an_error(params: dict[str, str], field: str) -> None:
    found = _listing(name="llm", **params)
    assert found.request is None
    assert list(found.errors) == [field] and found.errors[field]


def test_an_unknown_sort_is_refused() -> None:
    with pytest.raises(InvalidInput, match="sort must be one of"):
        _listing(sort="NAME")


def test_hostile_text_only_ever_travels_as_a_parameter() -> None:
    hostile = "x' OR 1=1 --{p1:String}"
    params = {k: hostile for k in ("type", "name", "model", "level", "user", "session", "prompt")}
    req = _listing(**params).request
    assert req is not None
    compiled = oq.compile_observation_list(req)
    assert hostile not in compiled.sql and "OR 1=1" not in compiled.sql
    assert sum(v == [hostile] for v in compiled.parameters.values()) == len(params)
    assert (
        compiled.parameters["project_id"] == "project-1"
        and "project_id = {project_id:String}" in compiled.sql
    )


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+1", "'+1"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("plain = text", "plain = text"),
        (["prod", "=x"], "prod,=x"),
        (["=x", "prod"], "'=x,prod"),
        (-1.5, -1.5),
        (None, None),
    ],
)
def test_csv_cells_never_start_a_formula(value: Any, cell: Any) -> None:
    assert csv_cell(value) == cell
