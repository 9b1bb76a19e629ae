"""The store supervisor: restarts a dead store with doubling delays, leaves a live one alone."""

from __future__ import annotations

import asyncio
import time

from app.storage.supervisor import Supervised, supervise


async def test_a_dead_store_is_restarted_with_doubling_delays() -> None:
    state = {"alive": True, "tries": 0}
    tried_at: list[float] = []

    async def restart() -> None:
        tried_at.append(time.monotonic())
        state["tries"] += 1
        if state["tries"] < 4:  # the first three tries fail
            raise OSError("address in use")
        state["alive"] = True

    store = Supervised("redis", lambda: bool(state["alive"]), restart)
    task = asyncio.create_task(supervise([store], poll_s=0.01, first_delay_s=0.05, max_delay_s=0.15))
    try:
        await asyncio.sleep(0.05)
        assert tried_at == []  # alive: nothing to do
        state["alive"] = False
        died = time.monotonic()
        while state["tries"] < 4:
            await asyncio.sleep(0.01)
            assert time.monotonic() - died < 5
    finally:
        task.cancel()
    gaps = [b - a for a, b in zip([died, *tried_at], tried_at, strict=False)]
    assert gaps[0] >= 0.05 and gaps[1] >= 0.1 and gaps[2] >= 0.15 and gaps[3] >= 0.15  # capped at 0.15
    assert state["alive"]
