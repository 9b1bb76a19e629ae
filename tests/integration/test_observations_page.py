"""The observations page over data sent through the real pipeline: filters, sorts, columns, pages, inline
messages for wrong values, one project's rows only, and the CSV/JSON export (formula-safe CSV)."""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from app.dashboards.observation_pages import EXPORT_COLUMNS
from app.storage import Storage
from app.storage.clickhouse.write_rows import ObservationRow
from app.storage.clickhouse.writes import insert_observations
from app.storage.postgres.tables import Role
from tests.conftest import ProjectFixture, jobs_done, login, make_project, make_user
from tests.integration.reads_data import seed

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("worker")]
ROW = re.compile(r'href="/traces/([^"?]+)\?obs=([^"]+)"')


@pytest.fixture
async def viewer(client, storage, project: ProjectFixture):  # type: ignore[no-untyped-def]
    """Logged in as a viewer: the page and its export only read."""
    email, password = await make_user(storage, project, Role.VIEWER)
    await login(client, email, password)
    yield
    client.cookies.clear()  # the client is shared by the session's tests


async def _ids(client: httpx.AsyncClient, **params: object) -> list[str]:
    r = await client.get("/observations", params=params)  # type: ignore[arg-type]
    assert r.status_code == 200, r.text
    return [obs for _, obs in ROW.findall(r.text)]


@pytest.mark.usefixtures("viewer")
async def test_filters_sorts_and_columns(
    client: httpx.AsyncClient, storage: Storage, project: ProjectFixture
) -> None:
    await seed(client, storage, project)
    other = await make_project(storage)  # another project's observation never shows
    now = datetime.now(UTC)
    await insert_observations(
        storage.clickhouse,
        [ObservationRow(other.project_id, "elsewhere", "t-x", None, "GENERATION", "llm", now)],
    )
    everything = await _ids(client)
    assert len(everything) == 24 and "elsewhere" not in everything  # 12 traces: a span and a generation
    page = (await client.get("/observations")).text
    assert 'href="/traces/r-t03?obs=r-t03-gen"' in page

    generations = [f"r-t{i:02d}-gen" for i in range(11, -1, -1)]
    assert await _ids(client, type="GENERATION") == generations  # newest first
    assert await _ids(client, type="SPAN") == [g.replace("gen", "root") for g in generations]
    assert await _ids(client, model="gpt-4o-mini") == generations
    assert await _ids(client, model="gpt-4o") == []
    assert await _ids(client, level="ERROR") == ["r-t03-gen"]
    assert await _ids(client, name="handle", latency_min="1") == ["r-t11-root", "r-t10-root"]  # 1.15, 1.05 s
    assert await _ids(client, latency_min="0.5", latency_max="0.6") == [
        "r-t06-gen",
        "r-t05-gen",
        "r-t05-root",
    ]
    assert await _ids(client, cost_min="0.0095") == ["r-t11-gen", "r-t10-gen"]
    assert await _ids(client, user="user-1", type="GENERATION") == [
        "r-t10-gen",
        "r-t07-gen",
        "r-t04-gen",
        "r-t01-gen",
    ]
    assert await _ids(client, session="session-2", type="GENERATION") == [
        "r-t10-gen",
        "r-t06-gen",
        "r-t02-gen",
    ]

    slowest = await _ids(client, sort="LATENCY")
    assert slowest[:3] == ["r-t11-root", "r-t11-gen", "r-t10-root"]
    assert (await _ids(client, sort="LATENCY", order="asc"))[0] == "r-t00-gen"  # 0 ms
    assert (await _ids(client, sort="TOTAL_COST", type="GENERATION"))[0] == "r-t11-gen"
    assert (await _ids(client, sort="TOTAL_TOKENS", order="asc", type="GENERATION"))[0] == "r-t00-gen"

    by_latency = (await client.get("/observations", params={"sort": "LATENCY", "type": "GENERATION"})).text
    toggle = '/observations?sort=LATENCY&amp;type=GENERATION&amp;order=asc">Latency'
    assert f'<th class="num" aria-sort="descending"><a class="sort" href="{toggle}' in by_latency
    assert '<input type="hidden" name="sort" value="LATENCY">' in by_latency  # filtering keeps the sort
    assert "$0.011" in by_latency  # trace 11's generation, three significant digits at most

    prompted = ObservationRow(
        project.project_id, "prompted", "r-t00", None, "GENERATION", "llm", now, prompt_name="support/triage"
    )
    await insert_observations(storage.clickhouse, [replace(prompted, prompt_version=2)])
    assert await _ids(client, prompt="support/triage") == ["prompted"]
    assert await _ids(client, prompt="support/triage", prompt_version="2") == ["prompted"]
    assert await _ids(client, prompt="support/triage", prompt_version="1") == []
    with_prompt = (
        await client.get("/observations", params={"prompt": "support/triage", "cols": "prompt"})
    ).text
    assert '<a href="/prompts/support/triage?version=2">support/triage v2</a>' in with_prompt

    narrow = (await client.get("/observations", params={"cols": ["name", "cost"]})).text
    heads = re.findall(r"<th[^>]*>(?:<a[^>]*>)?([A-Z][a-z]+(?: time)?)", narrow)
    assert heads == ["Start time", "Name", "Cost"]
    assert 'value="model" >' in narrow and 'value="cost" checked>' in narrow
    assert "gpt-4o-mini" not in narrow.split("<tbody>")[1]
    assert "/observations/export?cols" not in narrow  # the export has its own columns


