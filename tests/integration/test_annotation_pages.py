"""Annotation in the UI, through the real forms (login, CSRF): queues created with score configs and
reviewers, traces, observations and sessions added from the traces list, a trace and a session; the
annotate view writes ANNOTATION scores naming their config, queue and author, completes the item and opens
the next; skip; holds keep an open item from a second reviewer; assigned items come first; viewers read but
cannot annotate; another project's items and objects never resolve."""

from __future__ import annotations

import html
import re
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from app.evaluation import annotation_queues as aq
from app.evaluation.annotation import score_id
from app.storage import Storage
from app.storage.clickhouse.queries import scores as sq
from app.storage.clickhouse.queries.views import ScoreView
from app.storage.postgres import accounts
from app.storage.postgres.tables import Role
from app.tracing import score_configs
from app.tracing.score_configs import Category, ScoreConfigSpec
from tests.conftest import ProjectFixture, csrf_token, login, make_project, make_user
from tests.integration.reads_data import seed

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("worker")]


async def reviewer(client: httpx.AsyncClient, storage: Storage, project: ProjectFixture, role: Role) -> str:
    """Log the client in as a new user with `role` in the project; their user id."""
    email, password = await make_user(storage, project, role)
    await login(client, email, password)
    user = await accounts.find_user(storage.postgres, email)
    assert user is not None
    return user.id


async def configs(storage: Storage, project_id: str) -> dict[str, str]:
    """Three score configs (categorical, boolean, numeric 0..1): name → id."""
    made = [
        await score_configs.create_config(
            storage,
            project_id,
            ScoreConfigSpec(
                "quality", "CATEGORICAL", (Category(0, "bad"), Category(1, "ok"), Category(2, "good"))
            ),
        ),
        await score_configs.create_config(storage, project_id, ScoreConfigSpec("helpful", "BOOLEAN")),
        await score_configs.create_config(
            storage, project_id, ScoreConfigSpec("accuracy", "NUMERIC", min_value=0, max_value=1)
        ),
    ]
    return {c.name: c.id for c in made}


async def post(
    client: httpx.AsyncClient, path: str, data: dict[str, object], page: str = "/annotation-queues"
) -> httpx.Response:
    """POST a form as the browser does: with the CSRF token of a page just read."""
    token = csrf_token((await client.get(page)).text)
    return await client.post(path, data={**data, "_csrf_token": token}, follow_redirects=False)


async def create_queue(
    client: httpx.AsyncClient, name: str, config_ids: list[str], reviewers: tuple[str, ...] = ()
) -> str:
    r = await post(
        client,
        "/annotation-queues",
        {"name": name, "score_config_id": config_ids, "reviewer": list(reviewers)},
    )
    assert r.status_code == 303, r.text
    found = re.fullmatch(r"/annotation-queues/([0-9a-f]+)", r.headers["location"])
    assert found, r.headers["location"]
    return found[1]


async def add(
    client: httpx.AsyncClient,
    queue_id: str,
    kind: str,
    ids: list[str],
    next_: str = "/traces",
    assignee: str = "",
) -> httpx.Response:
    r = await post(
        client,
        "/annotation-queues/items",
        {"queue_id": queue_id, "object_type": kind, "object_id": ids, "next": next_, "assignee": assignee},
    )
    assert r.status_code == 303, r.text
    return r


def shown_object(html: str) -> str:
    """The object id the annotate view shows."""
    found = re.search(r'<code id="object-id">([^<]+)</code>', html)
    assert found, html[:2000]
    return found[1]


def item_of(html: str) -> str:
    """The item id the annotate view's form saves."""
    found = re.search(r'action="/annotation-queues/[0-9a-f]+/items/([0-9a-f]+)/annotate"', html)
    assert found, html[:2000]
    return found[1]


async def annotation_scores(storage: Storage, project_id: str, **ids: tuple[str, ...]) -> list[ScoreView]:
    return [s for s in await sq.scores_of(storage.clickhouse, project_id, **ids) if s.source == "ANNOTATION"]


