"""Opaque, prefixed, time-ordered ids (`inv_01J...`): ULID-shaped, never sequential integers."""

from __future__ import annotations

import secrets
import time

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_id(prefix: str) -> str:
    """48 bits of milliseconds then 80 random bits, in Crockford base32 (26 characters).

    Time first keeps ids roughly in creation order, so `ORDER BY id` pages newest-first
    through an index, and the random part keeps them unguessable.
    """
    value = (int(time.time() * 1000) << 80) | secrets.randbits(80)
    chars = []
    for _ in range(26):
        chars.append(_CROCKFORD[value & 31])
        value >>= 5
    return f"{prefix}_{''.join(reversed(chars))}"
