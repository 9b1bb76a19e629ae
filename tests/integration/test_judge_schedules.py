"""Scheduled and backfill evaluations against the real stores: a rule run over stored observations (range and
daily), paging, filters, sampling, targets, progress, cancel, the REST API, the job and the cron."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlmodel import select

from app.errors import Conflict, InvalidInput, NotFound
from app.evaluation import rules, schedules
from app.evaluation.rule_filters import sampled
from app.evaluation.rules import RulePatch
from app.evaluation.schedules import ScheduleRequest
from app.jobs import evaluation_schedules as schedule_jobs
from app.jobs.contracts import JobQueue
from app.storage import Storage
from app.storage.clickhouse.write_rows import ObservationRow
from app.storage.clickhouse.writes import insert_observations
from app.storage.postgres.eval_tables import EvaluationRule, Evaluator, EvaluatorVersion, JobExecution
from tests.conftest import ProjectFixture, make_project, wait_for

pytestmark = [pytest.mark.integration]
NOW = datetime.now(UTC).replace(microsecond=0)


async def add_evaluator(storage: Storage, project_id: str, name: str, status: str = "active") -> str:
    evaluator = Evaluator(project_id=project_id, name=name, type="llm_as_judge", status=status)
    async with storage.postgres.session() as s:
        s.add(evaluator)
        await s.commit()
        for n in (1, 2):
            s.add(
                EvaluatorVersion(
                    project_id=project_id, evaluator_id=evaluator.id, version=n, id=f"{evaluator.id}-v{n}"
                )
            )
        await s.commit()
    return evaluator.id


async def add_rule(
    storage: Storage, project_id: str, evaluator_ids: list[str], target: str = "observation", **extra: object
) -> EvaluationRule:
    rule = EvaluationRule(
        project_id=project_id,
        name=f"rule-{target}-{len(evaluator_ids)}-{extra.get('sampling', 1)}",
        target=target,
        filter=[{"type": "stringOptions", "column": "name", "operator": "any of", "value": ["answer"]}],
        evaluator_assignments=[{"evaluatorId": e, "variableMapping": None} for e in evaluator_ids],
        **extra,
    )
    async with storage.postgres.session() as s:
        s.add(rule)
        await s.commit()
        await s.refresh(rule)
    return rule


def obs(project_id: str, i: int, start: datetime, **fields: object) -> ObservationRow:
    values: dict[str, object] = {"name": "answer", "type": "GENERATION", "session_id": f"s{i % 4}"}
    values.update(fields)
    return ObservationRow(
        project_id=project_id,
        id=f"o{i:03d}",
        trace_id=f"t{i // 2:03d}",
        parent_observation_id=None,
        start_time=start,
        event_ts=NOW,
        **values,  # type: ignore[arg-type]
    )


async def seed(storage: Storage, project_id: str) -> list[ObservationRow]:
    """40 matching observations in the last hour (20 traces, 4 sessions), plus rows a run must skip: another
    name, the judges' own environment, outside the range, and an older version of a rewritten row."""
    rows = [obs(project_id, i, NOW - timedelta(minutes=i)) for i in range(40)]
    skipped = [
        obs(project_id, 100, NOW - timedelta(minutes=5), name="retrieve"),
        obs(project_id, 101, NOW - timedelta(minutes=6), environment="langhouse-llm-as-a-judge"),
        obs(project_id, 102, NOW - timedelta(days=3)),
    ]
    rewritten = replace(rows[0], name="answer", row_version=2, output="better")
    await insert_observations(storage.clickhouse, [*rows, *skipped, replace(rows[0], sign=-1), rewritten])
    return rows


async def executions_of(storage: Storage, project_id: str) -> list[JobExecution]:
    async with storage.postgres.session() as s:
        stmt = select(JobExecution).where(JobExecution.project_id == project_id)
        return list((await s.exec(stmt)).all())


