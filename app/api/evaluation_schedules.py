"""/api/public/v2/evaluation-rules/{ruleId}/schedules: backfills over a time range and daily runs of a rule
(ours; Langfuse has no such API), with their progress; DELETE cancels."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from litestar import Request, delete, get, post
from litestar.datastructures import State

from app.api.shared import iso
from app.errors import InvalidInput, NotFound
from app.evaluation import schedules
from app.evaluation.schedules import ScheduleRequest
from app.http_json import ApiDoc, json_body
from app.jobs.contracts import EVAL_SCHEDULE, JobQueue
from app.storage.postgres.eval_tables import EvaluationSchedule

BASE = "/v2/evaluation-rules/{rule_id:str}/schedules"
CREATE_SCHEDULE = ApiDoc(
    body={
        "type": "object",
        "required": ["kind"],
        "properties": {
            "kind": {"type": "string", "enum": ["range", "daily"]},
            "from": {"type": "string", "format": "date-time", "description": "range: start (inclusive)"},
            "to": {
                "type": "string",
                "format": "date-time",
                "description": "range: end (exclusive), ≤ 90 days",
            },
            "timeOfDay": {"type": "string", "description": "daily: HH:MM, UTC"},
            "sampleSize": {"type": "integer", "minimum": 1, "maximum": schedules.MAX_SAMPLE},
        },
    },
    errors={404: "No such evaluation rule in this project."},
)


def _time(body: dict[str, Any], field: str) -> datetime | None:
    value = body.get(field)
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidInput(f"{field}: an ISO 8601 date-time string")
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(f"{field}: an ISO 8601 date-time string") from None


def schedule_request(body: Any) -> ScheduleRequest:
    """A create body as a request; InvalidInput names the field whose JSON type is wrong."""
    if not isinstance(body, dict):
        raise InvalidInput("body must be a JSON object")
    kind, time_of_day, size = body.get("kind"), body.get("timeOfDay"), body.get("sampleSize")
    if kind not in ("range", "daily"):
        raise InvalidInput("kind: one of range, daily")
    if time_of_day is not None and not isinstance(time_of_day, str):
        raise InvalidInput("timeOfDay: expected HH:MM (UTC)")
    if size is not None and (isinstance(size, bool) or not isinstance(size, int)):
        raise InvalidInput(f"sampleSize: an integer from 1 to {schedules.MAX_SAMPLE}")
    return ScheduleRequest(kind, _time(body, "from"), _time(body, "to"), time_of_day, size)


def schedule_json(s: EvaluationSchedule) -> dict[str, Any]:
    return {
        "id": s.id,
        "projectId": s.project_id,
        "ruleId": s.rule_id,
        "kind": s.kind,
        "from": iso(s.range_from),
        "to": iso(s.range_to),
        "timeOfDay": s.time_of_day,
        "sampleSize": s.sample_size,
        "status": s.status,
        "total": s.total,
        "processed": s.processed,
        "enqueued": s.enqueued,
        "error": s.error,
        "lastRunAt": iso(s.last_run_at),
        "nextRunAt": iso(s.next_run_at),
        "createdAt": iso(s.created_at),
        "updatedAt": iso(s.updated_at),
    }


async def _rule_schedule(
    request: Request[Any, Any, State], rule_id: str, schedule_id: str
) -> EvaluationSchedule:
    storage, project_id = request.app.state.storage, request.state.caller.project_id
    schedule = await schedules.get_schedule(storage, project_id, schedule_id)
    if schedule.rule_id != rule_id:
        raise NotFound(f"evaluation schedule {schedule_id} not found")
    return schedule


@post(BASE, status_code=200, opt=CREATE_SCHEDULE.opt)
async def create_schedule(request: Request[Any, Any, State], rule_id: str, jobs: JobQueue) -> dict[str, Any]:
    req = schedule_request(await json_body(request))
    storage, project_id = request.app.state.storage, request.state.caller.project_id
    schedule = await schedules.create_schedule(storage, project_id, rule_id, req)
    if schedule.kind == "range":  # a daily schedule waits for its time (the cron starts it)
        await jobs.enqueue(
            EVAL_SCHEDULE,
            {"project_id": project_id, "schedule_id": schedule.id},
            job_id=schedules.run_job_id(schedule),
        )
    return schedule_json(schedule)


@get(BASE)
async def list_schedules(request: Request[Any, Any, State], rule_id: str) -> dict[str, Any]:
    storage, project_id = request.app.state.storage, request.state.caller.project_id
    return {"data": [schedule_json(s) for s in await schedules.list_schedules(storage, project_id, rule_id)]}


@get(BASE + "/{schedule_id:str}")
async def get_schedule(request: Request[Any, Any, State], rule_id: str, schedule_id: str) -> dict[str, Any]:
    return schedule_json(await _rule_schedule(request, rule_id, schedule_id))


@delete(BASE + "/{schedule_id:str}", status_code=200)
async def cancel_schedule(
    request: Request[Any, Any, State], rule_id: str, schedule_id: str
) -> dict[str, Any]:
    await _rule_schedule(request, rule_id, schedule_id)
    storage, project_id = request.app.state.storage, request.state.caller.project_id
    return schedule_json(await schedules.cancel_schedule(storage, project_id, schedule_id))


EVALUATION_SCHEDULE_ROUTES = [create_schedule, list_schedules, get_schedule, cancel_schedule]
