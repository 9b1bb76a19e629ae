"""Dataset pages over the real stores: the list (create with schemas, delete with confirmation), items
(search, status filter, pages, add and edit with inline errors that keep what was typed, archive,
delete, history, the dataset as of a version), import with progress until done, exports, "add to
dataset" from a trace and an observation, roles and CSRF."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from app.evaluation import datasets
from app.storage import Storage
from app.storage.postgres.tables import Role
from tests.conftest import ProjectFixture, csrf_token, jobs_done, login, make_user, wait_for

pytestmark = [pytest.mark.integration]


async def as_role(client: httpx.AsyncClient, storage: Storage, p: ProjectFixture, role: Role) -> None:
    email, password = await make_user(storage, p, role)
    await login(client, email, password)


@pytest.fixture
async def member(client, storage, project: ProjectFixture):  # type: ignore[no-untyped-def]
    await as_role(client, storage, project, Role.MEMBER)
    yield
    client.cookies.clear()  # the client is shared by the session's tests


async def token(client: httpx.AsyncClient, path: str = "/datasets") -> str:
    return csrf_token((await client.get(path)).text)


async def create_dataset(client: httpx.AsyncClient, name: str, **fields: str) -> str:
    r = await client.post("/datasets", data={"_csrf_token": await token(client), "name": name, **fields})
    assert r.status_code == 302, r.text
    return r.headers["location"].rsplit("/", 1)[1]


async def add_item(client: httpx.AsyncClient, dataset_id: str, **fields: str) -> str:
    path = f"/datasets/{dataset_id}/items/new"
    r = await client.post(path, data={"_csrf_token": await token(client, path), **fields})
    assert r.status_code == 302, r.text
    return r.headers["location"].rsplit("/", 1)[1]


def item_ids(html: str) -> list[str]:
    table = html.split('<table class="items">', 1)[1].split("</table>", 1)[0]
    return re.findall(r'<a href="/dataset-items/([^"]+)">', table)


@pytest.mark.usefixtures("member")
async def test_create_list_and_delete_a_dataset_with_confirmation(client, storage, project) -> None:
    empty = await client.get("/datasets")
    assert (
        empty.status_code == 200
        and "No datasets yet" in empty.text
        and re.search(r'href="/datasets"[^>]*>Datasets</a>', empty.text)
    )
    schema = '{"type": "object", "required": ["question"]}'
    dataset_id = await create_dataset(client, "qa/v1", description="Questions", input_schema=schema)
    stored = await datasets.fetch_dataset(storage, project.project_id, dataset_id=dataset_id)
    assert stored and stored.name == "qa/v1" and stored.input_schema == json.loads(schema)
    await add_item(client, dataset_id, input='{"question": "a"}')
    listed = await client.get("/datasets")
    row = re.search(rf'<a href="/datasets/{dataset_id}">qa/v1</a>.*?</tr>', listed.text, re.S)
    assert row and "<td>Questions</td>" in row[0] and "<td>1</td>" in row[0]

    # A bad schema and a duplicate name come back beside their fields with what was typed.
    t = await token(client)
    bad = await client.post(
        "/datasets", data={"_csrf_token": t, "name": "qa/v1", "expected_output_schema": '{"type": 12'}
    )
    assert bad.status_code == 400
    assert 'id="name-error">a dataset named &#39;qa/v1&#39; exists already' in bad.text
    assert (
        'id="expected_output_schema-error">not JSON' in bad.text
        and "{&#34;type&#34;: 12</textarea>" in bad.text
    )
    invalid = await client.post(
        "/datasets", data={"_csrf_token": t, "name": "x", "input_schema": '{"type": 5}'}
    )
    assert (
        invalid.status_code == 400
        and 'id="input_schema-error">input_schema is not a valid JSON Schema' in invalid.text
    )

    wrong = await client.post(f"/datasets/{dataset_id}/delete", data={"_csrf_token": t, "confirm": "qa"})
    assert wrong.status_code == 400 and 'id="confirm-error">Type the dataset&#39;s name' in wrong.text
    assert 'value="qa"' in wrong.text and '<details class="card danger-zone" open>' in wrong.text
    assert await datasets.fetch_dataset(storage, project.project_id, dataset_id=dataset_id)
    r = await client.post(f"/datasets/{dataset_id}/delete", data={"_csrf_token": t, "confirm": "qa/v1"})
    assert r.status_code == 302 and r.headers["location"] == "/datasets"
    assert await datasets.fetch_dataset(storage, project.project_id, dataset_id=dataset_id) is None
    assert (await client.get(f"/datasets/{dataset_id}")).status_code == 404


@pytest.mark.usefixtures("member")
async def test_items_are_added_edited_with_inline_errors_archived_deleted_and_versioned(
    client, storage, project
) -> None:
    dataset_id = await create_dataset(
        client, "edits", expected_output_schema='{"type": "object", "properties": {"n": {"type": "integer"}}}'
    )
    form = await client.get(f"/datasets/{dataset_id}/items/new")
    assert form.status_code == 200 and 'name="expected_output"' in form.text
    t = csrf_token(form.text)
    # Input that is not JSON: the error sits beside the input; everything typed is kept.
    bad = await client.post(
        f"/datasets/{dataset_id}/items/new",
        data={"_csrf_token": t, "input": "{question: 1}", "expected_output": '{"n": 1}', "metadata": '["m"]'},
    )
    assert bad.status_code == 400
    assert re.search(r'id="field-input"[^>]*aria-invalid="true"[^>]*>\{question: 1\}</textarea>', bad.text)
    assert 'id="input-error">not JSON' in bad.text and "expected_output-error" not in bad.text
    assert "{&#34;n&#34;: 1}</textarea>" in bad.text and "[&#34;m&#34;]</textarea>" in bad.text
    # A value the schema refuses: the error names the JSON path, beside expected output.
    schema_bad = await client.post(
        f"/datasets/{dataset_id}/items/new",
        data={"_csrf_token": t, "input": '"q"', "expected_output": '{"n": "one"}'},
    )
    assert (
        schema_bad.status_code == 400 and 'id="expected_output-error">expected_output.n: ' in schema_bad.text
    )

    item_id = await add_item(client, dataset_id, input='{"question": "2+2?"}', expected_output='{"n": 4}')
    page = await client.get(f"/dataset-items/{item_id}")
    assert page.status_code == 200 and "&#34;question&#34;: &#34;2+2?&#34;" in page.text
    t = csrf_token(page.text)
    kept = await client.post(
        "/dataset-items/save",
        data={"_csrf_token": t, "item_id": item_id, "input": '{"question": ', "expected_output": ""},
    )
    assert kept.status_code == 400 and 'id="input-error">not JSON' in kept.text
    assert '>{"question": </textarea>' in kept.text.replace("&#34;", '"')
    r = await client.post(
        "/dataset-items/save",
        data={
            "_csrf_token": t,
            "item_id": item_id,
            "input": '{"question": "3+3?"}',
            "expected_output": '{"n": 6}',
        },
    )
    assert r.status_code == 302
    current = await datasets.fetch_item(storage, project.project_id, item_id)
    assert current and current.input == {"question": "3+3?"} and current.expected_output == {"n": 6}

    r = await client.post(
        "/dataset-items/status", data={"_csrf_token": t, "item_id": item_id, "status": "ARCHIVED"}
    )
    assert r.status_code == 302
    archived = await client.get(f"/dataset-items/{item_id}")
    assert 'id="item-status">archived' in archived.text and ">Unarchive</button>" in archived.text
    active_list = await client.get(f"/datasets/{dataset_id}")
    assert item_ids(active_list.text) == []
    assert item_ids((await client.get(f"/datasets/{dataset_id}", params={"status": "archived"})).text) == [
        item_id
    ]
    assert (await client.get(f"/datasets/{dataset_id}", params={"status": "nope"})).status_code == 400

    unconfirmed = await client.post("/dataset-items/delete", data={"_csrf_token": t, "item_id": item_id})
    assert unconfirmed.status_code == 400
    r = await client.post(
        "/dataset-items/delete", data={"_csrf_token": t, "item_id": item_id, "confirm": "yes"}
    )
    assert r.status_code == 302 and r.headers["location"] == f"/datasets/{dataset_id}"

    # History: every version, newest first, the tombstone shown as deleted; each links to the dataset then.
    history = await client.get(f"/dataset-items/{item_id}")
    assert history.status_code == 200 and "This item was deleted" in history.text
    rows = re.findall(r"<tr( class=\"deleted\")?>\s*<td>([^<]+)</td>\s*<td>(.*?)</td>", history.text, re.S)
    assert [("deleted" in status, bool(cls)) for cls, _, status in rows] == [
        (True, True),
        (False, False),
        (False, False),
        (False, False),
    ]
    versions = re.findall(r'href="/datasets/[^"?]+\?version=([^"&]+)&amp;status=all"', history.text)
    assert len(versions) == 4
    from urllib.parse import unquote

    first = await client.get(
        f"/datasets/{dataset_id}", params={"version": unquote(versions[-1]), "status": "all"}
    )
    assert first.status_code == 200 and 'id="as-of"' in first.text and item_ids(first.text) == [item_id]
    assert "2+2?" in first.text and "3+3?" not in first.text and 'id="new-item"' not in first.text
    gone = await client.get(
        f"/datasets/{dataset_id}", params={"version": datetime.now(UTC).isoformat(), "status": "all"}
    )
    assert item_ids(gone.text) == []
    assert (await client.get(f"/datasets/{dataset_id}", params={"version": "yesterday"})).status_code == 400
    assert (await client.get("/dataset-items/no-such-item")).status_code == 404


@pytest.mark.usefixtures("member")
async def test_items_search_and_pages(client, storage, project) -> None:
    dataset_id = await create_dataset(client, "paged")
    specs = [
        datasets.ItemSpec(
            "paged", input={"q": f"question {i:02d}"}, expected_output="apple" if i == 7 else "x"
        )
        for i in range(55)
    ]
    await datasets.add_items(storage, project.project_id, "paged", specs)
    first = await client.get(f"/datasets/{dataset_id}")
    assert len(item_ids(first.text)) == 50 and "page 1 of 2" in first.text and "55 items" in first.text
    second = await client.get(f"/datasets/{dataset_id}", params={"page": 2})
    assert len(item_ids(second.text)) == 5 and 'rel="prev"' in second.text
    found = await client.get(f"/datasets/{dataset_id}", params={"search": "apple"})
    assert len(item_ids(found.text)) == 1 and "1 item ·" in found.text
    assert (await client.get(f"/datasets/{dataset_id}", params={"page": "x"})).status_code == 400
    # An item id with '/' and a space has its page too.
    odd = await datasets.upsert_item(
        storage, project.project_id, datasets.ItemSpec("paged", id="a/b c", input="odd")
    )
    listed = await client.get(f"/datasets/{dataset_id}", params={"search": "odd"})
    assert item_ids(listed.text) == ["a/b%20c"] and odd.id == "a/b c"
    for path in ("/dataset-items/a/b%20c", "/dataset-items/a%2Fb%20c"):
        page = await client.get(path)
        assert page.status_code == 200 and "Item <code>a/b c</code>" in page.text, path


async def import_csv(client: httpx.AsyncClient, dataset_id: str, text: str, **mapping: list[str]) -> str:
    """Upload, map and start an import; returns the status page's path."""
    t = await token(client, f"/datasets/{dataset_id}/import")
    up = await client.post(
        f"/datasets/{dataset_id}/import",
        data={"_csrf_token": t},
        files={"file": ("items.csv", text.encode(), "text/csv")},
    )
    assert up.status_code == 200, up.text
    action = re.search(r'action="(/datasets/[^"]+/import/[^"]+)" id="mapping-form"', up.text)
    assert action
    r = await client.post(action[1], data={"_csrf_token": t, **mapping})
    assert r.status_code == 302, r.text
    return str(r.headers["location"])


