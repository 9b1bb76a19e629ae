"""UI pages over data sent through the real pipeline: content, actions, roles and escaping."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from markupsafe import escape

from app.storage.postgres.tables import Role
from tests.conftest import ProjectFixture, csrf_token, jobs_done, login, make_user, wait_for
from tests.integration.reads_data import seed

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("worker")]
XSS = "<script>alert('x')</script>"


@pytest.fixture
async def member(client, storage, project: ProjectFixture):  # type: ignore[no-untyped-def]
    email, password = await make_user(storage, project, Role.MEMBER)
    await login(client, email, password)
    yield
    client.cookies.clear()  # the client is shared by the session's tests


@pytest.mark.usefixtures("member")
async def test_every_page_renders_its_data(client, storage, project: ProjectFixture) -> None:
    s = await seed(client, storage, project)
    home = await client.get("/")
    assert home.status_code == 200
    assert 'id="chart-volume"' in home.text and "/static/plotly/plotly.min.js" in home.text
    assert "<strong>12</strong>" in home.text  # traces in the last 24 hours
    assert (await client.get("/static/plotly/plotly.min.js")).status_code == 200

    traces = await client.get("/traces", params={"user": "user-1"})
    assert traces.status_code == 200
    listed = re.findall(r'href="/traces/(r-t\d\d)"', traces.text)
    assert listed == [s.trace_ids[i] for i in (10, 7, 4, 1)]
    window = {
        "from": s.start.replace(tzinfo=None).isoformat(),
        "to": (s.start + timedelta(minutes=3)).replace(tzinfo=None).isoformat(),
    }
    custom = await client.get("/traces", params=window)
    assert re.findall(r'href="/traces/(r-t\d\d)"', custom.text) == [s.trace_ids[i] for i in (2, 1, 0)]
    assert (await client.get("/traces", params={"from": "yesterday"})).status_code == 400
    assert (await client.get("/", params=window)).status_code == 200
    narrow = await client.get("/traces", params={"cols": ["cost", "user"]})
    assert (
        "<th>User</th><th>Cost</th>" in narrow.text.replace("\n", "") and "<th>Input</th>" not in narrow.text
    )
    found = await client.get("/traces", params={"search": "退款"})
    assert re.findall(r'href="/traces/(r-t\d\d)"', found.text) == [s.trace_ids[7]]

    trace = await client.get(f"/traces/{s.trace_ids[3]}")
    assert trace.status_code == 200
    assert "r-t03-root" in trace.text and "GENERATION" in trace.text and "ERROR" in trace.text
    assert "quality" in trace.text  # its score
    selected = await client.get(f"/traces/{s.trace_ids[3]}", params={"obs": "r-t03-gen"})
    assert 'class="msg role-user"' in selected.text and "Question number 3 about refunds" in selected.text

    sessions = await client.get("/sessions")
    assert all(f"/sessions/session-{i}" in sessions.text for i in range(4))
    session = await client.get("/sessions/session-2")
    assert [s.trace_ids[i] for i in (2, 6, 10)] == re.findall(r'href="/traces/(r-t\d\d)"', session.text)
    users = await client.get("/users")
    assert all(f"/users/user-{i}" in users.text for i in range(3))
    user = await client.get("/users/user-0")
    assert user.status_code == 200 and 'id="chart-cost"' in user.text


@pytest.mark.usefixtures("member")
async def test_scores_bookmarks_and_comments_from_the_trace_page(
    client, storage, project: ProjectFixture
) -> None:
    s = await seed(client, storage, project)
    path = f"/traces/{s.trace_ids[5]}"
    token = csrf_token((await client.get(path)).text)
    r = await client.post(
        f"{path}/scores", data={"name": "helpful", "value": "1", "data_type": "BOOLEAN", "_csrf_token": token}
    )
    assert r.status_code in (201, 302)
    page = await client.get(path)
    assert "helpful" in page.text and "ANNOTATION" in page.text
    bad = await client.post(
        f"{path}/scores", data={"name": "n", "value": "abc", "data_type": "NUMERIC", "_csrf_token": token}
    )
    assert bad.status_code == 400 and "must be a number" in bad.text
    await client.post(f"{path}/bookmark", data={"value": "1", "_csrf_token": token})
    await client.post(f"{path}/comments", data={"content": "looks wrong", "_csrf_token": token})
    page = await client.get(path)
    assert "Remove bookmark" in page.text and "looks wrong" in page.text
    marked = await client.get("/traces", params={"bookmarked": "1"})
    assert re.findall(r'href="/traces/(r-t\d\d)"', marked.text) == [s.trace_ids[5]]
    r = await client.post(f"{path}/bookmark", data={"value": "1"})  # no CSRF token
    assert r.status_code == 403


async def test_viewers_see_no_forms_and_cannot_post(client, storage, project: ProjectFixture) -> None:
    s = await seed(client, storage, project)
    email, password = await make_user(storage, project, Role.VIEWER)
    await login(client, email, password)
    try:
        page = await client.get(f"/traces/{s.trace_ids[0]}")
        assert page.status_code == 200 and "Add score" not in page.text
        r = await client.post(
            f"/traces/{s.trace_ids[0]}/scores",
            data={"name": "n", "value": "1", "_csrf_token": csrf_token(page.text)},
        )
        assert r.status_code == 403
    finally:
        client.cookies.clear()


@pytest.mark.usefixtures("member")
async def test_hostile_values_are_escaped_everywhere(client, storage, project: ProjectFixture) -> None:
    event = {
        "id": "x1",
        "type": "trace-create",
        "timestamp": "2026-11-24T00:00:00Z",
        "body": {
            "id": "xss",
            "name": XSS,
            "userId": XSS,
            "sessionId": XSS,
            "tags": [XSS],
            "metadata": {XSS: XSS},
            "input": XSS,
            "output": {"role": "assistant", "content": XSS},
        },
    }
    from datetime import UTC, datetime

    event["timestamp"] = event["body"]["timestamp"] = datetime.now(UTC).isoformat()
    span = {
        "id": "x2",
        "type": "generation-create",
        "timestamp": event["timestamp"],
        "body": {
            "id": "xss-gen",
            "traceId": "xss",
            "name": XSS,
            "model": XSS,
            "input": XSS,
            "startTime": event["timestamp"],
            "metadata": {"k": XSS},
        },
    }
    r = await client.post("/api/public/ingestion", json={"batch": [event, span]}, auth=project.auth)
    assert r.status_code == 207
    await jobs_done(storage, project.project_id, 1)
    for path in ("/", "/traces", "/traces/xss", "/traces/xss?obs=xss-gen", "/sessions", "/users"):
        page = await client.get(path)
        assert page.status_code == 200, path
        assert XSS not in page.text, path
    assert str(escape(XSS)) in (await client.get("/traces/xss")).text


@pytest.mark.usefixtures("member")
async def test_export_streams_the_filtered_traces(client, storage, project: ProjectFixture) -> None:
    import csv
    import io
    import json

    s = await seed(client, storage, project)
    r = await client.get("/traces/export", params={"user": "user-2", "format": "csv"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert 'filename="traces.csv"' in r.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert [row["id"] for row in rows] == [s.trace_ids[i] for i in (11, 8, 5, 2)]
    assert rows[0]["input"] == "Question number 11 about refunds" and rows[0]["tags"] == "odd,prod"
    r = await client.get("/traces/export", params={"format": "json", "search": "退款"})
    assert [t["id"] for t in json.loads(r.text)] == [s.trace_ids[7]]
    r = await client.get("/traces/export", params={"format": "xml"})
    assert r.status_code == 400


@pytest.mark.usefixtures("member")
async def test_scores_and_model_settings_pages(client, storage, project: ProjectFixture) -> None:
    await seed(client, storage, project)
    page = await client.get("/scores")
    assert page.status_code == 200 and "quality" in page.text and 'id="chart-over-time"' in page.text
    token = csrf_token(page.text)
    r = await client.post(
        "/scores/configs",
        data={"name": "tone", "data_type": "CATEGORICAL", "categories": "polite,rude", "_csrf_token": token},
    )
    assert r.status_code in (201, 302)
    page = await client.get("/scores")
    assert "polite, rude" in page.text
    bad = await client.post(
        "/scores/configs", data={"name": "x", "data_type": "NUMERIC", "min_value": "a", "_csrf_token": token}
    )
    assert bad.status_code == 400 and 'id="min_value-error">Min must be a number' in bad.text
    assert 'name="min_value" inputmode="decimal" value="a"' in bad.text and 'value="x"' in bad.text
    models = await client.get("/settings/models")
    assert (
        models.status_code == 200 and "gpt-4o-mini" in models.text and "Add model" not in models.text
    )  # member


async def test_admins_set_roles_and_cannot_grant_above_their_own(
    client, storage, project: ProjectFixture
) -> None:
    admin_email, admin_password = await make_user(storage, project, Role.ADMIN)
    viewer_email, viewer_password = await make_user(storage, project, Role.VIEWER)
    await login(client, admin_email, admin_password)
    try:
        page = await client.get("/settings/members")
        assert page.status_code == 200 and viewer_email in page.text
        token = csrf_token(page.text)
        r = await client.post(
            "/settings/members", data={"email": viewer_email, "role": "member", "_csrf_token": token}
        )
        assert r.status_code in (201, 302)
        assert "Use organization role" in (await client.get("/settings/members")).text
        r = await client.post(
            "/settings/members", data={"email": viewer_email, "role": "owner", "_csrf_token": token}
        )
        assert r.status_code == 403
        r = await client.post(
            "/settings/members", data={"email": "nobody@example.com", "role": "member", "_csrf_token": token}
        )
        assert r.status_code == 404 and "invite them" in r.text
        await login(client, viewer_email, viewer_password)
        page = await client.get("/traces")
        assert page.status_code == 200
        assert (await client.get("/settings/members")).status_code == 403  # now a member, not an admin
    finally:
        client.cookies.clear()


@pytest.mark.usefixtures("member")
async def test_agent_traces_show_an_agent_graph(client, storage, project: ProjectFixture) -> None:
    from datetime import UTC, datetime

    at = datetime.now(UTC).isoformat()

    def obs(kind: str, oid: str, parent: str | None, name: str) -> dict:
        body = {"id": oid, "traceId": "agentic", "name": name, "startTime": at, "type": kind}
        if parent:
            body["parentObservationId"] = parent
        return {"id": f"e-{oid}", "type": "observation-create", "timestamp": at, "body": body}

    batch = [
        {
            "id": "t",
            "type": "trace-create",
            "timestamp": at,
            "body": {"id": "agentic", "name": "agent run", "timestamp": at},
        },
        obs("AGENT", "a1", None, "planner"),
        obs("SPAN", "s1", "a1", "glue"),
        obs("TOOL", "t1", "s1", "weather"),
        obs("GENERATION", "g1", "a1", "llm"),
    ]
    r = await client.post("/api/public/ingestion", json={"batch": batch}, auth=project.auth)
    assert r.status_code == 207 and not r.json()["errors"], r.text
    await jobs_done(storage, project.project_id, 1)
    page = await client.get("/traces/agentic")
    steps = re.findall(r'<span class="type">(\w+)</span> <span class="step-name">(\w+)</span>', page.text)
    assert steps == [("AGENT", "planner"), ("GENERATION", "llm"), ("TOOL", "weather")]  # same start: by id
    await seed(client, storage, project)
    plain = await client.get("/traces/r-t00")
    assert 'id="agent-graph"' not in plain.text


@pytest.mark.usefixtures("member")
async def test_custom_dashboards(client, storage, project: ProjectFixture) -> None:
    await seed(client, storage, project)
    token = csrf_token((await client.get("/dashboards")).text)
    r = await client.post("/dashboards", data={"name": "Costs", "_csrf_token": token})
    assert r.status_code in (201, 302)
    path = r.headers["location"]
    specs = [
        ("Cost by model", "OBSERVATIONS", "TOTAL_COST", "SUM", "MODEL", "pie"),
        ("Observations", "OBSERVATIONS", "COUNT", "COUNT", "", "number"),
        ("Trace p95", "TRACES", "LATENCY", "P95", "", "line"),
        ("Score values", "SCORES", "VALUE", "AVG", "", "histogram"),
        ("Tokens by type", "OBSERVATIONS", "TOTAL_TOKENS", "SUM", "TYPE", "table"),
        ("Per model", "OBSERVATIONS", "COUNT", "COUNT", "MODEL", "stacked_bar"),
        ("Per name", "OBSERVATIONS", "COUNT", "COUNT", "NAME", "bar"),
    ]
    for title, view, measure, aggregation, dimension, chart in specs:
        form = {
            "title": title,
            "view": view,
            "measure": measure,
            "aggregation": aggregation,
            "dimension": dimension,
            "chart": chart,
            "_csrf_token": token,
        }
        r = await client.post(f"{path}/widgets", data=form)
        assert r.status_code in (201, 302), r.text
    page = await client.get(path)
    assert page.status_code == 200 and page.text.count('id="chart-w') == 5
    assert '<p class="big">24</p>' in page.text and "<td>GENERATION</td>" in page.text
    await client.post(f"{path}/widgets/0/down", data={"_csrf_token": token})
    page = await client.get(path)
    assert page.text.index("Observations") < page.text.index("Cost by model")
    await client.post(f"{path}/widgets/0/delete", data={"_csrf_token": token})
    page = await client.get(path)
    assert '<p class="big">' not in page.text
    assert '<option value="NAME" selected>Name</option>' in page.text  # the edit form shows its settings
    edit = {**form, "title": "Per model", "dimension": "MODEL", "chart": "table"}
    r = await client.post(f"{path}/widgets/5", data=edit)  # the last: "Per name"
    assert r.status_code in (201, 302), r.text
    page = await client.get(path)
    assert page.text.count('id="chart-w') == 4 and "<th>Model</th>" in page.text
    assert "<th>Count</th>" in page.text and "Count of observations by model" in page.text
    assert "Per name" not in page.text
    r = await client.post(f"{path}/widgets/5", data={**edit, "chart": "donut"})
    assert r.status_code == 400 and 'id="chart-error">Chart must be one of' in r.text
    assert (
        "<details open><summary>Edit</summary>" in r.text and 'value="Per model"' in r.text
    )  # that form, kept
    assert (await client.post(f"{path}/widgets/9", data=edit)).status_code == 404
    bad = {
        "title": "x",
        "view": "SCORES",
        "measure": "LATENCY",
        "aggregation": "AVG",
        "chart": "line",
        "_csrf_token": token,
    }
    r = await client.post(f"{path}/widgets", data=bad)
    assert (
        r.status_code == 400
        and 'id="measure-error">Measure LATENCY is not available on view SCORES' in r.text
    )
    r = await client.post(f"{path}/widgets", data={**bad, "measure": "VALUE", "chart": "donut"})
    assert r.status_code == 400 and 'id="chart-error">Chart must be one of' in r.text
    await client.post(f"{path}/delete", data={"_csrf_token": token})
    assert (await client.get(path)).status_code == 404


@pytest.mark.usefixtures("member")
async def test_scores_by_trace_name(client, storage, project: ProjectFixture) -> None:
    s = await seed(client, storage, project)  # quality: 0, .3, .6, .9 on traces 0, 3, 6, 9
    tones = {1: "polite", 2: "rude", 3: "polite", 5: "polite"}  # traces 1, 3, 5 are "chat", 2 "search"
    batch = [
        {"traceId": s.trace_ids[i], "name": "tone", "value": tone, "dataType": "CATEGORICAL"}
        for i, tone in tones.items()
    ]
    r = await client.post("/api/public/scores", json=batch, auth=project.auth)
    assert r.status_code == 202, r.text

    def table(html: str, score: str) -> dict[str, list[str]]:
        found = re.search(
            rf'<table class="by-trace" data-score="{score}" data-type="[A-Z]+">(.*?)</table>', html, re.S
        )
        assert found, html
        header = re.findall(r'<th scope="col">(.*?)</th>', found[1])
        rows = re.findall(r'<tr><th scope="row">(.*?)</th>(.*?)</tr>', found[1])
        return {"": header} | {name: re.findall(r"<td>(.*?)</td>", cells) for name, cells in rows}

    async def page() -> str:
        text = (await client.get("/scores")).text
        return text if 'data-score="tone"' in text else ""

    html = await wait_for(page)
    assert table(html, "quality") == {"": ["Trace name", "Average"], "chat": ["0.600"], "search": ["0.300"]}
    assert table(html, "tone") == {
        "": ["Trace name", "polite", "rude"],
        "chat": ["3", "0"],
        "search": ["0", "1"],
    }
