"""A known project: traces, observations and scores sent through the real ingestion pipeline."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from app.storage import Storage
from tests.conftest import ProjectFixture, jobs_done

TRACES = 12


@dataclass(frozen=True)
class Seeded:
    start: datetime  # every trace starts in [start, start + 12 min)
    trace_ids: list[str]


def _iso(t: datetime) -> str:
    return t.isoformat().replace("+00:00", "Z")


def trace_events(i: int, at: datetime, prefix: str) -> list[dict[str, Any]]:
    """Trace i: a root span and a generation (cost 0.001 * i, i * 100 ms); trace 3 fails; 7 speaks Chinese."""
    trace_id, ts = f"{prefix}-t{i:02d}", _iso(at)
    question = "你好世界 退款申请" if i == 7 else f"Question number {i} about refunds"
    events: list[dict[str, Any]] = [
        {
            "id": f"{trace_id}-e1",
            "type": "trace-create",
            "timestamp": ts,
            "body": {
                "id": trace_id,
                "name": "chat" if i % 2 else "search",
                "userId": f"user-{i % 3}",
                "sessionId": f"session-{i % 4}",
                "tags": ["prod", "even" if i % 2 == 0 else "odd"],
                "metadata": {"tenant": "acme" if i < 6 else "globex"},
                "input": question,
                "output": f"answer {i}",
                "timestamp": ts,
            },
        },
        {
            "id": f"{trace_id}-e2",
            "type": "span-create",
            "timestamp": ts,
            "body": {
                "id": f"{trace_id}-root",
                "traceId": trace_id,
                "name": "handle",
                "startTime": ts,
                "endTime": _iso(at + timedelta(milliseconds=100 * i + 50)),
                "input": question,
            },
        },
        {
            "id": f"{trace_id}-e3",
            "type": "generation-create",
            "timestamp": ts,
            "body": {
                "id": f"{trace_id}-gen",
                "traceId": trace_id,
                "parentObservationId": f"{trace_id}-root",
                "name": "llm",
                "model": "gpt-4o-mini",
                "startTime": _iso(at + timedelta(milliseconds=10)),
                "endTime": _iso(at + timedelta(milliseconds=10 + 100 * i)),
                "input": [{"role": "user", "content": question}],
                "output": {"role": "assistant", "content": f"answer {i}"},
                "usage": {"input": 10 * i, "output": 5, "total": 10 * i + 5},
                "costDetails": {"input": 0.001 * i, "output": 0.0},
                "level": "ERROR" if i == 3 else "DEFAULT",
            },
        },
    ]
    if i % 3 == 0:
        events.append(
            {
                "id": f"{trace_id}-e4",
                "type": "score-create",
                "timestamp": ts,
                "body": {"id": f"{trace_id}-score", "traceId": trace_id, "name": "quality", "value": i / 10},
            }
        )
    return events


async def seed(
    client: httpx.AsyncClient, storage: Storage, project: ProjectFixture, prefix: str = "r"
) -> Seeded:
    """Send TRACES traces one minute apart, starting 30 minutes ago (inside the default 24 h window)."""
    start = (datetime.now(UTC) - timedelta(minutes=30)).replace(microsecond=0)
    batch = [e for i in range(TRACES) for e in trace_events(i, start + timedelta(minutes=i), prefix)]
    r = await client.post("/api/public/ingestion", json={"batch": batch}, auth=project.auth)
    assert r.status_code == 207 and not r.json()["errors"], r.text
    await jobs_done(storage, project.project_id, 1)
    return Seeded(start, [f"{prefix}-t{i:02d}" for i in range(TRACES)])


async def gql(
    client: httpx.AsyncClient, project: ProjectFixture, query: str, variables: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Run a GraphQL query with the project's keys; fail on GraphQL errors."""
    r = await client.post(
        "/api/graphql", json={"query": query, "variables": variables or {}}, auth=project.auth
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert not body.get("errors"), body["errors"]
    return body["data"]