async def test_queue_from_pages_to_scores(client, storage: Storage, project: ProjectFixture) -> None:  # type: ignore[no-untyped-def]
    await seed(client, storage, project)
    pid = project.project_id
    ids = await configs(storage, pid)
    me = await reviewer(client, storage, project, Role.MEMBER)
    queue_id = await create_queue(
        client, "Helpfulness", [ids["quality"], ids["helpful"], ids["accuracy"]], (me,)
    )

    listed = (await client.get("/annotation-queues")).text
    assert "Helpfulness" in listed and "assigned to you" in listed and "0 / 0 done" in listed

    # The traces list: tick rows, add them (back to the same filtered list, saying how many).
    traces = (await client.get("/traces", params={"range": "24h"})).text
    assert 'form="add-to-queue"' in traces and 'value="r-t01"' in traces
    r = await add(client, queue_id, "TRACE", ["r-t01", "r-t02"], "/traces?user=user-1")
    assert r.headers["location"].startswith("/traces?user=user-1&")
    assert parse_qs(urlsplit(r.headers["location"]).query) == {
        "user": ["user-1"],
        "queued": ["2"],
        "queue": [queue_id],
    }
    back = await client.get(r.headers["location"])
    assert "Queued 2 items" in back.text and f"/annotation-queues/{queue_id}/annotate" in back.text
    # A trace page (the trace, or its selected observation), a session page.
    trace_page = (await client.get("/traces/r-t03?obs=r-t03-gen")).text
    assert (
        "Add trace to an annotation queue" in trace_page
        and "Add observation to an annotation queue" in trace_page
    )
    r = await add(client, queue_id, "TRACE", ["r-t03"], "/traces/r-t03")
    assert "In queues:" in (await client.get(r.headers["location"])).text
    await add(client, queue_id, "OBSERVATION", ["r-t04-gen"], "/traces/r-t04?obs=r-t04-gen")
    assert "Add session to an annotation queue" in (await client.get("/sessions/session-1")).text
    await add(client, queue_id, "SESSION", ["session-1"], "/sessions/session-1")
    await add(client, queue_id, "TRACE", ["r-t01"])  # already queued: the same item
    queue_page = (await client.get(f"/annotation-queues/{queue_id}")).text
    assert queue_page.count("<tr data-item=") == 5 and "0 / 5 done" in queue_page

    # The annotate view: the first item added, its trace read as a tree with input and output.
    view = await client.get(f"/annotation-queues/{queue_id}/annotate")
    assert view.status_code == 200
    assert shown_object(view.text) == "r-t01" and "Question number 1 about refunds" in view.text
    assert 'aria-keyshortcuts="1"' in view.text and 'aria-keyshortcuts="S"' in view.text
    first = item_of(view.text)
    token = csrf_token(view.text)
    saved = await client.post(
        f"/annotation-queues/{queue_id}/items/{first}/annotate",
        data={
            f"score.{ids['quality']}": "good",
            f"score.{ids['helpful']}": "True",
            f"score.{ids['accuracy']}": "0.75",
            "comment": "fine answer",
            "_csrf_token": token,
        },
        follow_redirects=False,
    )
    assert (
        saved.status_code == 303
        and saved.headers["location"] == f"/annotation-queues/{queue_id}/annotate?after={first}"
    )
    given = {s.name: s for s in await annotation_scores(storage, pid, trace_ids=("r-t01",))}
    assert {n: s.label for n, s in given.items()} == {
        "quality": "good",
        "helpful": "True",
        "accuracy": "0.75",
    }
    for name, s in given.items():
        assert (s.config_id, s.queue_id, s.author_user_id, s.comment) == (
            ids[name],
            queue_id,
            me,
            "fine answer",
        )
        assert s.id == score_id(queue_id, first, ids[name], me) and s.observation_id is None
    item = await aq.get_item(storage, pid, queue_id, first)
    assert item.status == "COMPLETED" and item.completed_by_user_id == me and item.completed_at is not None

    # Save opens the next item; skip passes it by.
    nxt = await client.get(saved.headers["location"])
    assert shown_object(nxt.text) == "r-t02" and "1 / 5 done" in nxt.text
    second = item_of(nxt.text)
    skipped = await client.post(
        f"/annotation-queues/{queue_id}/items/{second}/skip",
        data={"_csrf_token": csrf_token(nxt.text)},
        follow_redirects=False,
    )
    assert skipped.status_code == 303
    third = await client.get(skipped.headers["location"])
    assert shown_object(third.text) == "r-t03"
    assert (await aq.get_item(storage, pid, queue_id, second)).status == "PENDING"

    # The observation: shown selected in its trace; its scores name the observation and its trace.
    await client.post(
        f"/annotation-queues/{queue_id}/items/{item_of(third.text)}/skip",
        data={"_csrf_token": csrf_token(third.text)},
    )
    obs_view = await client.get(f"/annotation-queues/{queue_id}/annotate?after={item_of(third.text)}")
    assert shown_object(obs_view.text) == "r-t04-gen"
    assert re.search(
        r'class="node[^"]*selected[^"]*"[^>]*>\s*<a href="\?item=[0-9a-f]+&amp;obs=r-t04-gen"', obs_view.text
    )
    await client.post(
        f"/annotation-queues/{queue_id}/items/{item_of(obs_view.text)}/annotate",
        data={f"score.{ids['helpful']}": "False", "_csrf_token": csrf_token(obs_view.text)},
    )
    [obs_score] = await annotation_scores(storage, pid, trace_ids=("r-t04",))
    assert (obs_score.trace_id, obs_score.observation_id, obs_score.label) == ("r-t04", "r-t04-gen", "False")

    # The session: read as a conversation; its score names the session only.
    session_view = await client.get(f"/annotation-queues/{queue_id}/annotate?after={item_of(obs_view.text)}")
    assert shown_object(session_view.text) == "session-1" and 'class="card turn"' in session_view.text
    await client.post(
        f"/annotation-queues/{queue_id}/items/{item_of(session_view.text)}/annotate",
        data={f"score.{ids['quality']}": "ok", "_csrf_token": csrf_token(session_view.text)},
    )
    [session_score] = await annotation_scores(storage, pid, session_ids=("session-1",))
    assert (session_score.session_id, session_score.trace_id, session_score.label) == (
        "session-1",
        None,
        "ok",
    )

    # Annotating again replaces the reviewer's scores (the same ids, the new values).
    again = await client.get(f"/annotation-queues/{queue_id}/annotate?item={first}")
    assert "Saving again replaces your scores" in again.text and 'value="good" checked' in again.text
    await client.post(
        f"/annotation-queues/{queue_id}/items/{first}/annotate",
        data={f"score.{ids['quality']}": "bad", "_csrf_token": csrf_token(again.text)},
    )
    labels = sorted(s.label for s in await annotation_scores(storage, pid, trace_ids=("r-t01",)))
    assert labels == ["0.75", "True", "bad"]
    # A value cleared (an emptied number, the "none" choice) deletes the reviewer's score for it.
    again = await client.get(f"/annotation-queues/{queue_id}/annotate?item={first}")
    assert re.search(rf'name="score.{ids["quality"]}" value="" >\s*<span class="hint">none', again.text)
    await client.post(
        f"/annotation-queues/{queue_id}/items/{first}/annotate",
        data={
            f"score.{ids['quality']}": "",
            f"score.{ids['accuracy']}": "",
            f"score.{ids['helpful']}": "True",
            "comment": "fine answer",
            "_csrf_token": csrf_token(again.text),
        },
    )
    labels = sorted(s.label for s in await annotation_scores(storage, pid, trace_ids=("r-t01",)))
    assert labels == ["True"]
    cleared = await client.get(f"/annotation-queues/{queue_id}/annotate?item={first}")
    assert 'value="good" checked' not in cleared.text and 'value="bad" checked' not in cleared.text

    # Values that do not fit their config are refused: the item shown again with what was typed (the
    # comment too) and the reason beside that score, in its name.
    for field, value, message in (
        ("accuracy", "abc", "accuracy: 'abc' is not a number"),
        ("accuracy", "3", "accuracy: value 3.0 is above the config's maxValue"),
        ("quality", "meh", "quality: value 'meh' is not one of the config's categories"),
        ("helpful", "maybe", "helpful: must be True or False"),
    ):
        r = await post(
            client,
            f"/annotation-queues/{queue_id}/items/{second}/annotate",
            {f"score.{ids[field]}": value, "comment": "kept as typed"},
        )
        shown = html.unescape(r.text)
        assert r.status_code == 400 and f'id="score.{ids[field]}-error">{message}' in shown, (field, shown)
        assert "kept as typed</textarea>" in shown
        if field == "accuracy":  # a number field shows the number typed (choices have no such button)
            assert re.search(rf'name="score.{ids[field]}"[^>]*value="{value}"', shown)
    r = await post(client, f"/annotation-queues/{queue_id}/items/{second}/annotate", {"score.nope": "1"})
    assert r.status_code == 400 and "not a score config of this queue" in r.text
    assert (await aq.get_item(storage, pid, queue_id, second)).status == "PENDING"

    # r-t02 and r-t03 (skipped) are left, oldest first; once they are done, the queue is done.
    for expected in ("r-t02", "r-t03"):
        left = await client.get(f"/annotation-queues/{queue_id}/annotate")
        assert shown_object(left.text) == expected
        await client.post(
            f"/annotation-queues/{queue_id}/items/{item_of(left.text)}/annotate",
            data={f"score.{ids['accuracy']}": "0", "_csrf_token": csrf_token(left.text)},
        )
    done = await client.get(f"/annotation-queues/{queue_id}/annotate?after={item_of(left.text)}")
    assert 'id="queue-done"' in done.text and "5 / 5 done" in done.text
    assert "5 / 5 done" in (await client.get("/annotation-queues")).text