@pytest.mark.usefixtures("member")
async def test_import_maps_columns_shows_progress_until_done_and_reports_bad_rows(
    client, storage, project
) -> None:
    dataset_id = await create_dataset(client, "imported")
    text = (
        "question,answer,topic,level\n"
        'What is 2+2?,4,math,"{""grade"": 1}"\n'
        ",5,empty,\n"  # no input: a bad row (line 3)
        "too,many,cells,here,x\n" + "".join(f"q{i},a{i},t,\n" for i in range(300))  # line 4
    )
    t = await token(client, f"/datasets/{dataset_id}/import")
    up = await client.post(
        f"/datasets/{dataset_id}/import",
        data={"_csrf_token": t},
        files={"file": ("items.csv", text.encode(), "text/csv")},
    )
    # The mapping step: the detected columns, a preview of the first rows, a first guess ticked.
    assert up.status_code == 200 and "<code>question</code>" in up.text and "<code>level</code>" in up.text
    assert '<td class="io">What is 2+2?</td>' in up.text
    assert re.search(r'name="input" value="question" checked', up.text)
    assert re.search(r'name="expected_output" value="answer" checked', up.text)
    action = re.search(r'action="(/datasets/[^"]+/import/[^"]+)" id="mapping-form"', up.text)
    assert action
    no_input = await client.post(action[1], data={"_csrf_token": t, "expected_output": "answer"})
    assert no_input.status_code == 400 and "input needs at least one column" in no_input.text
    r = await client.post(
        action[1],
        data={
            "_csrf_token": t,
            "input": "question",
            "expected_output": "answer",
            "metadata": ["topic", "level"],
        },
    )
    assert r.status_code == 302
    status_path = r.headers["location"]
    status = await client.get(status_path)
    assert status.status_code == 200 and 'id="import-bar"' in status.text and "htmx.min.js" in status.text

    async def done() -> str | None:
        frag = await client.get(status_path + "/progress")
        assert frag.status_code == 200 and "<html" not in frag.text
        return frag.text if 'data-state="done"' in frag.text else None

    summary = await wait_for(done, timeout_s=60)
    assert "hx-get" not in summary  # polling stops once done
    assert (
        '<strong id="imported-count">301</strong>' in summary
        and '<strong id="bad-count">2</strong>' in summary
    )
    assert "<tr><td>3</td><td>input is empty (column question)</td></tr>" in summary
    assert "<tr><td>4</td><td>5 cells where the header has 4</td></tr>" in summary
    items, total = await datasets.list_items_page(
        storage, project.project_id, datasets.ItemQuery(dataset_id, search="What is 2+2?"), 1, 10
    )
    assert (
        total == 1
        and items[0].expected_output == "4"
        and items[0].metadata == {"topic": "math", "level": {"grade": 1}}
    )
    assert (await datasets.item_counts(storage, project.project_id, [dataset_id]))[dataset_id] == 301
    # The upload is used up; an unknown import is a 404.
    assert (await client.post(action[1], data={"_csrf_token": t, "input": "question"})).status_code == 404
    assert (await client.get(f"/datasets/{dataset_id}/imports/nope/progress")).status_code == 404
    wrong = await client.post(
        f"/datasets/{dataset_id}/import",
        data={"_csrf_token": t},
        files={"file": ("items.xlsx", b"x", "text/plain")},
    )
    assert wrong.status_code == 400 and "file must be a .csv or .jsonl file" in wrong.text
    # A staged upload never imported is removed after a day, when the next file is staged.
    import os
    import tempfile
    from pathlib import Path

    stale = Path(tempfile.gettempdir()) / "langhouse-imports" / "abandoned.csv"
    stale.write_text("input\nx\n")
    os.utime(stale, (0, 0))
    # Uploads may exceed the app's request limit (5 MB) up to 50 MB.
    big = b"input\n" + b"x" * 100 + b"\n" + b"y" * 6_000_000 + b"\n"
    staged = await client.post(
        f"/datasets/{dataset_id}/import",
        data={"_csrf_token": t},
        files={"file": ("big.csv", big, "text/csv")},
    )
    assert staged.status_code == 200 and 'id="mapping-form"' in staged.text
    assert not stale.exists()


