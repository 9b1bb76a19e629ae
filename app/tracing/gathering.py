"""Work of concurrent jobs gathered per key and done together: one fold, one insert or one stored request
for many jobs instead of one each. chDB above all writes a few large blocks far faster than many small
ones, and work done per request under a project's lock caps that project at a few requests a second."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")
# Does the gathered items of one key; answers one result (or the exception that item failed with) per item.
Handler = Callable[[str, list[T]], Awaitable[Sequence[R | Exception]]]


class Gathering(Generic[T, R]):
    """Items submitted under one key wait `wait_s`, then one call handles all that came; the items that
    arrive meanwhile make the next call, so the more load, the larger the groups. Keys run side by side,
    the calls of one key one after another. A submitter returns with its own item's result."""

    def __init__(self, handle: Handler[T, R], wait_s: float, name: str) -> None:
        self._handle = handle
        self._wait_s = wait_s
        self._name = name
        self._pending: dict[str, list[tuple[T, asyncio.Future[R]]]] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}

    async def submit(self, key: str, item: T) -> R:
        done: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._pending.setdefault(key, []).append((item, done))
        task = self._tasks.get(key)
        if task is None or task.done():
            self._tasks[key] = asyncio.create_task(self._run(key), name=f"{self._name}:{key}")
        return await done

    async def close(self, *, finish: bool) -> None:
        """Do what is gathered now (`finish`, e.g. before the job queue closes) or drop it (the jobs
        waiting on it are cut off by the shutdown and run again later)."""
        for task in list(self._tasks.values()):
            if not finish:
                task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self, key: str) -> None:
        try:
            while self._pending.get(key):
                await asyncio.sleep(self._wait_s)
                taken = self._pending.pop(key)
                try:
                    results: Sequence[R | Exception] = await self._handle(key, [item for item, _ in taken])
                except Exception as exc:
                    results = [exc] * len(taken)
                for (_, done), result in zip(taken, results, strict=True):
                    if done.done():  # its job was cancelled meanwhile (a shutdown)
                        continue
                    if isinstance(result, Exception):
                        done.set_exception(result)
                    else:
                        done.set_result(result)
        finally:
            if self._tasks.get(key) is asyncio.current_task():
                del self._tasks[key]
