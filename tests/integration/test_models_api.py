"""/api/public/models, and costs computed at ingestion from built-in and project prices."""

from __future__ import annotations

from decimal import Decimal

import pytest

from app.storage.clickhouse.query import CompiledQuery
from tests.conftest import ProjectFixture, jobs_done

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("worker")]
T0 = "2026-11-20T10:00:00.000Z"


async def test_models_crud(client, project: ProjectFixture) -> None:
    listed = (await client.get("/api/public/models", params={"limit": 100}, auth=project.auth)).json()
    assert listed["meta"]["totalItems"] == len(listed["data"]) and all(
        m["isLangfuseManaged"] for m in listed["data"]
    )
    body = {
        "modelName": "in-house",
        "matchPattern": "(?i)^in-house(-v\\d+)?$",
        "inputPrice": 0.001,
        "outputPrice": 0.002,
    }
    created = (await client.post("/api/public/models", json=body, auth=project.auth)).json()
    assert (
        created["modelName"] == "in-house"
        and created["inputPrice"] == 0.001
        and not created["isLangfuseManaged"]
    )
    first = (await client.get("/api/public/models", params={"limit": 1}, auth=project.auth)).json()
    assert (
        first["data"][0]["id"] == created["id"]
        and first["meta"]["totalItems"] == listed["meta"]["totalItems"] + 1
    )
    assert (await client.get(f"/api/public/models/{created['id']}", auth=project.auth)).json()[
        "id"
    ] == created["id"]
    assert (await client.get("/api/public/models/builtin:gpt-4o", auth=project.auth)).json()[
        "isLangfuseManaged"
    ]
    r = await client.post(
        "/api/public/models", json={"modelName": "x", "matchPattern": "("}, auth=project.auth
    )
    assert r.status_code == 400 and "matchPattern" in r.json()["message"]
    r = await client.delete("/api/public/models/builtin:gpt-4o", auth=project.auth)
    assert r.status_code == 404
    assert (await client.delete(f"/api/public/models/{created['id']}", auth=project.auth)).status_code == 200
    assert (await client.get(f"/api/public/models/{created['id']}", auth=project.auth)).status_code == 404


async def test_costs_are_computed_at_ingestion(client, storage, project: ProjectFixture) -> None:
    model = {"modelName": "in-house", "matchPattern": "^in-house$", "inputPrice": 0.5, "outputPrice": 1}
    assert (await client.post("/api/public/models", json=model, auth=project.auth)).status_code == 200
    batch = [
        {
            "id": "e1",
            "type": "generation-create",
            "timestamp": T0,
            "body": {
                "id": "g1",
                "traceId": "t1",
                "name": "a",
                "startTime": T0,
                "model": "gpt-4o-mini",
                "usage": {"input": 1000, "output": 100},
            },
        },
        {
            "id": "e2",
            "type": "generation-create",
            "timestamp": T0,
            "body": {
                "id": "g2",
                "traceId": "t1",
                "name": "b",
                "startTime": T0,
                "model": "in-house",
                "usageDetails": {"input": 2, "output": 3},
            },
        },
        {
            "id": "e3",
            "type": "generation-create",
            "timestamp": T0,
            "body": {
                "id": "g3",
                "traceId": "t1",
                "name": "c",
                "startTime": T0,
                "model": "gpt-4o",
                "input": "Hello there, how are you today?",
                "output": "I am fine.",
            },
        },
        {
            "id": "e4",
            "type": "generation-create",
            "timestamp": T0,
            "body": {
                "id": "g4",
                "traceId": "t1",
                "name": "d",
                "startTime": T0,
                "model": "gpt-4o",
                "usageDetails": {"input": 10},
                "costDetails": {"total": 7},
            },
        },
    ]
    await client.post("/api/public/ingestion", json={"batch": batch}, auth=project.auth)
    await jobs_done(storage, project.project_id, 1)
    q = CompiledQuery(
        "SELECT id, usage_details, cost_details, total_cost FROM observations "
        "WHERE project_id = {project_id:String} ORDER BY id",
        {"project_id": project.project_id},
        "test.costs",
    )
    rows = {r["id"]: r for r in await storage.clickhouse.query(q)}
    assert rows["g1"]["total_cost"] == Decimal("0.000210000000")  # built-in gpt-4o-mini prices
    assert rows["g2"]["cost_details"] == {
        "input": Decimal("1.0"),
        "output": Decimal("3.0"),
        "total": Decimal("4.0"),
    }
    assert rows["g3"]["usage_details"] == {"input": 8, "output": 4, "total": 12}  # counted offline
    assert rows["g4"]["total_cost"] == Decimal("7")  # provided cost wins
