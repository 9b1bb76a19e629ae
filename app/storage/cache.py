"""Redis as a JSON key-value cache with TTLs (the redis-py client's only owner besides arq)."""

from __future__ import annotations

import json
from typing import cast

import redis.asyncio as aioredis
import redis.exceptions
from redis.asyncio.lock import Lock

JsonObject = dict[str, object]


# A semaphore as a sorted set of holders scored by when they took their slot; stale holders drop out.
_ACQUIRE_SLOT = """
local now = redis.call('TIME')
local t = tonumber(now[1]) + tonumber(now[2]) / 1e6
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', t - tonumber(ARGV[3]))
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[2]) then
  redis.call('ZADD', KEYS[1], t, ARGV[1])
  redis.call('EXPIRE', KEYS[1], math.ceil(tonumber(ARGV[3])) + 1)
  return 1
end
return 0
"""


class Cache:
    """Namespaced JSON values in Redis; every key is prefixed `lh:`."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._redis = aioredis.Redis.from_url(url, decode_responses=True)

    async def get(self, key: str) -> JsonObject | None:
        raw = await self._redis.get(f"lh:{key}")
        return None if raw is None else cast(JsonObject, json.loads(raw))

    async def set(self, key: str, value: JsonObject, ttl_seconds: int) -> None:
        await self._redis.set(f"lh:{key}", json.dumps(value), ex=max(ttl_seconds, 1))

    async def delete(self, *keys: str) -> None:
        if keys:
            await self._redis.delete(*(f"lh:{k}" for k in keys))

    async def incr(self, key: str, ttl_seconds: int, by: int = 1) -> int:
        """Add `by` (one) to a counter; its expiry is set by the first increment (a fixed window)."""
        async with self._redis.pipeline(transaction=True) as pipe:  # SET NX + INCR: Redis 6 has no EXPIRE NX
            pipe.set(f"lh:{key}", 0, ex=max(ttl_seconds, 1), nx=True)
            pipe.incrby(f"lh:{key}", by)
            _, count = await pipe.execute()
        return int(count)

    async def counter(self, key: str) -> tuple[int, int]:
        """A counter's value and its seconds to live ((0, 0) when absent)."""
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.get(f"lh:{key}")
            pipe.ttl(f"lh:{key}")
            raw, ttl = await pipe.execute()
        return (int(raw), max(int(ttl), 0)) if raw is not None else (0, 0)

    async def bump(self, key: str) -> int:
        """Raise a counter by one (atomic, no expiry) and return its new value."""
        return int(await self._redis.incr(f"lh:{key}"))

    async def ping(self) -> bool:
        """Tell whether Redis answers."""
        try:
            return bool(await self._redis.ping())
        except Exception:
            return False

    async def close(self) -> None:
        await self._redis.aclose()

    def lock(self, name: str, timeout_s: float, wait_s: float) -> Lock:
        """A distributed lock (auto-released after `timeout_s`); use as `async with`."""
        return Lock(self._redis, f"lh:lock:{name}", timeout=timeout_s, blocking_timeout=wait_s)

    async def acquire_slot(self, name: str, token: str, limit: int, ttl_seconds: float) -> bool:
        """Take one of `limit` slots of a semaphore (a slot left unreleased expires after `ttl_seconds`)."""
        key = f"lh:sem:{name}"
        return bool(await self._redis.eval(_ACQUIRE_SLOT, 1, key, token, limit, ttl_seconds))

    async def release_slot(self, name: str, token: str) -> None:
        await self._redis.zrem(f"lh:sem:{name}", token)

    async def push(self, name: str, value: str) -> None:
        """Append to a Redis list (dead letters)."""
        await self._redis.rpush(f"lh:{name}", value)

    async def pop_all(self, name: str, limit: int) -> list[str]:
        """Take up to `limit` items from the head of a Redis list."""
        items = await self._redis.lpop(f"lh:{name}", limit)
        return list(items or [])

    async def add_to_set(self, name: str, member: str, ttl_seconds: int) -> None:
        """Add to a Redis set and (re)set its expiry."""
        key = f"lh:{name}"
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.sadd(key, member)
            pipe.expire(key, ttl_seconds)
            await pipe.execute()

    async def set_members(self, name: str) -> frozenset[str]:
        return frozenset(await self._redis.smembers(f"lh:{name}"))

    async def list_length(self, name: str) -> int:
        return int(await self._redis.llen(f"lh:{name}"))

    async def list_items(self, name: str, limit: int) -> list[str]:
        """The first `limit` items of a Redis list, left in place."""
        return list(await self._redis.lrange(f"lh:{name}", 0, limit - 1))


def is_redis_outage(exc: BaseException) -> bool:
    """Tell whether `exc` says Redis cannot be reached or is not ready (not a failed command)."""
    return isinstance(exc, redis.exceptions.ConnectionError | redis.exceptions.TimeoutError)
