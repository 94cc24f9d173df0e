"""Opaque, prefixed, time-ordered ids (`inv_01J...`): ULID-shaped, never sequential integers."""

from __future__ import annotations

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
