"""The ClickHouse client's lanes: reads of older requests run first, writes keep their order."""

from __future__ import annotations

import asyncio
import threading
from contextvars import copy_context

from app.storage.clickhouse.client import _Lane, begin_request


class _Client:
    """Stands in for a ClickHouse client: the lanes only hand it to the calls and close it."""

    def close(self) -> None:
        pass


async def _run_in_order(ordered: bool) -> list[str]:
    """Block the lane's one thread, queue calls of three requests (begun in the order a, b, c; queued
    c first), release it, and return the order in which the calls ran."""
    lane = _Lane(_Client, 1, "test", ordered=ordered)  # type: ignore[arg-type, return-value]
    gate, ran = threading.Event(), []
    try:
        blocker = lane.submit(lambda _client: gate.wait(5))
        contexts = {}
        for name in ("a", "b", "c"):
            contexts[name] = copy_context()
            contexts[name].run(begin_request)
            await asyncio.sleep(0.002)
        calls = [contexts[n].run(lane.submit, lambda _c, n=n: ran.append(n)) for n in ("c", "a", "b")]
        gate.set()
        await asyncio.gather(blocker, *calls)
    finally:
        lane.close()
    return ran


async def test_a_read_lane_serves_the_oldest_request_first() -> None:
    assert await _run_in_order(ordered=False) == ["a", "b", "c"]


async def test_the_write_lane_keeps_the_order_of_its_calls() -> None:
    assert await _run_in_order(ordered=True) == ["c", "a", "b"]


async def test_a_failing_call_reports_its_error_and_the_lane_goes_on() -> None:
    lane = _Lane(_Client, 1, "test")  # type: ignore[arg-type, return-value]
    try:
        failed = lane.submit(lambda _c: 1 / 0)
        try:
            await failed
        except ZeroDivisionError:
            pass
        else:
            raise AssertionError("the error was not reported")
        assert await lane.submit(lambda _c: "next") == "next"
    finally:
        lane.close()
