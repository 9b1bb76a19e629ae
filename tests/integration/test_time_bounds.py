"""Every time a caller passes in is checked against one documented range; outside it, a 400 names it."""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest

from app.storage.postgres.tables import Role
from tests.conftest import ProjectFixture, login, make_user

pytestmark = pytest.mark.integration

# Before year 1000 (no four-digit year), the last representable day, the first day of the calendar.
BAD_TIMES = ("0999-12-31T00:00:00Z", "9999-12-31T23:59:59Z", "0001-01-01T00:00:00")

REST = [
    ("/api/public/traces", "fromTimestamp"),
    ("/api/public/traces", "toTimestamp"),
    ("/api/public/observations", "fromStartTime"),
    ("/api/public/v2/observations", "toStartTime"),
    ("/api/public/sessions", "fromTimestamp"),
    ("/api/public/v2/scores", "toTimestamp"),
    ("/api/public/v3/scores", "fromTimestamp"),
    ("/api/public/metrics/daily", "fromTimestamp"),
    ("/api/public/metrics/daily", "toTimestamp"),
    ("/api/public/v2/prompts", "fromUpdatedAt"),
    ("/api/public/v2/prompts", "toUpdatedAt"),
]


def _metrics_query(field: str, value: str) -> str:
    query = {"view": "traces", "metrics": [{"measure": "count", "aggregation": "count"}], field: value}
    return "/api/public/v2/metrics?query=" + quote(json.dumps(query))


@pytest.mark.parametrize("value", BAD_TIMES)
async def test_rest_time_parameters_out_of_range_are_400_naming_the_parameter(
    client, project: ProjectFixture, value: str
) -> None:
    client.cookies.clear()
    urls = [(f"{path}?{param}={quote(value)}", param) for path, param in REST]
    urls += [(_metrics_query(f, value), f) for f in ("fromTimestamp", "toTimestamp")]
    for url, param in urls:
        r = await client.get(url, auth=project.auth)
        assert r.status_code == 400, (url, r.status_code, r.text)
        assert param in r.json()["message"] and "1970-01-01" in r.json()["message"], (url, r.text)
    # The edges of the range itself are accepted.
    ok = "/api/public/traces?fromTimestamp=1970-01-01T00:00:00Z&toTimestamp=2299-12-31T23:59:59Z"
    assert (await client.get(ok, auth=project.auth)).status_code == 200


GRAPHQL = [
    ("{ traces(timeRange: {from: $t}) { edges { node { id } } } }", "timeRange.from"),
    ("{ traces(timeRange: {to: $t}) { edges { node { id } } } }", "timeRange.to"),
    ("{ observations(filter: {timeRange: {from: $t}}) { edges { node { id } } } }", "filter.timeRange.from"),
    ("{ scores(filter: {timeRange: {to: $t}}) { edges { node { id } } } }", "filter.timeRange.to"),
    ("{ sessions(filter: {timeRange: {from: $t}}) { edges { node { id } } } }", "filter.timeRange.from"),
    ("{ users(filter: {timeRange: {from: $t}}) { edges { node { id } } } }", "filter.timeRange.from"),
    ('{ session(id: "s", timeRange: {from: $t}) { id } }', "timeRange.from"),
    (
        "{ metrics(query: {view: TRACES, metrics: [{measure: COUNT, aggregation: COUNT}], "
        "timeRange: {from: $t}}) { rows } }",
        "query.timeRange.from",
    ),
]


@pytest.mark.parametrize("value", BAD_TIMES)
async def test_graphql_time_ranges_out_of_range_are_user_errors_naming_the_argument(
    client, project: ProjectFixture, value: str
) -> None:
    client.cookies.clear()
    for query, argument in GRAPHQL:
        body = {"query": "query($t: DateTime) " + query, "variables": {"t": value}}
        r = await client.post("/api/graphql", json=body, auth=project.auth)
        assert r.status_code == 200, r.text
        errors = r.json().get("errors")
        assert errors and argument in errors[0]["message"], (query, r.text)
        assert "internal error" not in errors[0]["message"]


UI = ["/", "/traces", "/traces/export", "/sessions", "/users", "/scores/list"]


@pytest.mark.parametrize("value", BAD_TIMES)
async def test_ui_from_and_to_out_of_range_are_400_naming_the_parameter(
    client, storage, project: ProjectFixture, value: str
) -> None:
    email, password = await make_user(storage, project, Role.VIEWER)
    await login(client, email, password)
    try:
        for path in UI:
            for param in ("from", "to"):
                r = await client.get(f"{path}?{param}={quote(value)}")
                assert r.status_code == 400, (path, param, r.status_code)
                assert f"{param} must lie between 1970-01-01 and 2299-12-31" in r.text, (path, r.text[:500])
    finally:
        client.cookies.clear()
