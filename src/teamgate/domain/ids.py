"""Opaque, prefixed, time-ordered ids (`inv_01J...`): ULID-shaped, never sequential integers."""

from __future__ import annotations

import re
import secrets
import threading
import time

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_RANDOM_BITS = 80
_lock = threading.Lock()
_last = 0


def new_id(prefix: str) -> str:
    """48 bits of milliseconds then 80 random bits, in Crockford base32 (26 characters).

    Time first keeps ids in creation order, so `ORDER BY id` pages newest-first through an
    index; within one millisecond the next id is the previous one plus a random step, so ids
    made by one process never go backwards. The random part keeps them unguessable.
    """
    global _last
    with _lock:
        value = (int(time.time() * 1000) << _RANDOM_BITS) | secrets.randbits(_RANDOM_BITS)
        if value <= _last:
            value = _last + 1 + secrets.randbits(32)
        _last = value
    chars = []
    for _ in range(26):
        chars.append(_CROCKFORD[value & 31])
        value >>= 5
    return f"{prefix}_{''.join(reversed(chars))}"


_SHAPE = re.compile(r"[a-z]{2,8}_[0-9A-Z]{26}")


def is_id(value: str) -> bool:
    """Whether `value` could be one of our ids. Anything else names nothing: callers answer 404
    without asking the database (which would refuse a NUL byte, say, with an error)."""
    return _SHAPE.fullmatch(value) is not None

