"""Abuse limits on the `limits` library: in memory by default, shared through Redis when
TEAMGATE_RATE_LIMIT_STORAGE=redis://... (so every process counts together)."""

from __future__ import annotations

import math
import time

from limits import parse
from limits.aio.strategies import MovingWindowRateLimiter
from limits.storage import storage_from_string

from teamgate import errors

SIGN_IN_PER_ACCOUNT = "10/minute"
SIGN_IN_PER_IP = "30/minute"
TOKEN_USE_PER_IP = "60/minute"


class RateLimits:
    def __init__(self, storage_uri: str) -> None:
        uri = storage_uri if storage_uri.startswith("async+") else f"async+{storage_uri}"
        self._limiter = MovingWindowRateLimiter(storage_from_string(uri))

    async def hit(self, rule: str, *key: str) -> None:
        """Count one attempt; raises RateLimited (with the seconds to wait) once the rule is spent."""
        limit = parse(rule)
        if await self._limiter.hit(limit, *key):
            return
        stats = await self._limiter.get_window_stats(limit, *key)
        wait = max(1, math.ceil(stats.reset_time - time.time()))
        raise errors.RateLimited("Too many attempts; wait before trying again.", retryAfter=wait)
