"""What a public key alone (browser feedback, `Authorization: Bearer pk-…`) may send in a batch: new
`score-create` events with source API and no annotation queue. Everything else is refused per event
(403), so a key that any web page carries can neither write traces nor forge or rewrite the scores of
judges, reviewers or the project's own backend."""

from __future__ import annotations

from typing import Any

from app.storage import Storage
from app.storage.clickhouse.queries.scores import ScoreFilter, ScoreListRequest, list_scores
from app.tracing.legacy import EventError, ValidatedBatch

SCORE_EVENT = "score-create"
_ERROR = "forbidden"
_LOOKUP_CHUNK = 100


def _problem(event: dict[str, Any]) -> str | None:
    """Why the event is not a score a public key alone may send, or None."""
    kind = event["type"]
    if kind != SCORE_EVENT:
        return (
            f"a public key alone may only send {SCORE_EVENT} events, not {kind}; send other events "
            "with HTTP Basic auth (public key : secret key)"
        )
    body = event["body"]
    if body.get("source", "API") != "API":
        return f"body.source: a public key alone may only send scores with source API, not {body['source']!r}"
    if body.get("queueId") is not None:
        return "body.queueId: a public key alone may not send annotation scores"
    return None


async def screen_public_key_events(storage: Storage, project_id: str, batch: ValidatedBatch) -> None:
    """Move the events a public key alone may not send from `batch.events` to `batch.errors` (403 each):
    any other event type, a score of another source or of a queue, and a score whose id already names a
    score of the project (one ClickHouse lookup by id per 100 scores)."""
    kept: list[dict[str, Any]] = []
    for event in batch.events:
        if problem := _problem(event):
            batch.errors.append(EventError(str(event["id"]), 403, problem, _ERROR))
        else:
            kept.append(event)
    ids = sorted({str(e["body"]["id"]) for e in kept if isinstance(e["body"].get("id"), str)})
    taken: set[str] = set()
    for start in range(0, len(ids), _LOOKUP_CHUNK):
        chunk = tuple(ids[start : start + _LOOKUP_CHUNK])
        request = ScoreListRequest(project_id, None, ScoreFilter(ids=chunk), first=len(chunk))
        page = await list_scores(storage.clickhouse, request, max_first=_LOOKUP_CHUNK)
        taken |= {s.id for s in page.items}
    batch.events = []
    for event in kept:
        if event["body"].get("id") in taken:
            message = "body.id: a score with this id exists; a public key alone may only create new scores"
            batch.errors.append(EventError(str(event["id"]), 403, message, _ERROR))
        else:
            batch.events.append(event)
