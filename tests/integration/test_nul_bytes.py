"""A NUL character in any value bound for Postgres is a 400 naming the field, never a 500."""

from __future__ import annotations

import pytest

from app.storage.postgres.tables import Role
from tests.conftest import ProjectFixture, csrf_token, login, make_user

pytestmark = pytest.mark.integration

NUL = "bad\x00name"


async def test_rest_json_with_a_nul_is_400_naming_the_field(client, project: ProjectFixture) -> None:
    client.cookies.clear()
    cases = [
        ("/api/public/v2/prompts", {"name": NUL, "prompt": "hi", "type": "text"}, "name"),
        ("/api/public/v2/prompts", {"name": "ok", "prompt": NUL, "type": "text"}, "prompt"),
        ("/api/public/v2/datasets", {"name": NUL}, "name"),
        ("/api/public/v2/datasets", {"name": "ok", "description": NUL}, "description"),
        ("/api/public/dataset-items", {"datasetName": "ok", "input": {"q": [NUL]}}, "input"),
        ("/api/public/dataset-items", {"datasetName": "ok", "id": NUL}, "id"),
        ("/api/public/score-configs", {"name": NUL, "dataType": "NUMERIC"}, "name"),
        (
            "/api/public/score-configs",
            {"name": "q", "dataType": "NUMERIC", "description": NUL},
            "description",
        ),
        ("/api/public/models", {"modelName": NUL, "matchPattern": "x", "inputPrice": 1}, "model_name"),
        (
            "/api/public/comments",
            {"objectType": "PROMPT", "objectId": "p", "content": NUL},
            "content",
        ),
    ]
    for path, body, field in cases:
        r = await client.post(path, json=body, auth=project.auth)
        assert r.status_code == 400, (path, body, r.status_code, r.text)
        message = r.json()["message"]
        assert message.startswith(field) and "NUL character" in message, (path, message)
    r = await client.get("/api/public/v2/prompts/bad%00name", auth=project.auth)
    assert r.status_code == 400 and "NUL character" in r.json()["message"]
    r = await client.get("/api/public/v2/prompts", params={"name": NUL}, auth=project.auth)
    assert r.status_code == 400 and "name must not contain a NUL" in r.json()["message"]


async def test_ui_forms_with_a_nul_are_400_naming_the_field(client, storage, project: ProjectFixture) -> None:
    client.cookies.clear()
    page = await client.get("/login")
    r = await client.post(
        "/login", data={"email": f"x{NUL}@example.com", "password": "p", "_csrf_token": csrf_token(page.text)}
    )
    assert r.status_code == 400 and "email must not contain a NUL character" in r.text
    assert 'role="alert"' in r.text and 'name="password"' in r.text  # the login form again
    email, password = await make_user(storage, project, Role.ADMIN)
    await login(client, email, password)
    try:
        token = csrf_token((await client.get("/settings/members")).text)
        for path, form, field in (
            ("/dashboards", {"name": NUL}, "name"),
            ("/scores/configs", {"name": NUL, "data_type": "NUMERIC"}, "name"),
            ("/settings/models", {"model_name": NUL, "match_pattern": "x", "input_price": "1"}, "model_name"),
            ("/settings/invitations", {"email": f"a{NUL}@example.com", "role": "viewer"}, "email"),
        ):
            r = await client.post(path, data={**form, "_csrf_token": token})
            assert r.status_code == 400, (path, r.status_code, r.text[:300])
            assert f'id="{field}-error">' in r.text, (path, r.text[-2000:])  # beside the field
            assert "must not contain a NUL character" in r.text, (path, r.text[-2000:])
    finally:
        client.cookies.clear()


async def test_graphql_mutations_with_a_nul_are_user_errors_naming_the_field(
    client, storage, project: ProjectFixture
) -> None:
    email, password = await make_user(storage, project, Role.ADMIN)
    await login(client, email, password)
    try:
        for mutation, field in (
            ('createScoreConfig(input: {name: $v, dataType: "NUMERIC"}) { scoreConfig { id } }', "name"),
            (
                'createLlmConnection(input: {name: $v, provider: OPENAI, models: ["m"], apiKey: "k"}) '
                "{ llmConnection { id } }",
                "name",
            ),
            ("createApiKey(input: {note: $v}) { secretKey }", "note"),
        ):
            body = {"query": f"mutation($v: String!) {{ {mutation} }}", "variables": {"v": NUL}}
            r = (await client.post("/api/graphql", json=body)).json()
            assert r["errors"][0]["message"].startswith(f"{field} must not contain a NUL"), (mutation, r)
    finally:
        client.cookies.clear()
