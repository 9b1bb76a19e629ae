"""Prompt management over REST and GraphQL: labels, composition, errors, caching, tenancy and roles."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from app.storage import Storage
from app.storage.postgres.tables import Role
from tests.conftest import ProjectFixture, login, make_project, make_user
from tests.integration.reads_data import gql

pytestmark = pytest.mark.integration
API = "/api/public/v2/prompts"


async def create(client: httpx.AsyncClient, p: ProjectFixture, **body: Any) -> httpx.Response:
    return await client.post(API, json=body, auth=p.auth)


async def created(client: httpx.AsyncClient, p: ProjectFixture, **body: Any) -> dict[str, Any]:
    r = await create(client, p, **body)
    assert r.status_code == 201, r.text
    return r.json()


def path(name: str) -> str:
    from urllib.parse import quote

    return f"{API}/{quote(name, safe='')}"


async def test_labels_move_latest_follows_the_newest_and_tags_apply_to_all_versions(
    client: httpx.AsyncClient, project: ProjectFixture
) -> None:
    v1 = await created(client, project, name="greet", prompt="Hi {{n}}", labels=["production"], tags=["a"])
    assert (v1["version"], v1["labels"], v1["tags"], v1["config"]) == (1, ["latest", "production"], ["a"], {})
    v2 = await created(client, project, name="greet", prompt="Hello {{n}}", labels=["production", "beta"])
    assert (v2["version"], v2["labels"], v2["tags"]) == (2, ["beta", "latest", "production"], ["a"])
    r = await client.get(path("greet"), params={"version": 1}, auth=project.auth)
    assert r.json()["labels"] == []
    v3 = await created(client, project, name="greet", prompt="Yo", tags=["b", "c"])
    assert (v3["labels"], v3["tags"]) == (["latest"], ["b", "c"])
    r = await client.get(path("greet"), auth=project.auth)  # default: production
    assert (r.json()["version"], r.json()["tags"]) == (2, ["b", "c"])
    r = await client.patch(
        f"{path('greet')}/versions/1", json={"newLabels": ["production"]}, auth=project.auth
    )
    assert r.status_code == 200 and r.json()["labels"] == ["production"]
    assert (await client.get(path("greet"), auth=project.auth)).json()["version"] == 1  # cache invalidated
    assert (await client.get(path("greet"), params={"label": "beta"}, auth=project.auth)).json()[
        "version"
    ] == 2
    r = await client.patch(f"{path('greet')}/versions/1", json={"newLabels": ["latest"]}, auth=project.auth)
    assert r.status_code == 400 and "newLabels" in r.json()["message"] and "latest" in r.json()["message"]
    r = await client.get(path("greet"), params={"label": "latest"}, auth=project.auth)
    assert r.json()["version"] == 3


async def test_bad_input_gets_a_400_naming_the_field(
    client: httpx.AsyncClient, project: ProjectFixture
) -> None:
    await created(client, project, name="typed", prompt="text")
    cases = [
        ({"name": "typed", "type": "chat", "prompt": [{"role": "user", "content": "x"}]}, "type"),
        ({"name": "p", "prompt": "x", "labels": ["Not Valid"]}, "labels"),
        ({"name": "p", "prompt": "x", "labels": ["a" * 37]}, "labels"),
        ({"name": "a|b", "prompt": "x"}, "name"),
        ({"name": "x" * 256, "prompt": "x"}, "name"),
        ({"name": "p", "prompt": 3}, "prompt"),
        ({"name": "p", "type": "chat", "prompt": [{"role": "user"}]}, "prompt[0].content"),
        ({"name": "p", "prompt": "x", "config": [1]}, "config"),
        ({"name": "p", "prompt": "x", "tags": "t"}, "tags"),
    ]
    for body, field in cases:
        r = await create(client, project, **body)
        assert r.status_code == 400, body
        assert r.json()["error"] == "invalid_input" and field in r.json()["message"], r.json()
    r = await client.get(path("typed"), params={"version": 1, "label": "x"}, auth=project.auth)
    assert r.status_code == 400
    r = await client.patch(f"{path('typed')}/versions/1", json={"labels": []}, auth=project.auth)
    assert r.status_code == 400 and "newLabels" in r.json()["message"]
    assert (await client.get(path("typed"), params={"version": 1}, auth=project.auth)).status_code == 200


async def test_a_version_beyond_32_bits_is_a_400_not_a_500(
    client: httpx.AsyncClient, project: ProjectFixture
) -> None:
    await created(client, project, name="big", prompt="text")
    huge = 2013936703047
    for r in (
        await client.get(path("big"), params={"version": huge}, auth=project.auth),
        await client.delete(path("big"), params={"version": huge}, auth=project.auth),
        await client.patch(f"{path('big')}/versions/{huge}", json={"newLabels": ["x"]}, auth=project.auth),
    ):
        assert r.status_code == 400 and "version" in r.json()["message"], r.text
    # A reference naming such a version is no reference: stored as text, not looked up.
    r = await create(client, project, name="refers", prompt=f"@@@langfusePrompt:name=big|version={huge}@@@")
    assert r.status_code == 201, r.text


async def test_unknown_prompt_is_a_404_with_the_langfuse_message(
    client: httpx.AsyncClient, project: ProjectFixture
) -> None:
    r = await client.get(path("nope"), auth=project.auth)
    assert r.status_code == 404
    assert r.json() == {"message": "Prompt not found: 'nope' with label 'production'", "error": "not_found"}
    await created(client, project, name="exists", prompt="x")  # no production label
    r = await client.get(path("exists"), auth=project.auth)
    assert r.status_code == 404
    r = await client.get(path("exists"), params={"version": 9}, auth=project.auth)
    assert r.status_code == 404 and r.json()["message"] == "Prompt not found: 'exists' with version 9"


async def test_names_with_folders_work_in_every_route(
    client: httpx.AsyncClient, project: ProjectFixture
) -> None:
    name = "team/support/triage"
    await created(client, project, name=name, prompt="one", labels=["production"])
    await created(client, project, name=name, prompt="two")
    assert (await client.get(path(name), auth=project.auth)).json()["name"] == name
    r = await client.patch(f"{path(name)}/versions/2", json={"newLabels": ["production"]}, auth=project.auth)
    assert r.status_code == 200 and r.json()["version"] == 2
    listed = (await client.get(API, params={"name": name}, auth=project.auth)).json()
    assert [d["name"] for d in listed["data"]] == [name] and listed["data"][0]["versions"] == [1, 2]
    r = await client.delete(path(name), params={"version": 1}, auth=project.auth)
    assert r.status_code == 204
    r = await client.delete(path(name), auth=project.auth)
    assert r.status_code == 204
    assert (await client.get(path(name), params={"version": 2}, auth=project.auth)).status_code == 404


async def test_list_filters_and_pages(client: httpx.AsyncClient, project: ProjectFixture) -> None:
    for i in range(3):
        await created(client, project, name=f"p{i}", prompt="x", tags=["even"] if i % 2 == 0 else ["odd"])
    await created(client, project, name="p1", prompt="y", labels=["production"], config={"t": 1})
    r = await client.get(API, params={"limit": 2, "page": 1}, auth=project.auth)
    body = r.json()
    assert body["meta"] == {"page": 1, "limit": 2, "totalItems": 3, "totalPages": 2}
    assert [d["name"] for d in body["data"]] == ["p0", "p1"]
    p1 = body["data"][1]
    assert (p1["versions"], p1["labels"], p1["lastConfig"], p1["type"]) == (
        [1, 2],
        ["latest", "production"],
        {"t": 1},
        "text",
    )
    page2 = (await client.get(API, params={"limit": 2, "page": 2}, auth=project.auth)).json()
    assert [d["name"] for d in page2["data"]] == ["p2"]
    tagged = (await client.get(API, params={"tag": "even"}, auth=project.auth)).json()
    assert [d["name"] for d in tagged["data"]] == ["p0", "p2"]
    labelled = (await client.get(API, params={"label": "production"}, auth=project.auth)).json()
    assert [(d["name"], d["versions"]) for d in labelled["data"]] == [("p1", [2])]
    later = (
        await client.get(API, params={"fromUpdatedAt": "2299-01-01T00:00:00Z"}, auth=project.auth)
    ).json()
    assert later["data"] == [] and later["meta"]["totalItems"] == 0
    r = await client.get(API, params={"limit": 1000}, auth=project.auth)
    assert r.status_code == 400


async def test_composed_prompts_resolve_recursively_with_a_graph(
    client: httpx.AsyncClient, project: ProjectFixture
) -> None:
    base = await created(client, project, name="base", prompt="Be kind.", labels=["production"])
    mid = await created(
        client, project, name="mid", prompt="@@@langfusePrompt:name=base|label=production@@@ Be brief."
    )
    top = await created(
        client,
        project,
        name="top",
        type="chat",
        prompt=[
            {"role": "system", "content": "@@@langfusePrompt:name=mid|version=1@@@ Use {{lang}}."},
            {"type": "placeholder", "name": "history"},
        ],
        labels=["production"],
    )
    r = (await client.get(path("top"), auth=project.auth)).json()
    assert r["prompt"] == [
        {"role": "system", "content": "Be kind. Be brief. Use {{lang}}."},
        {"type": "placeholder", "name": "history"},
    ]
    assert r["resolutionGraph"] == {
        "root": {"id": top["id"], "name": "top", "version": 1},
        "dependencies": {
            top["id"]: [{"id": mid["id"], "name": "mid", "version": 1}],
            mid["id"]: [{"id": base["id"], "name": "base", "version": 1}],
        },
    }
    raw = (await client.get(path("top"), params={"resolve": "false"}, auth=project.auth)).json()
    assert raw["prompt"][0]["content"].startswith("@@@langfusePrompt:name=mid|version=1@@@")
    assert raw["resolutionGraph"] is None
    # A new production version of a prompt it inlines shows in the next read (cache invalidated).
    await created(client, project, name="base", prompt="Be very kind.", labels=["production"])
    r = (await client.get(path("top"), auth=project.auth)).json()
    assert r["prompt"][0]["content"] == "Be very kind. Be brief. Use {{lang}}."
    # Deleting what another prompt references is refused, naming the dependant.
    r = await client.delete(path("mid"), params={"version": 1}, auth=project.auth)
    assert r.status_code == 400 and "'top' version 1 depends on 'mid'" in r.json()["message"]
    r = await client.delete(path("base"), params={"label": "production"}, auth=project.auth)
    assert r.status_code == 400 and "'mid' version 1" in r.json()["message"]
    assert (await client.delete(path("base"), params={"version": 1}, auth=project.auth)).status_code == 204


async def test_cycles_missing_dependencies_and_deep_nesting_are_refused(
    client: httpx.AsyncClient, project: ProjectFixture
) -> None:
    await created(client, project, name="a", prompt="A", labels=["production"])
    await created(client, project, name="b", prompt="B @@@langfusePrompt:name=a|label=production@@@")
    r = await create(client, project, name="a", prompt="@@@langfusePrompt:name=b|version=1@@@")
    assert r.status_code == 400 and r.json()["message"] == "circular prompt dependency: a -> b -> a"
    await created(client, project, name="self", prompt="S")
    r = await create(client, project, name="self", prompt="@@@langfusePrompt:name=self|version=1@@@")
    assert r.status_code == 400 and r.json()["message"] == "circular prompt dependency: self -> self"
    r = await create(client, project, name="c", prompt="@@@langfusePrompt:name=ghost|label=production@@@")
    assert r.status_code == 400
    assert r.json()["message"] == (
        "prompt dependency not found: name=ghost|label=production (referenced by the new version of 'c')"
    )
    await created(client, project, name="chatty", type="chat", prompt=[{"role": "user", "content": "x"}])
    r = await create(client, project, name="d", prompt="@@@langfusePrompt:name=chatty|version=1@@@")
    assert r.status_code == 400 and "only text prompts" in r.json()["message"]
    await created(client, project, name="n0", prompt="leaf")
    for i in range(1, 5):
        await created(client, project, name=f"n{i}", prompt=f"@@@langfusePrompt:name=n{i - 1}|version=1@@@")
    r = await create(client, project, name="n5", prompt="@@@langfusePrompt:name=n4|version=1@@@")
    assert r.status_code == 400 and "deeper than 5" in r.json()["message"]
    assert (await client.get(path("n4"), params={"version": 1}, auth=project.auth)).json()["prompt"] == "leaf"
    assert (await client.get(path("a"), params={"version": 2}, auth=project.auth)).status_code == 404


async def test_concurrent_creates_get_distinct_versions(
    client: httpx.AsyncClient, project: ProjectFixture
) -> None:
    results = await asyncio.gather(*(create(client, project, name="race", prompt=f"v{i}") for i in range(8)))
    assert all(r.status_code == 201 for r in results)
    assert sorted(r.json()["version"] for r in results) == list(range(1, 9))
    latest = (await client.get(path("race"), params={"label": "latest"}, auth=project.auth)).json()
    assert latest["version"] == 8
    listed = (await client.get(API, params={"label": "latest"}, auth=project.auth)).json()
    assert listed["data"][0]["versions"] == [8]


async def test_projects_do_not_see_each_others_prompts(
    client: httpx.AsyncClient, storage: Storage, project: ProjectFixture
) -> None:
    other = await make_project(storage)
    await created(client, project, name="secret", prompt="mine", labels=["production"])
    await created(client, other, name="shared-name", prompt="theirs", labels=["production"])
    assert (await client.get(path("secret"), auth=other.auth)).status_code == 404
    assert [d["name"] for d in (await client.get(API, auth=other.auth)).json()["data"]] == ["shared-name"]
    r = await client.patch(f"{path('secret')}/versions/1", json={"newLabels": ["x"]}, auth=other.auth)
    assert r.status_code == 404
    assert (await client.delete(path("secret"), auth=other.auth)).status_code == 404
    r = await create(client, other, name="leak", prompt="@@@langfusePrompt:name=secret|version=1@@@")
    assert r.status_code == 400
    data = await gql(client, other, '{ prompt(name: "secret") { name } prompts { edges { node { name } } } }')
    assert data["prompt"] is None and [e["node"]["name"] for e in data["prompts"]["edges"]] == ["shared-name"]


PROMPT_QUERY = """
query($name: String!, $label: String) {
  prompt(name: $name, label: $label) {
    name type tags labels
    selected { version labels }
    versions { version labels commitMessage createdBy config prompt resolvedPrompt
               dependencies { name version label } }
  }
}"""


async def test_graphql_lists_reads_diffs_and_changes_prompts(
    client: httpx.AsyncClient, project: ProjectFixture
) -> None:
    await created(client, project, name="folder/one", prompt="x")
    await created(client, project, name="folder/two", prompt="y", tags=["t"])
    await created(client, project, name="zeta", prompt="z")
    create = """mutation($input: CreatePromptVersionInput!) {
      createPromptVersion(input: $input) { promptVersion { version labels createdBy } } }"""
    v = {"name": "chat", "type": "CHAT", "prompt": [{"role": "system", "content": "Be {{tone}}."}]}
    out = await gql(
        client, project, create, {"input": {**v, "labels": ["production"], "commitMessage": "c1"}}
    )
    assert out["createPromptVersion"]["promptVersion"] == {
        "version": 1,
        "labels": ["latest", "production"],
        "createdBy": project.public_key,
    }
    v2 = {
        "name": "chat",
        "type": "CHAT",
        "config": {"temperature": 0.5},
        "prompt": [
            {"role": "system", "content": "Be {{tone}}.\n@@@langfusePrompt:name=zeta|version=1@@@"},
            {"type": "placeholder", "name": "history"},
        ],
    }
    await gql(client, project, create, {"input": v2})
    page = await gql(
        client,
        project,
        '{ prompts(first: 2, filter: {nameContains: "folder/"}) { '
        "edges { node { name versions tags } } pageInfo { hasNextPage endCursor } } }",
    )
    conn = page["prompts"]
    assert [e["node"]["name"] for e in conn["edges"]] == ["folder/one", "folder/two"]
    assert conn["pageInfo"]["hasNextPage"] is False
    first = await gql(client, project, "{ prompts(first: 2) { pageInfo { hasNextPage endCursor } } }")
    after = first["prompts"]["pageInfo"]["endCursor"]
    rest = await gql(
        client,
        project,
        "query($a: String) { prompts(first: 2, after: $a) { edges { node { name } } } }",
        {"a": after},
    )
    assert [e["node"]["name"] for e in rest["prompts"]["edges"]] == ["folder/two", "zeta"]
    one = (await gql(client, project, PROMPT_QUERY, {"name": "chat", "label": "production"}))["prompt"]
    assert (one["type"], one["selected"]["version"], one["labels"]) == ("CHAT", 1, ["latest", "production"])
    newest, oldest = one["versions"]
    assert newest["resolvedPrompt"][0]["content"] == "Be {{tone}}.\nz"
    assert newest["dependencies"] == [{"name": "zeta", "version": 1, "label": None}]
    assert (oldest["commitMessage"], oldest["dependencies"], newest["config"]) == (
        "c1",
        [],
        {"temperature": 0.5},
    )
    diff = (
        await gql(
            client,
            project,
            '{ promptDiff(name: "chat", fromVersion: 1, toVersion: 2) { prompt config changed } }',
        )
    )["promptDiff"]
    assert diff["changed"] is True
    assert "+@@@langfusePrompt:name=zeta|version=1@@@" not in diff["prompt"]
    assert "+  @@@langfusePrompt:name=zeta|version=1@@@" in diff["prompt"]
    assert "+[placeholder] history" in diff["prompt"]
    assert '+  "temperature": 0.5' in diff["config"]
    labels = """mutation($input: SetPromptLabelsInput!) {
      setPromptLabels(input: $input) { promptVersion { version labels } } }"""
    out = await gql(
        client, project, labels, {"input": {"name": "chat", "version": 2, "labels": ["production"]}}
    )
    assert out["setPromptLabels"]["promptVersion"] == {"version": 2, "labels": ["latest", "production"]}
    out = await gql(client, project, labels, {"input": {"name": "chat", "version": 2, "labels": []}})
    assert out["setPromptLabels"]["promptVersion"]["labels"] == ["latest"]
    delete = 'mutation { deletePromptVersion(input: {name: "chat", version: 2}) { name version } }'
    assert (await gql(client, project, delete))["deletePromptVersion"] == {"name": "chat", "version": 2}
    one = (await gql(client, project, PROMPT_QUERY, {"name": "chat"}))["prompt"]
    assert [(v["version"], v["labels"]) for v in one["versions"]] == [(1, ["latest"])]


async def _as_user(client: httpx.AsyncClient, storage: Storage, project: ProjectFixture, role: Role) -> None:
    await login(client, *(await make_user(storage, project, role)))


async def _gql_session(client: httpx.AsyncClient, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    r = await client.post("/api/graphql", json={"query": query, "variables": variables})
    assert r.status_code == 200, r.text
    return r.json()


SET_LABELS = """mutation($v: Int!, $labels: [String!]!) {
  setPromptLabels(input: {name: "guarded", version: $v, labels: $labels}) { promptVersion { labels } } }"""
PROTECT = """mutation($labels: [String!]!) {
  setProtectedPromptLabels(input: {labels: $labels}) { labels } }"""


async def test_protected_labels_need_an_admin_or_an_api_key(
    client: httpx.AsyncClient, storage: Storage, project: ProjectFixture
) -> None:
    await created(client, project, name="guarded", prompt="one", labels=["production"])
    await created(client, project, name="guarded", prompt="two")
    try:
        await _as_user(client, storage, project, Role.MEMBER)
        out = await _gql_session(client, PROTECT, {"labels": ["production"]})
        assert out["errors"][0]["message"].startswith("this action needs the admin role")
        await _as_user(client, storage, project, Role.ADMIN)
        out = await _gql_session(client, PROTECT, {"labels": ["production", "latest"]})
        assert "latest" in out["errors"][0]["message"]
        out = await _gql_session(client, PROTECT, {"labels": ["production"]})
        assert out["data"]["setProtectedPromptLabels"]["labels"] == ["production"]
        await _as_user(client, storage, project, Role.MEMBER)
        out = await _gql_session(client, SET_LABELS, {"v": 2, "labels": ["production"]})
        assert out["errors"][0]["message"] == (
            "label 'production' is protected: only admins and owners may set, move or remove it"
        )
        out = await _gql_session(client, SET_LABELS, {"v": 1, "labels": []})
        assert "protected" in out["errors"][0]["message"]
        out = await _gql_session(client, SET_LABELS, {"v": 2, "labels": ["staging"]})
        assert out["data"]["setPromptLabels"]["promptVersion"]["labels"] == ["latest", "staging"]
        delete = 'mutation { deletePromptVersion(input: {name: "guarded", version: 1}) { version } }'
        assert "protected" in (await _gql_session(client, delete, {}))["errors"][0]["message"]
        await _as_user(client, storage, project, Role.VIEWER)
        out = await _gql_session(client, SET_LABELS, {"v": 2, "labels": ["other"]})
        assert out["errors"][0]["message"].startswith("this action needs the member role")
        await _as_user(client, storage, project, Role.ADMIN)
        out = await _gql_session(client, SET_LABELS, {"v": 2, "labels": ["production"]})
        assert out["data"]["setPromptLabels"]["promptVersion"]["labels"] == ["latest", "production"]
    finally:
        client.cookies.clear()
    # API keys may move protected labels (as in Langfuse: CI pipelines promote prompts).
    r = await client.patch(
        f"{path('guarded')}/versions/1", json={"newLabels": ["production"]}, auth=project.auth
    )
    assert r.status_code == 200 and r.json()["labels"] == ["production"]
    protected = await gql(client, project, "{ protectedPromptLabels }")
    assert protected["protectedPromptLabels"] == ["production"]
