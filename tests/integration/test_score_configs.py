"""Score configs: CRUD, and scores checked against their config at intake (type, range, categories)."""

from __future__ import annotations

import pytest

from tests.conftest import ProjectFixture

pytestmark = pytest.mark.integration


async def test_score_config_crud_and_validation(client, project: ProjectFixture) -> None:
    body = {"name": "quality", "dataType": "NUMERIC", "minValue": 0, "maxValue": 1, "description": "0..1"}
    created = (await client.post("/api/public/score-configs", json=body, auth=project.auth)).json()
    for key in ("id", "name", "createdAt", "updatedAt", "projectId", "dataType", "isArchived"):
        assert key in created
    assert created["projectId"] == project.project_id and created["isArchived"] is False
    listed = (await client.get("/api/public/score-configs", auth=project.auth)).json()
    assert [c["id"] for c in listed["data"]] == [created["id"]] and listed["meta"]["totalItems"] == 1
    got = (await client.get(f"/api/public/score-configs/{created['id']}", auth=project.auth)).json()
    assert got == created
    patched = await client.patch(
        f"/api/public/score-configs/{created['id']}", json={"isArchived": True}, auth=project.auth
    )
    assert patched.json()["isArchived"] is True
    for bad, needle in (
        ({"name": "x", "dataType": "NOPE"}, "dataType"),
        ({"name": "x", "dataType": "NUMERIC", "minValue": 2, "maxValue": 1}, "minValue"),
        ({"name": "x", "dataType": "CATEGORICAL"}, "categories"),
        ({"name": "x", "dataType": "CATEGORICAL", "categories": [{"value": 1}]}, "categories[0]"),
        ({"dataType": "TEXT"}, "name"),
    ):
        r = await client.post("/api/public/score-configs", json=bad, auth=project.auth)
        assert r.status_code == 400 and needle in r.json()["message"], r.text
    assert (await client.get("/api/public/score-configs/nope", auth=project.auth)).status_code == 404


async def test_scores_must_fit_their_config(client, project: ProjectFixture) -> None:
    numeric = (
        await client.post(
            "/api/public/score-configs",
            json={"name": "acc", "dataType": "NUMERIC", "minValue": 0, "maxValue": 1},
            auth=project.auth,
        )
    ).json()
    category = (
        await client.post(
            "/api/public/score-configs",
            json={
                "name": "tone",
                "dataType": "CATEGORICAL",
                "categories": [{"value": 0, "label": "bad"}, {"value": 1, "label": "good"}],
            },
            auth=project.auth,
        )
    ).json()
    ok = {"traceId": "t", "name": "acc", "value": 0.5, "configId": numeric["id"]}
    assert (await client.post("/api/public/scores", json=ok, auth=project.auth)).status_code == 200
    cases = [
        ({**ok, "value": 2}, "above the config's maxValue"),
        ({**ok, "dataType": "CATEGORICAL", "value": "x"}, "does not match"),
        (
            {"traceId": "t", "name": "tone", "value": "meh", "configId": category["id"]},
            "not one of the config's categories",
        ),
        ({**ok, "configId": "missing"}, "does not exist"),
        ({**ok, "name": "other"}, "the config's name"),
    ]
    for score, needle in cases:
        r = await client.post("/api/public/scores", json=score, auth=project.auth)
        assert r.status_code == 400 and needle in r.json()["message"], (score, r.text)
    r = await client.post("/api/public/scores", json=[ok, cases[0][0]], auth=project.auth)
    assert r.status_code == 207 and r.json()["accepted"] == 1
    good_tone = {
        "traceId": "t",
        "name": "tone",
        "value": "good",
        "configId": category["id"],
        "dataType": "CATEGORICAL",
    }
    batch = [
        {"id": "s1", "type": "score-create", "timestamp": "2026-11-20T10:00:00Z", "body": good_tone},
        {
            "id": "s2",
            "type": "score-create",
            "timestamp": "2026-11-20T10:00:00Z",
            "body": {**good_tone, "value": "meh"},
        },
    ]
    r = (await client.post("/api/public/ingestion", json={"batch": batch}, auth=project.auth)).json()
    assert [s["id"] for s in r["successes"]] == ["s1"]
    assert r["errors"][0]["id"] == "s2" and "categories" in r["errors"][0]["message"]
    await client.patch(
        f"/api/public/score-configs/{numeric['id']}", json={"isArchived": True}, auth=project.auth
    )
    r = await client.post("/api/public/scores", json=ok, auth=project.auth)
    assert r.status_code == 400 and "archived" in r.json()["message"]


async def test_a_page_past_the_limit_is_a_400_on_every_paged_list(client, project: ProjectFixture) -> None:
    for path in ("/score-configs", "/models", "/comments", "/traces", "/v2/prompts", "/metrics/daily"):
        r = await client.get(f"/api/public{path}", params={"page": 10**20}, auth=project.auth)
        assert r.status_code == 400 and "page" in r.text, (path, r.text)
