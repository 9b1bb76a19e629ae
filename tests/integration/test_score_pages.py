"""Scores in the UI by data type: booleans as True/False, categories counted, session scores, the
score list and its filters, and the traces page's score filter. Scores are sent with the real SDK."""

from __future__ import annotations

import asyncio
import json
import re
from datetime import UTC, datetime, timedelta

import pytest

from app.storage import Storage
from app.storage.clickhouse.queries import scores as sq
from app.storage.clickhouse.queries.common import TimeRange
from app.storage.postgres.tables import Role
from tests.conftest import LiveServer, ProjectFixture, csrf_token, login, make_user, wait_for
from tests.integration.reads_data import Seeded, seed

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("worker")]

# The seed gives NUMERIC `quality` 0, .3, .6, .9 to traces 0, 3, 6, 9 (all of user-0; 0 and 6 are
# "search", 3 and 9 "chat"). Trace i belongs to user-{i % 3} and session-{i % 4}.
SDK_SCORES = 9


@pytest.fixture
async def member(client, storage, project: ProjectFixture):  # type: ignore[no-untyped-def]
    email, password = await make_user(storage, project, Role.MEMBER)
    await login(client, email, password)
    yield
    client.cookies.clear()


def send_scores(server: LiveServer, project: ProjectFixture, s: Seeded) -> None:
    from langfuse import Langfuse

    lf = Langfuse(public_key=project.public_key, secret_key=project.secret_key, base_url=server.base_url)
    try:
        for i, value in ((1, 1), (2, 0), (4, 1), (5, 1)):  # 75 % True
            lf.create_score(trace_id=s.trace_ids[i], name="helpful", value=value, data_type="BOOLEAN")
        # The same name as the seed's numeric scores, as a boolean: never averaged with them.
        lf.create_score(trace_id=s.trace_ids[7], name="quality", value=1, data_type="BOOLEAN")
        for i, tone in ((1, "polite"), (2, "rude"), (5, "polite")):
            lf.create_score(trace_id=s.trace_ids[i], name="tone", value=tone, data_type="CATEGORICAL")
        lf.create_score(session_id="session-1", name="resolved", value=1, data_type="BOOLEAN")
        lf.flush()
    finally:
        lf.shutdown()


async def scored(client, storage: Storage, project: ProjectFixture, server: LiveServer) -> Seeded:  # type: ignore[no-untyped-def]
    s = await seed(client, storage, project)
    await asyncio.to_thread(send_scores, server, project, s)
    now = datetime.now(UTC)
    req = sq.ScoreListRequest(
        project.project_id, TimeRange(now - timedelta(days=1), now + timedelta(hours=1))
    )

    async def landed() -> bool:
        return await sq.count_scores(storage.clickhouse, req) >= 4 + SDK_SCORES

    await wait_for(landed)
    return s


def summary(html: str) -> dict[tuple[str, str], str]:
    """The score summary table: (name, data type) -> summary."""
    rows = re.findall(r'<tr data-score="([^"]+)" data-type="([^"]+)">.*?<td>([^<]*)</td></tr>', html)
    return {(name, kind): text for name, kind, text in rows}


def by_trace(html: str, score: str, kind: str) -> dict[str, list[str]]:
    found = re.search(
        rf'<table class="by-trace" data-score="{score}" data-type="{kind}">(.*?)</table>', html, re.S
    )
    assert found, (score, kind)
    header = re.findall(r'<th scope="col">(.*?)</th>', found[1])
    rows = re.findall(r'<tr><th scope="row">(.*?)</th>(.*?)</tr>', found[1])
    return {"": header} | {name: re.findall(r"<td>(.*?)</td>", cells) for name, cells in rows}


def chart(html: str, key: str) -> dict:
    found = re.search(rf'<script type="application/json" data-for="chart-{key}">(.*?)</script>', html, re.S)
    assert found, key
    return json.loads(found[1])


@pytest.mark.usefixtures("member")
async def test_scores_show_by_data_type(
    live_server: LiveServer, client, storage, project: ProjectFixture
) -> None:
    s = await scored(client, storage, project, live_server)
    expected = {
        ("helpful", "BOOLEAN"): "75% True (n=4)",
        ("quality", "BOOLEAN"): "100% True (n=1)",
        ("quality", "NUMERIC"): "avg 0.45 (n=4)",
        ("resolved", "BOOLEAN"): "100% True (n=1)",
        ("tone", "CATEGORICAL"): "polite: 2, rude: 1",
    }
    home = await client.get("/")
    assert summary(home.text) == expected
    assert summary((await client.get("/", params={"environment": "default"})).text) == expected
    assert summary((await client.get("/", params={"environment": "staging"})).text) == {}
    # The average chart holds numeric scores only: no boolean or categorical series beside them.
    assert {t["name"] for t in chart(home.text, "scores")["data"]} == {"quality"}

    scores = await client.get("/scores")
    assert summary(scores.text) == expected
    assert by_trace(scores.text, "quality", "NUMERIC") == {
        "": ["Trace name", "Average"],
        "chat": ["0.600"],
        "search": ["0.300"],
    }
    assert by_trace(scores.text, "quality", "BOOLEAN") == {"": ["Trace name", "True"], "chat": ["100% (n=1)"]}
    assert by_trace(scores.text, "helpful", "BOOLEAN") == {
        "": ["Trace name", "True"],
        "chat": ["100% (n=2)"],
        "search": ["50% (n=2)"],
    }
    assert by_trace(scores.text, "tone", "CATEGORICAL") == {
        "": ["Trace name", "polite", "rude"],
        "chat": ["2", "0"],
        "search": ["0", "1"],
    }
    assert {t["name"] for t in chart(scores.text, "over-time")["data"]} == {"quality"}

    trace = await client.get(f"/traces/{s.trace_ids[2]}")
    assert "<td>helpful</td><td>False</td>" in trace.text and "<td>tone</td><td>rude</td>" in trace.text

    session = await client.get("/sessions/session-1")  # traces 1, 5, 9 and a score of its own
    own = re.search(r'<table class="session-scores">(.*?)</table>', session.text, re.S)
    assert own and "<td>resolved</td><td>True</td><td>BOOLEAN</td>" in own[1]
    assert "helpful: True" in session.text  # a turn's score, typed
    sessions = await client.get("/sessions")
    row = re.search(r'<a href="/sessions/session-1">.*?</tr>', sessions.text, re.S)
    assert row and '<span class="badge">resolved: True</span>' in row[0]
    other = re.search(r'<a href="/sessions/session-2">.*?</tr>', sessions.text, re.S)
    assert other and "resolved" not in other[0]


