"""Watch the embedded Redis and Postgres and start them again, with backoff, when they die."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

log = logging.getLogger(__name__)

POLL_SECONDS = 1.0
FIRST_DELAY_SECONDS = 1.0
MAX_DELAY_SECONDS = 30.0
STABLE_SECONDS = 60.0  # up this long after a restart: the next death starts the backoff over


@dataclass(frozen=True, slots=True)
class Supervised:
    """One embedded store: how to tell it runs, and how to start it again on the same files."""

    name: str
    alive: Callable[[], bool]
    restart: Callable[[], Awaitable[None]]


async def supervise(
    stores: Sequence[Supervised],
    poll_s: float = POLL_SECONDS,
    first_delay_s: float = FIRST_DELAY_SECONDS,
    max_delay_s: float = MAX_DELAY_SECONDS,
) -> None:
    """Poll each store every `poll_s` seconds and restart it when it died, waiting `first_delay_s` before
    the first try and twice as long before each next one (at most `max_delay_s`); runs until cancelled."""
    await asyncio.gather(*(_watch(store, poll_s, first_delay_s, max_delay_s) for store in stores))


async def _watch(store: Supervised, poll_s: float, first_delay_s: float, max_delay_s: float) -> None:
    delay = first_delay_s
    up_since = time.monotonic()
    while True:
        await asyncio.sleep(poll_s)
        if store.alive():
            if time.monotonic() - up_since > STABLE_SECONDS:
                delay = first_delay_s
            continue
        log.error("embedded %s died; restarting it in %.0f s", store.name, delay)
        while True:
            await asyncio.sleep(delay)
            delay = min(delay * 2, max_delay_s)
            try:
                await store.restart()
                break
            except Exception:  # a restart can fail while the dead server's files are still held
                log.warning(
                    "restarting embedded %s failed; next try in %.0f s", store.name, delay, exc_info=True
                )
        log.warning("embedded %s restarted", store.name)
        up_since = time.monotonic()
