"""Scheduled and backfill runs of an evaluation rule in the UI: the section the rule page includes
(`rule_schedules.html`, which loads the list below with htmx), a standalone page with the same section,
the create and cancel forms, and the progress fragment a running backfill polls."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from litestar import Request, get, post
from litestar.datastructures import State
from litestar.response import Redirect, Template

from app.dashboards.deps import UiSession, page, requires_member
from app.dashboards.forms import Fields, read_form, refused
from app.errors import InvalidInput, UserError
from app.evaluation import schedules
from app.evaluation.schedules import ScheduleRequest
from app.jobs.contracts import EVAL_SCHEDULE, JobQueue
from app.storage import Storage
from app.storage.postgres.eval_tables import EvaluationSchedule
from app.storage.postgres.tables import Role

BASE = "/evaluation/rules/{rule_id:str}/schedules"
POLLING = ("pending", "running")


@dataclass
class ScheduleForm:
    kind: str = "range"
    range_from: str = ""  # datetime-local, read as UTC
    range_to: str = ""
    time_of_day: str = ""
    sample_size: str = ""
    next: str = ""  # where to return: the rule page that includes the section, or the standalone page

    def request(self) -> ScheduleRequest:
        """The form as a request; InvalidInput names the field."""
        if self.kind not in ("range", "daily"):
            raise InvalidInput("kind: one of range, daily")
        size: int | None = None
        if self.sample_size.strip():
            try:
                size = int(self.sample_size)
            except ValueError:
                raise InvalidInput("sampleSize: an integer from 1 to 10000") from None
        if self.kind == "daily":
            return ScheduleRequest("daily", time_of_day=self.time_of_day.strip() or None, sample_size=size)
        return ScheduleRequest(
            "range", _local(self.range_from, "from"), _local(self.range_to, "to"), None, size
        )


SCHEDULE_FIELDS = Fields(
    {
        "kind": "Kind",
        "range_from": "From",
        "range_to": "To",
        "time_of_day": "Daily at",
        "sample_size": "Sample size",
    },
    names={"from": "range_from", "to": "range_to", "timeOfDay": "time_of_day", "sampleSize": "sample_size"},
)


def _local(value: str, field: str) -> datetime | None:
    if not value.strip():
        return None
    try:
        return datetime.fromisoformat(value.strip())
    except ValueError:
        raise InvalidInput(f"{field}: a date and time (UTC), e.g. 2026-05-01T08:00") from None


def _back(rule_id: str, target: str) -> str:
    """Only back to this rule's pages (never an outside address)."""
    own = f"/evaluation/rules/{rule_id}"
    return target if target in (own, f"{own}/schedules") else f"{own}/schedules"


def _section(
    session: UiSession,
    rule_id: str,
    found: list[EvaluationSchedule],
    form: ScheduleForm,
    errors: dict[str, str] | None = None,
) -> dict[str, object]:
    return {
        "rule_id": rule_id,
        "schedules": found,
        "can_edit": session.caller.role.at_least(Role.MEMBER),
        "form": form,
        "errors": errors or {},
        "polling": POLLING,
    }


@get(BASE)
async def schedules_page(session: UiSession, storage: Storage, rule_id: str) -> Template:
    """The rule's runs on a page of their own (the rule page shows the same section)."""
    found = await schedules.list_schedules(storage, session.caller.project_id, rule_id)
    form = ScheduleForm(next=f"/evaluation/rules/{rule_id}/schedules")
    return page(session, "rule_schedules_page.html", **_section(session, rule_id, found, form))


@get(BASE + "/section")
async def schedules_section(session: UiSession, storage: Storage, rule_id: str, next: str = "") -> Template:
    """The list and the create form, as the fragment `rule_schedules.html` loads."""
    found = await schedules.list_schedules(storage, session.caller.project_id, rule_id)
    form = ScheduleForm(next=_back(rule_id, next))
    return Template("_rule_schedules_list.html", context=_section(session, rule_id, found, form))


@post(BASE, guards=[requires_member])
async def schedule_create(
    request: Request[Any, Any, State], session: UiSession, storage: Storage, jobs: JobQueue, rule_id: str
) -> Template | Redirect:
    """Start a backfill now or store a daily schedule; a bad field shows inline with the values kept."""
    project_id = session.caller.project_id
    data = await read_form(request, ScheduleForm)
    try:
        schedule = await schedules.create_schedule(storage, project_id, rule_id, data.request())
    except UserError as exc:
        found = await schedules.list_schedules(storage, project_id, rule_id)
        errors = SCHEDULE_FIELDS.errors(exc)
        return refused(
            page(session, "rule_schedules_page.html", **_section(session, rule_id, found, data, errors)), exc
        )
    if schedule.kind == "range":
        await jobs.enqueue(
            EVAL_SCHEDULE,
            {"project_id": project_id, "schedule_id": schedule.id},
            job_id=schedules.run_job_id(schedule),
        )
    return Redirect(_back(rule_id, data.next))


@post(BASE + "/{schedule_id:str}/cancel", guards=[requires_member])
async def schedule_cancel(
    request: Request[Any, Any, State], session: UiSession, storage: Storage, rule_id: str, schedule_id: str
) -> Redirect:
    data = await read_form(request, ScheduleForm)
    await schedules.cancel_schedule(storage, session.caller.project_id, schedule_id)
    return Redirect(_back(rule_id, data.next))


@get(BASE + "/{schedule_id:str}/progress")
async def schedule_progress(session: UiSession, storage: Storage, rule_id: str, schedule_id: str) -> Template:
    """One run's row; it keeps polling while the run is pending or running."""
    schedule = await schedules.get_schedule(storage, session.caller.project_id, schedule_id)
    return Template("_schedule_row.html", context={"s": schedule, "rule_id": rule_id, "polling": POLLING})


SCHEDULE_ROUTES = [schedules_page, schedules_section, schedule_create, schedule_cancel, schedule_progress]