def listed(html: str) -> list[tuple[str, str]]:
    """(name, value) of each row of the score list, in order."""
    return re.findall(
        r'<tr data-id="[^"]+">\s*<td>[^<]*</td>\s*<td>([^<]*)</td>\s*<td class="value">([^<]*)</td>', html
    )


@pytest.mark.usefixtures("member")
async def test_score_list_filters(live_server: LiveServer, client, storage, project: ProjectFixture) -> None:
    s = await scored(client, storage, project, live_server)
    token = csrf_token((await client.get(f"/traces/{s.trace_ids[8]}")).text)
    r = await client.post(
        f"/traces/{s.trace_ids[8]}/scores",
        data={"name": "reviewed", "value": "1", "data_type": "BOOLEAN", "_csrf_token": token},
    )
    assert r.status_code in (201, 302)

    async def page(**params: str) -> list[tuple[str, str]]:
        r = await client.get("/scores/list", params=params)
        assert r.status_code == 200, r.text
        return listed(r.text)

    async def everything() -> list[tuple[str, str]]:
        rows = await page()
        return rows if len(rows) == 4 + SDK_SCORES + 1 else []

    every = await wait_for(everything)
    assert ("helpful", "False") in every and ("tone", "rude") in every and ("resolved", "True") in every
    assert ("quality", "0.3") in every and ("quality", "True") in every

    assert sorted(await page(name="helpful")) == [("helpful", "False")] + [("helpful", "True")] * 3
    assert sorted(await page(data_type="CATEGORICAL")) == [
        ("tone", "polite"),
        ("tone", "polite"),
        ("tone", "rude"),
    ]
    assert await page(source="ANNOTATION") == [("reviewed", "True")]
    assert len(await page(source="API")) == 4 + SDK_SCORES
    assert sorted(await page(min="0.5", max="0.95")) == [("quality", "0.6"), ("quality", "0.9")]
    assert sorted(await page(trace=s.trace_ids[1])) == [("helpful", "True"), ("tone", "polite")]
    # user-1 owns traces 1, 4, 7 and 10; the session's score has no user.
    assert sorted(await page(user="user-1")) == [
        ("helpful", "True"),
        ("helpful", "True"),
        ("quality", "True"),
        ("tone", "polite"),
    ]
    window = {  # the seed's scores carry their traces' times; the SDK's are newer
        "from": (s.start - timedelta(minutes=1)).replace(tzinfo=None).isoformat(),
        "to": (s.start + timedelta(minutes=10)).replace(tzinfo=None).isoformat(),
    }
    assert await page(**window) == [
        ("quality", "0.9"),
        ("quality", "0.6"),
        ("quality", "0.3"),
        ("quality", "0"),
    ]
    user_page = await client.get("/scores/list", params={"trace": s.trace_ids[4]})
    assert '<a href="/users/user-1">user-1</a>' in user_page.text

    bad = await client.get("/scores/list", params={"data_type": "NUMBER"})
    assert bad.status_code == 400 and "data_type must be one of" in bad.text
    bad = await client.get("/scores/list", params={"min": "low"})
    assert bad.status_code == 400 and "min must be a number" in bad.text


@pytest.mark.usefixtures("member")
async def test_traces_page_filters_by_score_range(
    live_server: LiveServer, client, storage, project: ProjectFixture
) -> None:
    s = await scored(client, storage, project, live_server)

    async def traces(**params: str) -> list[str]:
        r = await client.get("/traces", params=params)
        assert r.status_code == 200, r.text
        return re.findall(r'href="/traces/(r-t\d\d)"', r.text)

    assert await traces(score_name="quality", score_min="0.5", score_max="0.95") == [
        s.trace_ids[9],
        s.trace_ids[6],
    ]
    assert await traces(score_name="helpful", score_min="1") == [s.trace_ids[i] for i in (5, 4, 1)]
    assert await traces(score_name="helpful", score_max="0") == [s.trace_ids[2]]
    kept = await client.get("/traces", params={"score_name": "helpful", "score_min": "1"})
    assert 'name="score_name" value="helpful"' in kept.text and 'name="score_min" value="1"' in kept.text
    bad = await client.get("/traces", params={"score_name": "quality", "score_min": "high"})
    assert bad.status_code == 400 and "score_min must be a number" in bad.text
