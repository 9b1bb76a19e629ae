"""arq's routine lines are filtered out at the default log level: crons speak when they do something."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from app.jobs.worker import quiet_arq_chatter


def record(msg: str, *args: object, level: int = logging.INFO) -> logging.LogRecord:
    return logging.LogRecord("arq.worker", level, __file__, 1, msg, args, None)


@pytest.fixture
def arq_level() -> Iterator[logging.Logger]:
    logger = logging.getLogger("arq.worker")
    before = logger.level
    logger.setLevel(logging.INFO)
    yield logger
    logger.setLevel(before)


def test_cron_runs_and_lifecycle_lines_are_dropped_jobs_kept(arq_level: logging.Logger) -> None:
    for cron in ("eval.sweep", "eval.start_due_schedules", "ingest.sweep"):
        assert not quiet_arq_chatter(record("%6.2fs → %s(%s)%s", 0.2, cron, "", ""))
        assert not quiet_arq_chatter(record("%6.2fs ← %s ● %s", 0.01, cron, "{'enqueued': 0}"))
    assert not quiet_arq_chatter(record("Starting worker for %d functions: %s", 7, "system.ping"))
    assert not quiet_arq_chatter(record("redis_version=6.2.14 mem_usage=950.06K"))
    assert not quiet_arq_chatter(record("shutdown on %s ◆ %d jobs complete", "SIGUSR1", 5))
    # A job that was enqueued, a failure, a warning: kept.
    assert quiet_arq_chatter(record("%6.2fs → %s(%s)%s", 0.1, "abc:ingest.process_batch", "{…}", ""))
    assert quiet_arq_chatter(record("%6.2fs ! %s failed, %s: %s", 0.1, "abc:eval.judge", "E", "x", level=40))
    assert quiet_arq_chatter(record("job %s expired", "abc", level=logging.WARNING))


def test_debug_shows_everything(arq_level: logging.Logger) -> None:
    arq_level.setLevel(logging.DEBUG)
    assert quiet_arq_chatter(record("%6.2fs → %s(%s)%s", 0.2, "eval.sweep", "", ""))
    assert quiet_arq_chatter(record("Starting worker for %d functions: %s", 7, "system.ping"))
