"""Login throttling: failed logins counted per email and per client address in Redis, for a while."""

from __future__ import annotations

import hashlib
import math

from app.errors import TooManyRequests
from app.storage import Storage


def _counters(storage: Storage, email: str, client_ip: str) -> list[tuple[str, int, str]]:
    """(cache key, limit, what is blocked) for the email and the address; the email is hashed."""
    digest = hashlib.sha256(email.strip().lower().encode()).hexdigest()
    s = storage.settings
    return [
        (f"login-failures:email:{digest}", s.login_max_failures, "for this email"),
        (f"login-failures:ip:{client_ip}", s.login_max_failures_per_ip, "from your address"),
    ]


async def check(storage: Storage, email: str, client_ip: str) -> None:
    """Raise TooManyRequests while the email or the address has used up its failed attempts."""
    for key, limit, what in _counters(storage, email, client_ip):
        failures, seconds = await storage.cache.counter(key)
        if failures >= limit:
            minutes = max(1, math.ceil(seconds / 60))
            raise TooManyRequests(
                f"Too many failed logins {what}. Try again in {minutes} minute{'s' if minutes > 1 else ''}.",
                seconds,
            )


async def failed(storage: Storage, email: str, client_ip: str) -> None:
    """Count a failed attempt against the email and the address."""
    for key, _, _ in _counters(storage, email, client_ip):
        await storage.cache.incr(key, storage.settings.login_block_seconds)


async def succeeded(storage: Storage, email: str) -> None:
    """Forget the email's failures (the address's stay: one success must not reset a password spray)."""
    key, _, _ = _counters(storage, email, "")[0]
    await storage.cache.delete(key)
