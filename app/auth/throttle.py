"""Throttling, counted in Redis for a while: failed logins per email and per client address, failed
API-key attempts per public key and per client address, and the events a public key alone (browser
feedback) may send per minute, per key and client address and per key."""

from __future__ import annotations

import hashlib
import math

from app.errors import TooManyRequests
from app.storage import Storage

Counter = tuple[str, int, str]  # (cache key, limit, what is blocked)


def _counters(storage: Storage, email: str, client_ip: str) -> list[Counter]:
    """The login counters of the email and the address; the email is hashed."""
    digest = hashlib.sha256(email.strip().lower().encode()).hexdigest()
    s = storage.settings
    return [
        (f"login-failures:email:{digest}", s.login_max_failures, "for this email"),
        (f"login-failures:ip:{client_ip}", s.login_max_failures_per_ip, "from your address"),
    ]


def _api_counters(storage: Storage, public_key: str, client_ip: str) -> list[Counter]:
    """The API-key counters of the public key (hashed) and the address."""
    digest = hashlib.sha256(public_key.encode()).hexdigest()
    s = storage.settings
    return [
        (f"api-auth-failures:key:{digest}", s.api_auth_max_failures, "for this public key"),
        (f"api-auth-failures:ip:{client_ip}", s.api_auth_max_failures_per_ip, "from your address"),
    ]


def _refuse(what: str, seconds: int) -> TooManyRequests:
    minutes = max(1, math.ceil(seconds / 60))
    return TooManyRequests(
        f"Too many failed {what}. Try again in {minutes} minute{'s' if minutes > 1 else ''}.", seconds
    )


async def _check(storage: Storage, counters: list[Counter], attempts: str) -> None:
    for key, limit, what in counters:
        failures, seconds = await storage.cache.counter(key)
        if failures >= limit:
            raise _refuse(f"{attempts} {what}", seconds)


async def check(storage: Storage, email: str, client_ip: str) -> None:
    """Raise TooManyRequests while the email or the address has used up its failed attempts."""
    await _check(storage, _counters(storage, email, client_ip), "logins")


async def failed(storage: Storage, email: str, client_ip: str) -> None:
    """Count a failed attempt against the email and the address."""
    for key, _, _ in _counters(storage, email, client_ip):
        await storage.cache.incr(key, storage.settings.login_block_seconds)


async def succeeded(storage: Storage, email: str) -> None:
    """Forget the email's failures (the address's stay: one success must not reset a password spray)."""
    key, _, _ = _counters(storage, email, "")[0]
    await storage.cache.delete(key)


async def check_api_key(storage: Storage, public_key: str, client_ip: str) -> None:
    """Raise TooManyRequests while the public key or the address has used up its failed attempts."""
    await _check(storage, _api_counters(storage, public_key, client_ip), "authentications")


async def api_key_failed(storage: Storage, public_key: str, client_ip: str) -> None:
    """Count a failed API-key attempt; raise TooManyRequests once it is one over a limit."""
    ttl = storage.settings.api_auth_block_seconds
    for key, limit, what in _api_counters(storage, public_key, client_ip):
        if await storage.cache.incr(key, ttl) > limit:
            _, seconds = await storage.cache.counter(key)
            raise _refuse(f"authentications {what}", seconds or ttl)


_MINUTE = 60


async def check_public_key_rate(storage: Storage, key_id: str, client_ip: str, events: int) -> None:
    """Count `events` sent with a public key alone from an address; raise TooManyRequests (with the
    seconds left in the minute) once the key + address, or the key as a whole, is over its limit per
    minute. Events refused for the address do not count against the key, so one noisy address cannot
    use up what every browser shares."""
    s = storage.settings
    counters = [
        (f"public-key-events:{key_id}:ip:{client_ip}", s.public_key_events_per_minute, "from your address"),
        (f"public-key-events:{key_id}", s.public_key_events_per_minute_per_key, "for this public key"),
    ]
    for key, limit, what in counters:
        if await storage.cache.incr(key, _MINUTE, by=max(events, 1)) > limit:
            _, seconds = await storage.cache.counter(key)
            raise TooManyRequests(
                f"Too many events sent with the public key alone {what}: at most {limit} a minute. "
                f"Try again in {seconds or _MINUTE} seconds.",
                seconds or _MINUTE,
            )