async def test_holds_keep_an_item_from_others_and_assigned_items_come_first(
    client, storage: Storage, project: ProjectFixture
) -> None:  # type: ignore[no-untyped-def]
    await seed(client, storage, project)
    pid = project.project_id
    ids = await configs(storage, pid)
    b_email, b_password = await make_user(storage, project, Role.MEMBER)
    b_user = await accounts.find_user(storage.postgres, b_email)
    assert b_user is not None
    a = await reviewer(client, storage, project, Role.MEMBER)
    queue_id = await create_queue(client, "Holds", [ids["helpful"]])
    await add(client, queue_id, "TRACE", ["r-t00", "r-t01", "r-t02", "r-t03"])
    await add(client, queue_id, "TRACE", ["r-t05"], assignee=b_user.id)  # meant for B when added
    page = (await client.get(f"/annotation-queues/{queue_id}")).text
    item_ids = re.findall(r'<tr data-item="([0-9a-f]+)"', page)[::-1]  # newest first on the page
    assert len(item_ids) == 5
    # B is meant to review r-t02 too (set on the queue page).
    r = await post(
        client,
        f"/annotation-queues/{queue_id}/items/assign",
        {"item_id": [item_ids[2]], "user_id": b_user.id, "next": f"/annotation-queues/{queue_id}"},
    )
    assert r.status_code == 303
    # A opens the first item: held for A.
    a_view = await client.get(f"/annotation-queues/{queue_id}/annotate")
    assert shown_object(a_view.text) == "r-t00"

    await login(client, b_email, b_password)
    b_view = await client.get(f"/annotation-queues/{queue_id}/annotate")
    assert shown_object(b_view.text) == "r-t02" and "assigned to you" in b_view.text  # B's own first
    b_next = await client.get(f"/annotation-queues/{queue_id}/annotate?after={item_ids[2]}")
    assert shown_object(b_next.text) == "r-t05"
    b_after = await client.get(f"/annotation-queues/{queue_id}/annotate?after={item_ids[4]}")
    assert shown_object(b_after.text) == "r-t01"  # r-t00 is held by A: never offered
    held = await client.get(f"/annotation-queues/{queue_id}/annotate?item={item_ids[0]}")
    assert 'id="held"' in held.text and "Someone else is reviewing this item" in held.text
    assert 'id="annotate-form"' not in held.text
    refused = await post(
        client,
        f"/annotation-queues/{queue_id}/items/{item_ids[0]}/annotate",
        {f"score.{ids['helpful']}": "True"},
    )
    assert refused.status_code == 409 and "another reviewer" in refused.text
    assert await annotation_scores(storage, pid, trace_ids=("r-t00",)) == []
    # "Stop reviewing" gives an item back at once.
    r = await post(client, f"/annotation-queues/{queue_id}/items/{item_ids[1]}/release", {})
    assert (
        r.status_code == 303
        and (await aq.get_item(storage, pid, queue_id, item_ids[1])).locked_by_user_id is None
    )
    assert (await aq.get_item(storage, pid, queue_id, item_ids[0])).locked_by_user_id == a


