"""Every form POST route of the UI, posted with a wrong-typed or missing field: never a 5xx, never a bare
error page where a form was posted (the page comes back with the form, the value as typed and the error
beside its field). Action buttons (delete, toggle, skip…) answer without a 5xx."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from app.storage.postgres.tables import Role
from tests.conftest import ProjectFixture, csrf_token, login, make_user
from tests.integration.judge_setup import add_evaluator, add_rule
from tests.integration.reads_data import seed

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("worker")]

# Forms posted from another page ("add to queue" of the trace, traces and session pages; the
# playground's htmx calls): refused with the field named, on the error page or as JSON.
ELSEWHERE = {
    "/annotation-queues/items",
    "/playground/inputs",
    "/playground/run",
}


def _ui_post_routes(client: httpx.AsyncClient) -> set[str]:
    app: Any = client._transport.app  # type: ignore[attr-defined]
    paths = {
        r.path for r in app.routes if "POST" in getattr(r, "methods", ()) and not r.path.startswith("/api")
    }
    return {re.sub(r"\{(\w+):\w+\}", r"{\1}", p) for p in paths}


async def _made(client: httpx.AsyncClient, token: str, path: str, data: dict[str, Any]) -> str:
    """Post a good form and return where it led (the new object's page)."""
    r = await client.post(path, data={**data, "_csrf_token": token})
    assert r.status_code in (302, 303), (path, r.status_code, r.text[-1500:])
    return str(r.headers["location"])


def _id_after(text: str, prefix: str) -> str:
    found = re.search(re.escape(prefix) + r"([^/\"?]+)", text)
    assert found, prefix
    return found[1]


async def test_every_form_route_comes_back_as_a_form_with_the_error(
    client: httpx.AsyncClient, storage: Any, project: ProjectFixture
) -> None:
    s = await seed(client, storage, project)
    trace = s.trace_ids[0]
    email, password = await make_user(storage, project, Role.ADMIN)
    await login(client, email, password)
    try:
        token = csrf_token((await client.get("/settings/models")).text)
        pid = project.project_id
        board = (await _made(client, token, "/dashboards", {"name": "Board"})).rsplit("/", 1)[1]
        widget = {"title": "Per name", "view": "OBSERVATIONS", "measure": "COUNT", "aggregation": "COUNT"}
        await _made(
            client, token, f"/dashboards/{board}/widgets", {**widget, "dimension": "NAME", "chart": "bar"}
        )
        connection = {"name": "llm", "provider": "openai", "models": "m1", "api_key": "sk-test-123456789"}
        await _made(client, token, "/settings/llm-connections", connection)
        page = (await client.get("/settings/llm-connections")).text
        connection_id = _id_after(page, "/settings/llm-connections/")
        await _made(
            client,
            token,
            "/settings/models",
            {"model_name": "mine", "match_pattern": "^mine$", "input_price": "1"},
        )
        await _made(
            client, token, "/prompts/new", {"name": "p1", "mode": "text", "text": "hi", "config": "{}"}
        )
        dataset = (await _made(client, token, "/datasets", {"name": "ds"})).rsplit("/", 1)[1]
        item = (await _made(client, token, f"/datasets/{dataset}/items/new", {"input": '"q"'})).rsplit(
            "/", 1
        )[1]
        evaluator, _ = await add_evaluator(storage, pid, "llm")
        rule = await add_rule(storage, pid, evaluator)
        queue_at = await _made(client, token, "/annotation-queues", {"name": "Q"})
        queue = queue_at.rsplit("/", 1)[1]
        added = {"queue_id": queue, "object_type": "TRACE", "object_id": trace, "next": "/traces"}
        await _made(client, token, "/annotation-queues/items", added)
        queue_item = _id_after((await client.get(queue_at)).text, 'data-item="')

        # (route, url, wrong or missing field, what shows the form came back with its error)
        forms: list[tuple[str, str, dict[str, Any], str]] = [
            ("/login", "/login", {"email": email}, 'action="/login"'),
            ("/settings/api-keys", "/settings/api-keys", {"note": "n" * 300}, 'id="note-error"'),
            (
                "/settings/members",
                "/settings/members",
                {"email": "not-an-email", "role": "member"},
                'id="email-error"',
            ),
            (
                "/settings/invitations",
                "/settings/invitations",
                {"email": "nope", "role": "member"},
                'id="email-error"',
            ),
            (
                "/settings/models",
                "/settings/models",
                {"model_name": "m", "match_pattern": "x", "input_price": "cheap"},
                'id="input_price-error"',
            ),
            (
                "/settings/llm-connections",
                "/settings/llm-connections",
                {**connection, "name": "other", "base_url": "ftp://x"},
                'id="base_url-error"',
            ),
            (
                "/settings/llm-connections/{connection_id}",
                f"/settings/llm-connections/{connection_id}",
                {**connection, "base_url": "ftp://x"},
                'id="base_url-error"',
            ),
            ("/settings/evaluation", "/settings/evaluation", {"cap": "lots"}, 'id="cap-error"'),
            ("/dashboards", "/dashboards", {"name": " "}, 'id="name-error"'),
            (
                "/dashboards/{dashboard_id}/widgets",
                f"/dashboards/{board}/widgets",
                {**widget, "chart": 7.5},
                'id="chart-error"',
            ),
            (
                "/dashboards/{dashboard_id}/widgets/{index}",
                f"/dashboards/{board}/widgets/0",
                {**widget, "view": "NOPE", "chart": "bar"},
                'id="view-error"',
            ),
            (
                "/prompts/new",
                "/prompts/new",
                {"name": "p2", "mode": "text", "text": "t", "config": "{nope", "based_on": "x"},
                'id="config-error"',
            ),
            (
                "/prompt-versions/labels",
                "/prompt-versions/labels",
                {"name": "p1", "version": "one", "labels": "a"},
                'id="form-error"',
            ),
            (
                "/prompt-versions/delete",
                "/prompt-versions/delete",
                {"name": "p1", "version": "one"},
                'id="form-error"',
            ),
            ("/prompt-labels/protected", "/prompt-labels/protected", {"labels": "BAD!"}, 'id="labels-error"'),
            (
                "/playground",
                "/playground",
                {"prompt_type": "chat", "prompt": "{oops", "prompt_version": "x"},
                'id="form-error"',
            ),
            ("/playground/save", "/playground/save", {"msg_kind": "message"}, 'id="form-error"'),
            ("/datasets", "/datasets", {"name": "ds2", "input_schema": "{"}, 'id="input_schema-error"'),
            (
                "/datasets/{dataset_id}/delete",
                f"/datasets/{dataset}/delete",
                {"confirm": 12},
                'id="confirm-error"',
            ),
            (
                "/datasets/{dataset_id}/items/new",
                f"/datasets/{dataset}/items/new",
                {"input": "{nope"},
                'id="input-error"',
            ),
            (
                "/datasets/{dataset_id}/import",
                f"/datasets/{dataset}/import",
                {},
                'id="import-error">Choose a CSV',
            ),
            (
                "/datasets/{dataset_id}/import/{upload_id}",
                f"/datasets/{dataset}/import/none",
                {},
                "upload the file again",
            ),
            (
                "/dataset-items/save",
                "/dataset-items/save",
                {"item_id": item, "metadata": "{nope"},
                'id="metadata-error"',
            ),
            (
                "/dataset-items/status",
                "/dataset-items/status",
                {"item_id": item, "status": "GONE"},
                'id="form-error"',
            ),
            (
                "/dataset-items/delete",
                "/dataset-items/delete",
                {"item_id": item, "confirm": "no"},
                'id="confirm-error"',
            ),
            (
                "/traces/{trace_id}/scores",
                f"/traces/{trace}/scores",
                {"name": "n", "value": "abc", "data_type": "NUMERIC"},
                'id="value-error"',
            ),
            (
                "/traces/{trace_id}/comments",
                f"/traces/{trace}/comments",
                {"content": ""},
                'id="content-error"',
            ),
            (
                "/scores/configs",
                "/scores/configs",
                {"name": "c", "data_type": "NUMERIC", "min_value": "low"},
                'id="min_value-error"',
            ),
            (
                "/evaluation/evaluators/new",
                "/evaluation/evaluators/new",
                {
                    "name": "e",
                    "data_type": "NUMERIC",
                    "max_value": "lots",
                    "msg_role": "user",
                    "msg_content": "hi",
                },
                'id="max_value-error"',
            ),
            (
                "/evaluation/evaluators/{evaluator_id}",
                f"/evaluation/evaluators/{evaluator}",
                {
                    "name": "e",
                    "data_type": "NUMERIC",
                    "min_value": "low",
                    "msg_role": "user",
                    "msg_content": "hi",
                },
                'id="min_value-error"',
            ),
            (
                "/evaluation/evaluators/{evaluator_id}/preview",
                f"/evaluation/evaluators/{evaluator}/preview",
                {},
                "Choose an observation",
            ),
            (
                "/evaluation/rules",
                "/evaluation/rules",
                {"name": "r", "sampling": "most"},
                'id="sampling-error"',
            ),
            (
                "/evaluation/rules/{rule_id}",
                f"/evaluation/rules/{rule}",
                {"name": "r", "delay_seconds": "soon"},
                'id="delay_seconds-error"',
            ),
            (
                "/evaluation/rules/{rule_id}/schedules",
                f"/evaluation/rules/{rule}/schedules",
                {"kind": "daily", "time_of_day": "02:00", "sample_size": "many"},
                'id="sample_size-error"',
            ),
            ("/annotation-queues", "/annotation-queues", {"name": ""}, 'id="name-error"'),
            (
                "/annotation-queues/{queue_id}/edit",
                f"/annotation-queues/{queue}/edit",
                {"name": "", "score_config_id": "nope"},
                'id="name-error"',
            ),
            (
                "/annotation-queues/{queue_id}/delete",
                f"/annotation-queues/{queue}/delete",
                {"confirm": "Wrong"},
                'id="confirm-error"',
            ),
            (
                "/annotation-queues/{queue_id}/assignees",
                f"/annotation-queues/{queue}/assignees",
                {"user_id": "nobody"},
                'id="user_id-error"',
            ),
            (
                "/annotation-queues/{queue_id}/items/assign",
                f"/annotation-queues/{queue}/items/assign",
                {"user_id": "x"},
                'id="item_id-error"',
            ),
            ("/invite/{token}", "/invite/not-a-token", {"name": ["a", "b"]}, "not valid"),
        ]
        # Buttons without typed values, aimed at nothing or posted with a wrong value: no 5xx.
        actions: list[tuple[str, str, dict[str, Any]]] = [
            ("/projects/switch", "/projects/switch", {"project_id": ["x", "y"]}),
            ("/settings/api-keys/revoke", "/settings/api-keys/revoke", {}),
            (
                "/settings/members/{user_id}/remove-project-role",
                "/settings/members/nobody/remove-project-role",
                {},
            ),
            ("/settings/models/{model_id}/delete", "/settings/models/nope/delete", {}),
            ("/settings/llm-connections/{connection_id}/delete", "/settings/llm-connections/nope/delete", {}),
            ("/settings/invitations/{invitation_id}/revoke", "/settings/invitations/nope/revoke", {}),
            (
                "/dashboards/{dashboard_id}/widgets/{index}/{action}",
                f"/dashboards/{board}/widgets/0/sideways",
                {},
            ),
            ("/dashboards/{dashboard_id}/delete", "/dashboards/nope/delete", {}),
            ("/traces/{trace_id}/bookmark", f"/traces/{trace}/bookmark", {"value": ["1", "0"]}),
            ("/traces/{trace_id}/public", "/traces/nope/public", {}),
            ("/traces/{trace_id}/delete", "/traces/nope/delete", {}),
            ("/traces/delete", "/traces/delete", {"object_id": ""}),
            ("/scores/configs/{config_id}/archive", "/scores/configs/nope/archive", {"value": "maybe"}),
            ("/evaluation/evaluators/{evaluator_id}/pause", "/evaluation/evaluators/nope/pause", {}),
            ("/evaluation/evaluators/{evaluator_id}/resume", "/evaluation/evaluators/nope/resume", {}),
            ("/evaluation/evaluators/{evaluator_id}/delete", "/evaluation/evaluators/nope/delete", {}),
            ("/evaluation/executions/{execution_id}/retry", "/evaluation/executions/nope/retry", {}),
            ("/evaluation/rules/{rule_id}/toggle", "/evaluation/rules/nope/toggle", {}),
            ("/evaluation/rules/{rule_id}/delete", "/evaluation/rules/nope/delete", {}),
            (
                "/evaluation/rules/{rule_id}/schedules/{schedule_id}/cancel",
                f"/evaluation/rules/{rule}/schedules/nope/cancel",
                {"next": 3},
            ),
            (
                "/annotation-queues/{queue_id}/assignees/{user_id}/remove",
                f"/annotation-queues/{queue}/assignees/nobody/remove",
                {},
            ),
            (
                "/annotation-queues/{queue_id}/items/{item_id}/delete",
                f"/annotation-queues/{queue}/items/nope/delete",
                {},
            ),
            (
                "/annotation-queues/{queue_id}/items/{item_id}/skip",
                f"/annotation-queues/{queue}/items/nope/skip",
                {},
            ),
            (
                "/annotation-queues/{queue_id}/items/{item_id}/release",
                f"/annotation-queues/{queue}/items/nope/release",
                {},
            ),
            ("/traces/{trace_id}/add-to-dataset", f"/traces/{trace}/add-to-dataset", {"dataset_id": ""}),
            (
                "/annotation-queues/items",
                "/annotation-queues/items",
                {"queue_id": queue, "object_type": "PLANET"},
            ),
            (
                "/annotation-queues/{queue_id}/items/{item_id}/annotate",
                f"/annotation-queues/{queue}/items/{queue_item}/annotate",
                {"score.x": "abc"},
            ),
            ("/playground/inputs", "/playground/inputs", {"msg_kind": "message"}),
            ("/playground/run", "/playground/run", {"temperature": "hot"}),
            ("/logout", "/logout", {}),  # last: it ends the session
        ]
        covered = {route for route, *_ in forms} | {route for route, *_ in actions}
        assert covered == _ui_post_routes(client), "a UI POST route without a case here"

        for route, path, data, shown in forms:
            upload = {"file": (None, "not a file")} if route.endswith("/import") else None
            r = await client.post(path, data={**data, "_csrf_token": token}, files=upload)
            assert r.status_code < 500, (route, r.status_code, r.text[-1500:])
            assert r.headers["content-type"].startswith("text/html"), (route, r.text[:300])
            assert shown in r.text, (route, r.status_code, re.findall(r"-error\"[^>]*>([^<]*)", r.text))
            if route not in ("/login", "/invite/{token}", "/datasets/{dataset_id}/import/{upload_id}"):
                assert 400 <= r.status_code < 500 and "<form" in r.text, (
                    route,
                    r.status_code,
                    re.findall(r"class=\"error\">([^<]*)", r.text),
                )
        for route, path, data in actions:
            r = await client.post(path, data={**data, "_csrf_token": token})
            assert r.status_code < 500, (route, r.status_code, r.text[-1500:])
            if route not in ELSEWHERE and r.status_code >= 400:
                assert "<main" in r.text and "{" not in r.text[:1], (route, r.text[:300])  # a page, not JSON
    finally:
        client.cookies.clear()


async def test_refused_forms_keep_what_was_typed_and_then_accept_a_good_value(
    client: httpx.AsyncClient, storage: Any, project: ProjectFixture
) -> None:
    email, password = await make_user(storage, project, Role.ADMIN)
    await login(client, email, password)
    try:
        token = csrf_token((await client.get("/settings/models")).text)
        typed = {
            "model_name": "acme-1",
            "match_pattern": "(?i)^acme-1$",
            "input_price": "abc",
            "output_price": "2e-6",
        }
        bad = await client.post("/settings/models", data={**typed, "_csrf_token": token})
        assert bad.status_code == 400
        assert 'id="input_price-error">Input price must be a non-negative number' in bad.text
        assert 'aria-invalid="true" aria-describedby="input_price-error" autofocus' in bad.text
        for value in ("acme-1", "(?i)^acme-1$", "abc", "2e-6"):
            assert f'value="{value}"' in bad.text
        no_price = await client.post(
            "/settings/models", data={**typed, "input_price": "", "output_price": "", "_csrf_token": token}
        )
        assert no_price.status_code == 400 and 'id="input_price-error">Give an input price' in no_price.text
        good = await client.post(
            "/settings/models", data={**typed, "input_price": "1e-6", "_csrf_token": token}
        )
        assert good.status_code == 302
        assert "acme-1" in (await client.get("/settings/models")).text

        missing = await client.post("/settings/llm-connections", data={"name": "kept", "_csrf_token": token})
        assert missing.status_code == 400 and 'id="models-error">Models must list' in missing.text
        assert 'value="kept"' in missing.text
        unknown = await client.post(
            "/settings/members", data={"email": "ghost@example.com", "role": "viewer", "_csrf_token": token}
        )
        assert unknown.status_code == 404 and 'id="email-error">No user' in unknown.text
        assert (
            'value="ghost@example.com"' in unknown.text and "<option selected>viewer</option>" in unknown.text
        )
    finally:
        client.cookies.clear()