@pytest.mark.usefixtures("member")
async def test_a_jsonl_import_keeps_json_values(client, storage, project) -> None:
    dataset_id = await create_dataset(client, "jsonl")
    lines = [
        {"question": {"text": "hi", "lang": "en"}, "answer": ["hello"], "tags": {"k": 1}},
        "not an object",
        {"question": "plain", "answer": None},
    ]
    body = "\n".join(json.dumps(x) if isinstance(x, dict) else x for x in lines) + "\n"
    t = await token(client, f"/datasets/{dataset_id}/import")
    up = await client.post(
        f"/datasets/{dataset_id}/import",
        data={"_csrf_token": t},
        files={"file": ("rows.jsonl", body.encode(), "application/x-ndjson")},
    )
    assert up.status_code == 200 and "<code>tags</code>" in up.text
    action = re.search(r'action="(/datasets/[^"]+/import/[^"]+)" id="mapping-form"', up.text)
    assert action
    r = await client.post(
        action[1],
        data={"_csrf_token": t, "input": "question", "expected_output": "answer", "metadata": "tags"},
    )
    status_path = r.headers["location"]

    async def done() -> str | None:
        frag = (await client.get(status_path + "/progress")).text
        return frag if 'data-state="done"' in frag else None

    summary = await wait_for(done, timeout_s=30)
    assert '<strong id="imported-count">2</strong>' in summary and "<tr><td>2</td><td>not JSON" in summary
    items, _ = await datasets.list_items_page(
        storage, project.project_id, datasets.ItemQuery(dataset_id), 1, 10
    )
    assert sorted(
        (json.dumps(i.input), json.dumps(i.expected_output), json.dumps(i.metadata)) for i in items
    ) == [
        ('"plain"', "null", "null"),
        ('{"text": "hi", "lang": "en"}', '["hello"]', '{"k": 1}'),
    ]