async def test_viewers_read_but_cannot_annotate_and_forms_need_csrf(
    client, storage: Storage, project: ProjectFixture
) -> None:  # type: ignore[no-untyped-def]
    pid = project.project_id
    ids = await configs(storage, pid)
    await reviewer(client, storage, project, Role.MEMBER)
    queue_id = await create_queue(client, "Viewers", [ids["helpful"]])
    await add(client, queue_id, "TRACE", ["t-1"])
    [item] = (await aq.list_items_page(storage, pid, queue_id, None, 1, 10))[0]
    no_csrf = await client.post(
        "/annotation-queues/items",
        data={"queue_id": queue_id, "object_type": "TRACE", "object_id": "t-2"},
        follow_redirects=False,
    )
    assert no_csrf.status_code == 403
    assert (await aq.list_items_page(storage, pid, queue_id, None, 1, 10))[1] == 1

    viewer = await reviewer(client, storage, project, Role.VIEWER)
    listed = await client.get("/annotation-queues")
    assert listed.status_code == 200 and "Viewers" in listed.text and 'id="new-queue"' not in listed.text
    queue_page = await client.get(f"/annotation-queues/{queue_id}")
    assert queue_page.status_code == 200 and "/annotate" not in queue_page.text
    assert (await client.get(f"/annotation-queues/{queue_id}/annotate")).status_code == 403
    assert 'form="add-to-queue"' not in (await client.get("/traces")).text
    base = f"/annotation-queues/{queue_id}"
    writes = {
        "/annotation-queues": {"name": "mine", "score_config_id": [ids["helpful"]]},
        "/annotation-queues/items": {"queue_id": queue_id, "object_type": "TRACE", "object_id": "t-3"},
        f"{base}/edit": {"name": "renamed"},
        f"{base}/delete": {"confirm": "Viewers"},
        f"{base}/assignees": {"user_id": viewer},
        f"{base}/assignees/{viewer}/remove": {},
        f"{base}/items/assign": {"item_id": [item.id], "user_id": ""},
        f"{base}/items/{item.id}/annotate": {f"score.{ids['helpful']}": "True"},
        f"{base}/items/{item.id}/skip": {},
        f"{base}/items/{item.id}/release": {},
        f"{base}/items/{item.id}/delete": {},
    }
    for path, data in writes.items():
        r = await post(client, path, data)
        assert r.status_code == 403, (path, r.status_code)
    queue = await aq.get_queue(storage, pid, queue_id)
    assert (
        queue.name == "Viewers" and (await aq.get_item(storage, pid, queue_id, item.id)).status == "PENDING"
    )