RANGE = ScheduleRequest("range", NOW - timedelta(hours=2), NOW + timedelta(minutes=1))


async def test_a_backfill_pages_over_the_range_and_judges_each_match_once(
    storage: Storage, project: ProjectFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(schedules, "PAGE_ROWS", 7)  # several pages
    pid = project.project_id
    rows = await seed(storage, pid)
    active, paused = (
        await add_evaluator(storage, pid, "helpful"),
        await add_evaluator(storage, pid, "p", "paused"),
    )
    rule = await add_rule(storage, pid, [active, paused])
    schedule = await schedules.create_schedule(storage, pid, rule.id, RANGE)
    assert schedule.status == "pending"
    handed: list[str] = []

    async def on_created(created: list[JobExecution]) -> None:
        handed.extend(e.id for e in created)

    created = await schedules.run_schedule(storage, pid, schedule.id, on_created)
    assert sorted(e.target_key for e in created) == sorted(f"{r.trace_id}/{r.id}" for r in rows)
    assert {(e.evaluator_id, e.evaluator_version_id, e.schedule_id) for e in created} == {
        (active, f"{active}-v2", schedule.id)
    }  # the newest version; the paused evaluator is left out
    assert sorted(handed) == sorted(e.id for e in created)
    first = next(e for e in created if e.target_observation_id == "o000")
    assert (first.target_trace_id, first.target_session_id, first.target_kind) == (
        "t000",
        "s0",
        "observation",
    )
    done = await schedules.get_schedule(storage, pid, schedule.id)
    # total counts the live observations of the range (rewritten one once); processed every one looked at
    assert (done.status, done.total, done.processed, done.enqueued) == ("done", 42, 42, 40)
    assert done.last_run_at is not None

    # A second backfill over the same range judges nothing twice.
    again = await schedules.create_schedule(storage, pid, rule.id, RANGE)
    assert await schedules.run_schedule(storage, pid, again.id) == []
    assert (await schedules.get_schedule(storage, pid, again.id)).enqueued == 0
    assert len(await executions_of(storage, pid)) == 40

    # An evaluator added to the rule later: a backfill judges every target again, with it alone.
    added = await add_evaluator(storage, pid, "added")
    async with storage.postgres.session() as s:
        stored = await s.get(EvaluationRule, rule.id)
        assert stored is not None
        stored.evaluator_assignments = [*stored.evaluator_assignments, {"evaluatorId": added}]
        s.add(stored)
        await s.commit()
    third = await schedules.create_schedule(storage, pid, rule.id, replace(RANGE, sample_size=30))
    more = await schedules.run_schedule(storage, pid, third.id)
    assert len(more) == 30 and {e.evaluator_id for e in more} == {added}


async def test_trace_and_session_targets_are_judged_once_each(
    storage: Storage, project: ProjectFixture
) -> None:
    pid = project.project_id
    await seed(storage, pid)
    evaluator = await add_evaluator(storage, pid, "whole")
    for target, keys in (("trace", {f"t{i:03d}" for i in range(20)}), ("session", {"s0", "s1", "s2", "s3"})):
        rule = await add_rule(storage, pid, [evaluator], target)
        schedule = await schedules.create_schedule(storage, pid, rule.id, RANGE)
        created = await schedules.run_schedule(storage, pid, schedule.id)
        assert {e.target_key for e in created} == keys and len(created) == len(keys)
    session = next(e for e in created if e.target_key == "s1")
    assert (session.target_kind, session.target_session_id, session.target_trace_id) == (
        "session",
        "s1",
        None,
    )


async def test_sampling_and_a_cap_bound_a_backfill(storage: Storage, project: ProjectFixture) -> None:
    pid = project.project_id
    rows = await seed(storage, pid)
    evaluator = await add_evaluator(storage, pid, "sampled")
    rule = await add_rule(storage, pid, [evaluator], sampling=0.5)
    schedule = await schedules.create_schedule(storage, pid, rule.id, RANGE)
    created = await schedules.run_schedule(storage, pid, schedule.id)
    expected = {f"{r.trace_id}/{r.id}" for r in rows if sampled(f"{r.trace_id}/{r.id}", 0.5)}
    assert {e.target_key for e in created} == expected and 0 < len(expected) < 40

    capped_rule = await add_rule(storage, pid, [evaluator], "trace")
    capped = await schedules.create_schedule(storage, pid, capped_rule.id, replace(RANGE, sample_size=3))
    assert len(await schedules.run_schedule(storage, pid, capped.id)) == 3


async def test_a_daily_run_samples_the_last_day_and_moves_to_the_next(
    storage: Storage, project: ProjectFixture
) -> None:
    pid = project.project_id
    rows = await seed(storage, pid)
    evaluator = await add_evaluator(storage, pid, "daily")
    rule = await add_rule(storage, pid, [evaluator])
    daily = await schedules.create_schedule(
        storage, pid, rule.id, ScheduleRequest("daily", time_of_day="03:15", sample_size=5)
    )
    assert daily.status == "active" and daily.next_run_at is not None
    assert (daily.next_run_at.hour, daily.next_run_at.minute) == (3, 15) and daily.next_run_at > NOW
    assert daily.id not in {s.id for s in await schedules.due_schedules(storage, NOW)}
    assert daily.id in {s.id for s in await schedules.due_schedules(storage, daily.next_run_at)}

    created = await schedules.run_schedule(storage, pid, daily.id)
    assert len(created) == 5
    assert {e.target_key for e in created} <= {f"{r.trace_id}/{r.id}" for r in rows}  # not the 3-day-old row
    after = await schedules.get_schedule(storage, pid, daily.id)
    assert (after.status, after.enqueued, after.processed) == ("active", 5, 42)
    assert after.next_run_at is not None and after.next_run_at > NOW
    assert (after.next_run_at.hour, after.next_run_at.minute) == (3, 15)
    # the next run samples targets not judged yet: five more, none twice
    again = await schedules.run_schedule(storage, pid, daily.id)
    assert len(again) == 5 and not {e.target_key for e in again} & {e.target_key for e in created}
    # a disabled rule's day is skipped, with the reason shown, and the schedule waits for the next day
    await rules.update_rule(storage, pid, rule.id, RulePatch(enabled=False))
    assert await schedules.run_schedule(storage, pid, daily.id) == []
    skipped = await schedules.get_schedule(storage, pid, daily.id)
    assert (skipped.status, skipped.error) == ("active", "skipped: rule disabled")
    assert skipped.next_run_at is not None and skipped.next_run_at > NOW


async def test_a_cancelled_schedule_stops_and_cannot_be_cancelled_twice(
    storage: Storage, project: ProjectFixture
) -> None:
    pid = project.project_id
    await seed(storage, pid)
    rule = await add_rule(storage, pid, [await add_evaluator(storage, pid, "c")])
    schedule = await schedules.create_schedule(storage, pid, rule.id, RANGE)
    assert (await schedules.cancel_schedule(storage, pid, schedule.id)).status == "cancelled"
    assert await schedules.run_schedule(storage, pid, schedule.id) == []
    assert await executions_of(storage, pid) == []
    with pytest.raises(Conflict, match="cancelled"):
        await schedules.cancel_schedule(storage, pid, schedule.id)


async def test_a_backfill_cancelled_while_it_runs_stops_at_the_next_page(
    storage: Storage, project: ProjectFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(schedules, "PAGE_ROWS", 7)
    pid = project.project_id
    await seed(storage, pid)
    rule = await add_rule(storage, pid, [await add_evaluator(storage, pid, "stop")])
    schedule = await schedules.create_schedule(storage, pid, rule.id, RANGE)

    async def cancel_after_first_page(created: list[JobExecution]) -> None:
        if (await schedules.get_schedule(storage, pid, schedule.id)).status != "cancelled":
            await schedules.cancel_schedule(storage, pid, schedule.id)

    created = await schedules.run_schedule(storage, pid, schedule.id, cancel_after_first_page)
    assert 0 < len(created) <= 7  # the first page only
    stopped = await schedules.get_schedule(storage, pid, schedule.id)
    assert (stopped.status, stopped.processed, stopped.enqueued) == ("cancelled", 7, len(created))
    assert len(await executions_of(storage, pid)) == len(created)


@pytest.mark.parametrize(
    ("req", "message"),
    [
        (ScheduleRequest("range", NOW, NOW - timedelta(hours=1)), "from: must be before"),
        (ScheduleRequest("range", NOW - timedelta(days=91), NOW), "to: a backfill covers at most 90 days"),
        (ScheduleRequest("range", None, NOW), "from: a backfill needs"),
        (
            ScheduleRequest("range", NOW - timedelta(hours=1), NOW, sample_size=0),
            "sampleSize: an integer from 1",
        ),
        (ScheduleRequest("daily", time_of_day="24:00", sample_size=5), "timeOfDay: expected HH:MM"),
        (ScheduleRequest("daily", time_of_day="7:5", sample_size=5), "timeOfDay: expected HH:MM"),
        (ScheduleRequest("daily", time_of_day="07:05"), "sampleSize: required"),
        (ScheduleRequest("daily", time_of_day="07:05", sample_size=10_001), "sampleSize: an integer from 1"),
    ],
)
def test_requests_are_validated_naming_the_field(req: ScheduleRequest, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        schedules.validate_request(req, NOW)


def test_next_daily_run_is_strictly_after() -> None:
    at = datetime(2026, 5, 1, 3, 15, tzinfo=UTC)
    assert schedules.next_daily_run("03:15", at - timedelta(seconds=1)) == at
    assert schedules.next_daily_run("03:15", at) == at + timedelta(days=1)


async def test_schedules_belong_to_a_rule_of_the_project(storage: Storage, project: ProjectFixture) -> None:
    other = await add_rule(
        storage, project.project_id, [await add_evaluator(storage, project.project_id, "o")]
    )
    with pytest.raises(NotFound):
        await schedules.create_schedule(storage, "another-project", other.id, RANGE)
    with pytest.raises(NotFound):
        await schedules.list_schedules(storage, "another-project", other.id)


@pytest.mark.usefixtures("worker")
async def test_rest_api_creates_runs_and_cancels(
    client: httpx.AsyncClient, storage: Storage, jobs: JobQueue, project: ProjectFixture
) -> None:
    pid = project.project_id
    await seed(storage, pid)
    rule = await add_rule(storage, pid, [await add_evaluator(storage, pid, "api")])
    base = f"/api/public/v2/evaluation-rules/{rule.id}/schedules"
    end = (NOW + timedelta(minutes=1)).isoformat().replace("+00:00", "Z")  # both ISO forms are read
    body = {"kind": "range", "from": (NOW - timedelta(hours=2)).isoformat(), "to": end}
    created = await client.post(base, json=body, auth=project.auth)
    assert created.status_code == 200, created.text
    schedule = created.json()
    assert (schedule["kind"], schedule["status"], schedule["ruleId"]) == ("range", "pending", rule.id)

    async def finished() -> bool:  # the worker runs the job the POST enqueued
        return (await schedules.get_schedule(storage, pid, schedule["id"])).status == "done"

    await wait_for(finished)
    shown = (await client.get(f"{base}/{schedule['id']}", auth=project.auth)).json()
    assert (shown["status"], shown["enqueued"], shown["processed"], shown["total"]) == ("done", 40, 42, 42)
    for e in (await executions_of(storage, pid))[:3]:  # each execution is queued as a judge job
        assert await jobs.pool.exists(f"arq:job:eval:{e.id}", f"arq:result:eval:{e.id}")
    listed = (await client.get(base, auth=project.auth)).json()["data"]
    assert [s["id"] for s in listed] == [schedule["id"]]

    daily = await client.post(
        base, json={"kind": "daily", "timeOfDay": "23:59", "sampleSize": 3}, auth=project.auth
    )
    assert daily.status_code == 200 and daily.json()["nextRunAt"].endswith("23:59:00Z")
    cancelled = await client.delete(f"{base}/{daily.json()['id']}", auth=project.auth)
    assert (cancelled.status_code, cancelled.json()["status"]) == (200, "cancelled")
    assert (await client.delete(f"{base}/{daily.json()['id']}", auth=project.auth)).status_code == 409
    assert (
        await client.get("/api/public/v2/evaluation-rules/nope/schedules", auth=project.auth)
    ).status_code == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": "weekly"}, "kind"),
        ({"kind": "range", "from": "yesterday", "to": "2026-01-01T00:00:00Z"}, "from"),
        ({"kind": "range", "from": 5, "to": "2026-01-01T00:00:00Z"}, "from"),
        ({"kind": "daily", "timeOfDay": 1230, "sampleSize": 3}, "timeOfDay"),
        ({"kind": "daily", "timeOfDay": "12:30", "sampleSize": "3"}, "sampleSize"),
        ({"kind": "daily", "timeOfDay": "12:30", "sampleSize": True}, "sampleSize"),
        ([], "body"),
    ],
)
async def test_rest_api_refuses_bad_bodies_naming_the_field(
    client: httpx.AsyncClient, storage: Storage, project: ProjectFixture, body: object, field: str
) -> None:
    rule = await add_rule(
        storage, project.project_id, [await add_evaluator(storage, project.project_id, "b")]
    )
    answer = await client.post(
        f"/api/public/v2/evaluation-rules/{rule.id}/schedules", json=body, auth=project.auth
    )
    assert answer.status_code == 400 and field in answer.text


async def test_the_cron_enqueues_due_daily_runs_once(
    storage: Storage, jobs: JobQueue, project: ProjectFixture
) -> None:
    pid = project.project_id
    rule = await add_rule(storage, pid, [await add_evaluator(storage, pid, "cron")])
    daily = await schedules.create_schedule(
        storage, pid, rule.id, ScheduleRequest("daily", time_of_day="00:00", sample_size=1)
    )
    from app.storage.postgres import evaluation_schedules as repo

    past = NOW - timedelta(minutes=1)
    await repo.update_schedule(storage.postgres, pid, daily.id, {"next_run_at": past})
    ctx = {"storage": storage, "queue": jobs}
    assert await schedule_jobs.start_due_schedules(ctx) >= 1
    job_id = f"eval-schedule:{daily.id}:{past.isoformat()}"
    assert await jobs.pool.exists(f"arq:job:{job_id}", f"arq:result:{job_id}")
    assert await jobs.enqueue("eval.run_schedule", {}, job_id=job_id) is None  # the same due time: once


async def test_the_cron_starts_a_backfill_whose_start_was_lost(
    storage: Storage, jobs: JobQueue, project: ProjectFixture
) -> None:
    pid = project.project_id
    rule = await add_rule(storage, pid, [await add_evaluator(storage, pid, "lost")])
    fresh = await schedules.create_schedule(storage, pid, rule.id, RANGE)
    lost = await schedules.create_schedule(storage, pid, rule.id, RANGE)
    from app.storage.postgres import evaluation_schedules as repo

    await repo.update_schedule(storage.postgres, pid, lost.id, {"created_at": NOW - timedelta(minutes=5)})
    due = {s.id for s in await schedules.due_schedules(storage, datetime.now(UTC))}
    assert lost.id in due and fresh.id not in due  # a fresh one still has its own job coming
    await schedule_jobs.start_due_schedules({"storage": storage, "queue": jobs})
    job_id = schedules.run_job_id(lost)
    assert job_id == f"eval-schedule:{lost.id}:range"
    assert await jobs.pool.exists(f"arq:job:{job_id}", f"arq:result:{job_id}")


SCHEDULE_FIELDS = "id ruleId kind status timeOfDay sampleSize total processed enqueued nextRunAt rangeFrom"
CREATE_SCHEDULE = (
    "mutation($i: CreateEvaluationScheduleInput!) { createEvaluationSchedule(input: $i) "
    f"{{ evaluationSchedule {{ {SCHEDULE_FIELDS} }} }} }}"
)


async def test_graphql_creates_lists_and_cancels_schedules(
    client: httpx.AsyncClient, storage: Storage, jobs: JobQueue, project: ProjectFixture
) -> None:
    from tests.integration.reads_data import gql

    pid = project.project_id
    rule = await add_rule(storage, pid, [await add_evaluator(storage, pid, "gql")])
    backfill = {
        "ruleId": rule.id,
        "kind": "range",
        "rangeFrom": "2026-01-01T00:00:00Z",
        "rangeTo": "2026-01-02T00:00:00Z",
    }
    made = (await gql(client, project, CREATE_SCHEDULE, {"i": backfill}))["createEvaluationSchedule"]
    node = made["evaluationSchedule"]
    assert (node["kind"], node["status"], node["ruleId"]) == ("range", "pending", rule.id)
    job_id = f"eval-schedule:{node['id']}:range"
    assert await jobs.pool.exists(f"arq:job:{job_id}", f"arq:result:{job_id}")  # started at once

    daily = {"ruleId": rule.id, "kind": "daily", "timeOfDay": "12:00", "sampleSize": 10}
    made = (await gql(client, project, CREATE_SCHEDULE, {"i": daily}))["createEvaluationSchedule"]
    daily_id = made["evaluationSchedule"]["id"]
    listed = await gql(
        client,
        project,
        f"query($r: String!) {{ evaluationSchedules(ruleId: $r) {{ {SCHEDULE_FIELDS} }} }}",
        {"r": rule.id},
    )
    assert {s["id"] for s in listed["evaluationSchedules"]} == {node["id"], daily_id}
    cancel = (
        "mutation($i: CancelEvaluationScheduleInput!) "
        "{ cancelEvaluationSchedule(input: $i) { evaluationSchedule { status } } }"
    )
    done = await gql(client, project, cancel, {"i": {"id": daily_id}})
    assert done["cancelEvaluationSchedule"]["evaluationSchedule"]["status"] == "cancelled"

    bad = await client.post(
        "/api/graphql",
        json={"query": CREATE_SCHEDULE, "variables": {"i": {**daily, "timeOfDay": "noon"}}},
        auth=project.auth,
    )
    assert "timeOfDay: expected HH:MM" in bad.json()["errors"][0]["message"]
    other = await client.post(
        "/api/graphql",
        json={"query": "query($i: ID!) { evaluationSchedule(id: $i) { id } }", "variables": {"i": daily_id}},
        auth=(await make_project(storage)).auth,
    )
    assert "not found" in other.json()["errors"][0]["message"]  # another project's schedule


@pytest.mark.parametrize("evil", ["' OR 1=1 --", "x%27%3B%20DROP%20TABLE%20evaluation_schedules", "中文"])
async def test_hostile_ids_are_404_never_500(
    client: httpx.AsyncClient, project: ProjectFixture, evil: str
) -> None:
    base = f"/api/public/v2/evaluation-rules/{evil}/schedules"
    for answer in (
        await client.get(base, auth=project.auth),
        await client.get(f"{base}/{evil}", auth=project.auth),
        await client.delete(f"{base}/{evil}", auth=project.auth),
        await client.post(
            base, json={"kind": "daily", "timeOfDay": "01:00", "sampleSize": 1}, auth=project.auth
        ),
    ):
        assert answer.status_code == 404, answer.text
        assert answer.json()["code"] == "resource_not_found"