@pytest.mark.usefixtures("member")
async def test_an_import_against_a_schema_keeps_the_good_rows(client, storage, project) -> None:
    dataset_id = await create_dataset(client, "strict", input_schema='{"type": "object", "required": ["q"]}')
    text = 'input\n"{""q"": 1}"\nplain text\n"{""q"": 2}"\n'
    status_path = await import_csv(client, dataset_id, text, input=["input"])

    async def done() -> str | None:
        frag = (await client.get(status_path + "/progress")).text
        return frag if 'data-state="done"' in frag else None

    summary = await wait_for(done, timeout_s=30)
    assert '<strong id="imported-count">2</strong>' in summary
    assert (
        "<tr><td>3</td><td>input: &#39;plain text&#39; is not of type &#39;object&#39;</td></tr>" in summary
    )


@pytest.mark.usefixtures("member")
async def test_export_items_as_csv_and_jsonl(client, storage, project) -> None:
    dataset_id = await create_dataset(client, "exported")
    specs = [
        datasets.ItemSpec(
            "exported", id="i1", input={"q": 'a, "quoted"'}, expected_output="x", metadata={"k": 1}
        ),
        datasets.ItemSpec("exported", id="i2", input="plain", expected_output=None),
    ]
    await datasets.add_items(storage, project.project_id, "exported", specs)
    r = await client.get(f"/datasets/{dataset_id}/export", params={"format": "csv"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert 'filename="exported.csv"' in r.headers["content-disposition"]
    rows = {row["id"]: row for row in csv.DictReader(io.StringIO(r.text))}
    assert json.loads(rows["i1"]["input"]) == {"q": 'a, "quoted"'} and rows["i1"]["metadata"] == '{"k": 1}'
    assert (
        rows["i2"]["input"] == "plain"
        and rows["i2"]["expected_output"] == ""
        and rows["i2"]["status"] == "ACTIVE"
    )
    j = await client.get(f"/datasets/{dataset_id}/export", params={"format": "jsonl"})
    lines = [json.loads(line) for line in j.text.splitlines()]
    assert {line["id"]: line["input"] for line in lines} == {"i1": {"q": 'a, "quoted"'}, "i2": "plain"}
    assert (await client.get(f"/datasets/{dataset_id}/export", params={"format": "xml"})).status_code == 400


def trace_batch(trace_id: str) -> list[dict[str, Any]]:
    now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    return [
        {
            "id": f"{trace_id}-e1",
            "type": "trace-create",
            "timestamp": now,
            "body": {
                "id": trace_id,
                "name": "chat",
                "input": {"question": "refund?"},
                "output": "Yes, within 30 days.",
            },
        },
        {
            "id": f"{trace_id}-e2",
            "type": "generation-create",
            "timestamp": now,
            "body": {
                "id": f"{trace_id}-gen",
                "traceId": trace_id,
                "name": "llm",
                "startTime": now,
                "input": [{"role": "user", "content": "refund?"}],
                "output": {"role": "assistant", "content": "Yes"},
            },
        },
    ]


@pytest.mark.usefixtures("worker")
async def test_add_to_dataset_from_a_trace_and_an_observation(client, storage, project) -> None:
    trace_id = f"t-{project.project_id[:8]}"
    r = await client.post("/api/public/ingestion", json={"batch": trace_batch(trace_id)}, auth=project.auth)
    assert r.status_code == 207, r.text
    await jobs_done(storage, project.project_id, 1)
    await as_role(client, storage, project, Role.MEMBER)
    try:
        await create_dataset(client, "from-traces")
        page = await client.get(f"/traces/{trace_id}")
        assert (
            page.status_code == 200 and "Add to dataset" in page.text and ">from-traces</option>" in page.text
        )
        t = csrf_token(page.text)
        dataset_id = re.search(r'<option value="([^"]+)">from-traces</option>', page.text)
        assert dataset_id
        added = await client.post(
            f"/traces/{trace_id}/add-to-dataset", data={"_csrf_token": t, "dataset_id": dataset_id[1]}
        )
        assert added.status_code == 200 and "Added to from-traces" in added.text
        link = re.search(r'href="/dataset-items/([^"]+)" id="added-item"', added.text)
        assert link
        item = await datasets.fetch_item(storage, project.project_id, link[1])
        assert (
            item and item.input == {"question": "refund?"} and item.expected_output == "Yes, within 30 days."
        )
        assert (item.source_trace_id, item.source_observation_id) == (trace_id, None)

        obs = await client.get(f"/traces/{trace_id}", params={"obs": f"{trace_id}-gen"})
        assert f'name="observation_id" value="{trace_id}-gen"' in obs.text
        added = await client.post(
            f"/traces/{trace_id}/add-to-dataset",
            data={"_csrf_token": t, "new_dataset": "generations", "observation_id": f"{trace_id}-gen"},
        )
        assert added.status_code == 200 and "Added to generations" in added.text
        link = re.search(r'href="/dataset-items/([^"]+)" id="added-item"', added.text)
        assert link
        item = await datasets.fetch_item(storage, project.project_id, link[1])
        assert item and item.input == [{"role": "user", "content": "refund?"}]
        assert item.expected_output == {"role": "assistant", "content": "Yes"}
        assert (item.source_trace_id, item.source_observation_id) == (trace_id, f"{trace_id}-gen")
        # Refused: the trace page again, the form open beside the observation chosen, the reason beside
        # its field.
        missing = await client.post(
            f"/traces/{trace_id}/add-to-dataset",
            data={"_csrf_token": t, "observation_id": f"{trace_id}-gen"},
        )
        assert missing.status_code == 400
        assert 'id="dataset_id-error">Dataset: choose a dataset or name a new one<' in missing.text
        assert '<details class="add-to-dataset" open>' in missing.text
        assert f'name="observation_id" value="{trace_id}-gen"' in missing.text
    finally:
        client.cookies.clear()


async def test_a_viewer_reads_but_cannot_write_and_forms_need_csrf(client, storage, project) -> None:
    await as_role(client, storage, project, Role.MEMBER)
    dataset_id = await create_dataset(client, "guarded")
    item_id = await add_item(client, dataset_id, input='"q"')
    no_csrf = await client.post("/datasets", data={"name": "no-token"})
    assert no_csrf.status_code == 403
    assert (await client.post(f"/datasets/{dataset_id}/items/new", data={"input": '"x"'})).status_code == 403
    assert await datasets.fetch_dataset(storage, project.project_id, name="no-token") is None
    await as_role(client, storage, project, Role.VIEWER)
    try:
        listed = await client.get("/datasets")
        assert listed.status_code == 200 and "guarded" in listed.text and "New dataset" not in listed.text
        page = await client.get(f"/datasets/{dataset_id}")
        assert (
            page.status_code == 200 and item_ids(page.text) == [item_id] and 'id="new-item"' not in page.text
        )
        item = await client.get(f"/dataset-items/{item_id}")
        assert (
            item.status_code == 200 and 'id="item-form"' not in item.text and "Delete item" not in item.text
        )
        assert (await client.get(f"/datasets/{dataset_id}/export")).status_code == 200
        t = csrf_token(listed.text)
        for path, data in [
            ("/datasets", {"name": "v"}),
            (f"/datasets/{dataset_id}/delete", {"confirm": "guarded"}),
            (f"/datasets/{dataset_id}/items/new", {"input": '"x"'}),
            ("/dataset-items/save", {"item_id": item_id, "input": '"x"'}),
            ("/dataset-items/status", {"item_id": item_id, "status": "ARCHIVED"}),
            ("/dataset-items/delete", {"item_id": item_id, "confirm": "yes"}),
            ("/traces/t1/add-to-dataset", {"dataset_id": dataset_id}),
        ]:
            r = await client.post(path, data={"_csrf_token": t, **data})
            assert r.status_code == 403 and "needs the member role" in r.text, path
        assert (await client.get(f"/datasets/{dataset_id}/import")).status_code == 403
        assert (await client.get(f"/datasets/{dataset_id}/items/new")).status_code == 403
        current = await datasets.fetch_item(storage, project.project_id, item_id)
        assert current and current.input == "q" and current.status == "ACTIVE"
    finally:
        client.cookies.clear()
    assert (await client.get("/datasets")).status_code in (302, 303)  # logged out: to the login page


@pytest.mark.usefixtures("worker")
async def test_runs_tab_experiment_page_and_results_export(client, storage, project) -> None:
    from app.evaluation import experiments

    await datasets.upsert_dataset(storage, project.project_id, datasets.DatasetSpec("runs"))
    item = await datasets.upsert_item(
        storage,
        project.project_id,
        datasets.ItemSpec("runs", id=f"it-{project.project_id[:8]}", input="2+2?", expected_output="4"),
    )
    trace_id = f"rt-{project.project_id[:8]}"
    now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    batch = [
        *trace_batch(trace_id),
        {
            "id": f"{trace_id}-s",
            "type": "score-create",
            "timestamp": now,
            "body": {"id": f"{trace_id}-score", "traceId": trace_id, "name": "exact", "value": 1},
        },
    ]
    r = await client.post("/api/public/ingestion", json={"batch": batch}, auth=project.auth)
    assert r.status_code == 207, r.text
    await jobs_done(storage, project.project_id, 1)
    run = await experiments.record_run_item(
        storage,
        project.project_id,
        experiments.RunItemSpec("run-A", item.id, trace_id=trace_id, observation_id=f"{trace_id}-gen"),
    )
    await as_role(client, storage, project, Role.VIEWER)
    try:
        runs = await client.get(f"/datasets/{item.dataset_id}/runs")
        assert runs.status_code == 200
        row = re.search(rf'<a href="/experiments/{run.experiment_id}">run-A</a>.*?</tr>', runs.text, re.S)
        assert row, runs.text
        cells = re.findall(r"<td>(.*?)</td>", row[0], re.S)
        assert cells[1:3] == ["1", "0"] and cells[3].startswith("1.000")  # items, errors, exact
        assert "<th>exact</th>" in runs.text

        page = await client.get(f"/experiments/{run.experiment_id}")
        assert page.status_code == 200 and "<h1>run-A</h1>" in page.text
        assert f'href="/traces/{trace_id}' in page.text and f'href="/dataset-items/{item.id}"' in page.text
        assert (
            "{&#34;role&#34;: &#34;assistant&#34;, &#34;content&#34;: &#34;Yes&#34;}" in page.text
            and '<td class="io">4</td>' in page.text
            and "<td>1.000</td>" in page.text
        )

        exported = await client.get(f"/experiments/{run.experiment_id}/export", params={"format": "csv"})
        assert (
            exported.status_code == 200 and 'filename="run-A.csv"' in exported.headers["content-disposition"]
        )
        [result] = list(csv.DictReader(io.StringIO(exported.text)))
        assert (result["item_id"], result["trace_id"], result["expected_output"]) == (item.id, trace_id, "4")
        assert json.loads(result["output"]) == {"role": "assistant", "content": "Yes"} and json.loads(
            result["scores"]
        ) == {"exact": 1.0}
        lines = (
            await client.get(f"/experiments/{run.experiment_id}/export", params={"format": "jsonl"})
        ).text
        [record] = [json.loads(line) for line in lines.splitlines()]
        assert record["scores"] == {"exact": 1.0} and record["item_id"] == item.id
        assert (await client.get("/experiments/no-such-run")).status_code == 404
    finally:
        client.cookies.clear()