@pytest.mark.usefixtures("viewer")
async def test_wrong_values_are_shown_beside_their_fields(
    client: httpx.AsyncClient, storage: Storage, project: ProjectFixture
) -> None:
    r = await client.get(
        "/observations",
        params={"latency_min": "abc", "name": "llm", "prompt_version": "v2", "type": "GENERATION"},
    )
    assert r.status_code == 200
    assert re.search(
        r'name="latency_min" value="abc"[^>]*aria-invalid="true" aria-describedby="latency_min-error"', r.text
    )
    assert 'id="latency_min-error">Enter a number, 0 or more.' in r.text
    assert 'id="prompt_version-error">' in r.text
    assert 'name="name" value="llm"' in r.text and "<option selected>GENERATION</option>" in r.text
    assert "Correct the marked filters" in r.text and "/observations/export" not in r.text
    r = await client.get("/observations", params={"from": "yesterday"})
    assert r.status_code == 200 and 'id="from-error">' in r.text
    r = await client.get("/observations", params={"sort": "NAME"})
    assert r.status_code == 400 and "sort must be one of" in r.text
    r = await client.get("/observations", params={"after": "not-a-cursor"})
    assert r.status_code == 400


@pytest.mark.usefixtures("viewer")
async def test_pages_follow_the_sort(
    client: httpx.AsyncClient, storage: Storage, project: ProjectFixture
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    rows = [
        ObservationRow(
            project.project_id,
            f"o{i:02d}",
            f"t{i // 10}",
            None,
            "SPAN",
            "step",
            now - timedelta(minutes=i),
            end_time=now - timedelta(minutes=i) + timedelta(milliseconds=10 * (i % 7)),
        )
        for i in range(60)
    ]
    await insert_observations(storage.clickhouse, rows)
    seen: list[str] = []
    pages: list[str] = []
    path: str | None = "/observations?sort=LATENCY&order=asc"
    while path:
        r = await client.get(path)
        assert r.status_code == 200
        pages.append(r.text)
        seen += [obs for _, obs in ROW.findall(r.text)]
        nxt = re.search(r'<a href="([^"]+)" rel="next">', r.text)
        path = nxt[1].replace("&amp;", "&") if nxt else None
    assert len(pages) == 2 and "First page" not in pages[0]
    assert '<a href="/observations?sort=LATENCY&amp;order=asc">First page</a>' in pages[1]
    expected = sorted(rows, key=lambda o: ((o.end_time - o.start_time), o.id))  # type: ignore[operator]
    assert seen == [o.id for o in expected] and len(seen) == 60  # 50 a page, none twice


@pytest.mark.usefixtures("viewer")
async def test_export_writes_the_filtered_rows(
    client: httpx.AsyncClient, storage: Storage, project: ProjectFixture
) -> None:
    await seed(client, storage, project)
    hostile = {
        "id": "evil-1",
        "type": "span-create",
        "timestamp": datetime.now(UTC).isoformat(),
        "body": {
            "id": "evil-span",
            "traceId": "r-t00",
            "name": '=HYPERLINK("http://evil.example","click")',
            "input": "@SUM(A1:A9)",
            "startTime": datetime.now(UTC).isoformat(),
        },
    }
    r = await client.post("/api/public/ingestion", json={"batch": [hostile]}, auth=project.auth)
    assert r.status_code == 207
    await jobs_done(storage, project.project_id, 2)

    r = await client.get(
        "/observations/export", params={"type": "GENERATION", "sort": "LATENCY", "format": "csv"}
    )
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert 'filename="observations.csv"' in r.headers["content-disposition"]
    table = list(csv.reader(io.StringIO(r.text)))
    assert table[0] == list(EXPORT_COLUMNS)
    rows = [dict(zip(table[0], row, strict=True)) for row in table[1:]]
    assert [row["id"] for row in rows] == [f"r-t{i:02d}-gen" for i in range(11, -1, -1)]
    assert (
        rows[0]["model"] == "gpt-4o-mini"
        and rows[0]["total_tokens"] == "115"
        and rows[0]["total_cost"] == "0.011"
    )
    assert json.loads(rows[0]["input"]) == [{"role": "user", "content": "Question number 11 about refunds"}]

    r = await client.get("/observations/export", params={"level": "ERROR", "format": "json"})
    assert r.headers["content-type"].startswith("application/json")
    assert [o["id"] for o in json.loads(r.text)] == ["r-t03-gen"]

    r = await client.get("/observations/export", params={"name": hostile["body"]["name"], "format": "csv"})  # type: ignore[index]
    (row,) = list(csv.DictReader(io.StringIO(r.text)))
    assert row["name"] == "'" + hostile["body"]["name"] and row["input"] == "'@SUM(A1:A9)"  # type: ignore[index]
    r = await client.get("/observations/export", params={"name": hostile["body"]["name"], "format": "json"})  # type: ignore[index]
    assert json.loads(r.text)[0]["name"] == hostile["body"]["name"]  # type: ignore[index]  # JSON keeps it as it is

    assert (await client.get("/observations/export", params={"format": "xml"})).status_code == 400
    r = await client.get("/observations/export", params={"cost_max": "cheap"})
    assert r.status_code == 400 and "cost_max" in r.text