async def test_other_projects_items_and_objects_never_resolve(
    client, storage: Storage, project: ProjectFixture
) -> None:  # type: ignore[no-untyped-def]
    other = await make_project(storage)
    await seed(client, storage, other, prefix="x")  # traces x-t00 … of the other project
    pid = project.project_id
    ids = await configs(storage, pid)
    theirs = await aq.create_queue(storage, other.project_id, aq.QueueSpec("theirs"))
    [their_item] = await aq.add_items(
        storage, other.project_id, theirs.id, [aq.NewQueueItem(aq.ObjectType.TRACE, "x-t01")]
    )

    await reviewer(client, storage, project, Role.MEMBER)
    queue_id = await create_queue(client, "Ours", [ids["helpful"]])
    await add(client, queue_id, "TRACE", ["x-t01"])  # an id of the other project's trace
    await add(client, queue_id, "SESSION", ["session-1"])  # only the other project has it
    view = await client.get(f"/annotation-queues/{queue_id}/annotate")
    assert view.status_code == 200 and "trace &#39;x-t01&#39; not found in this project" in view.text
    assert 'id="save"' not in view.text and 'id="skip"' in view.text
    assert "Question number 1" not in view.text
    ours = item_of_skip(view.text)
    r = await post(
        client, f"/annotation-queues/{queue_id}/items/{ours}/annotate", {f"score.{ids['helpful']}": "True"}
    )
    assert r.status_code == 404 and "not found in this project" in r.text
    session_view = await client.get(f"/annotation-queues/{queue_id}/annotate?after={ours}")
    assert "session &#39;session-1&#39; not found in this project" in session_view.text
    assert await annotation_scores(storage, other.project_id, trace_ids=("x-t01",)) == []
    assert await annotation_scores(storage, pid, trace_ids=("x-t01",)) == []

    # The other project's queue and item, named from this project's session: 404.
    assert (await client.get(f"/annotation-queues/{theirs.id}")).status_code == 404
    assert (await client.get(f"/annotation-queues/{theirs.id}/annotate")).status_code == 404
    assert (
        await client.get(f"/annotation-queues/{queue_id}/annotate?item={their_item.id}")
    ).status_code == 404
    for path in (
        f"/annotation-queues/{queue_id}/items/{their_item.id}/annotate",
        f"/annotation-queues/{theirs.id}/items/{their_item.id}/annotate",
        f"/annotation-queues/{theirs.id}/items/{their_item.id}/skip",
    ):
        r = await post(client, path, {f"score.{ids['helpful']}": "True"})
        assert r.status_code == 404, path
    r = await post(
        client, "/annotation-queues/items", {"queue_id": theirs.id, "object_type": "TRACE", "object_id": "a"}
    )
    assert r.status_code == 404
    assert (await aq.get_item(storage, other.project_id, theirs.id, their_item.id)).status == "PENDING"
    # Bad input names the field; a bad choice in the form goes back to the page the form was on, the
    # reason in that form, the queue still chosen, the last "queued" notice gone.
    r = await post(
        client, "/annotation-queues/items", {"queue_id": queue_id, "object_type": "SPAN", "object_id": "a"}
    )
    assert r.status_code == 400 and "object_type" in r.text
    r = await post(
        client,
        "/annotation-queues/items",
        {"queue_id": queue_id, "object_type": "TRACE", "next": "/traces?queued=2", "assignee": ""},
    )
    assert r.status_code == 303 and "queued=" not in r.headers["location"]
    back = await client.get(r.headers["location"])
    refused = re.search(r'id="queue-error"[^>]*>([^<]+)<', back.text)
    assert refused and "object_id" in refused[1], back.text[-3000:]
    assert re.search(rf'<option value="{queue_id}" selected>', back.text)
    r = await post(client, "/annotation-queues", {"name": "Ours"})
    assert r.status_code == 400 and "named &#39;Ours&#39; exists" in r.text and 'value="Ours"' in r.text
    assert (await client.get(f"/annotation-queues/{queue_id}", params={"status": "done"})).status_code == 400


def item_of_skip(html: str) -> str:
    found = re.search(r'formaction="/annotation-queues/[0-9a-f]+/items/([0-9a-f]+)/skip"', html)
    assert found, html[:2000]
    return found[1]
