"""Idempotency keys (DESIGN 14, after the IETF `Idempotency-Key` draft): what a key may look like,
how long its first answer is kept, and the request's fingerprint that a second use must match.

A key names one operation of one caller. The same key with the same request within the window
gets the first answer again; the same key with another request is a mistake on the caller's side
(422), never a second operation."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta

from teamgate import errors

TTL = timedelta(hours=24)
MAX_KEY_LENGTH = 255  # the draft sets no bound; UUIDs (36) and Stripe-style keys (<= 255) fit


def parse_key(sent: str) -> str:
    """The key from the header's value. The draft makes it a Structured Field string (`"abc"`);
    the unquoted form most clients send is taken as well. Raises ValidationFailed."""
    key = sent.strip()
    if len(key) >= 2 and key[0] == key[-1] == '"':
        key = key[1:-1]
    if not 0 < len(key) <= MAX_KEY_LENGTH or not key.isascii() or not key.isprintable() or '"' in key \
            or "\\" in key:
        raise errors.ValidationFailed("Idempotency-Key", f"must be 1 to {MAX_KEY_LENGTH} printable ASCII characters "
                                      "(a UUID, say), without quotes or backslashes inside")
    return key


def key_hash(key: str) -> bytes:
    """Stored instead of the key: a fixed width, and nothing the caller chose is kept in clear."""
    return hashlib.sha256(key.encode()).digest()


def fingerprint(method: str, path: str, query: str, team: str | None, body: bytes) -> bytes:
    """What makes two requests the same: method, path and query, the team they name (X-Team-Id)
    and the body. A JSON body counts by its content, so a retry that serialises the same object
    with its keys in another order or other spacing is still the same request."""
    try:
        content = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    except (ValueError, UnicodeDecodeError):  # not JSON (or none): the bytes themselves
        content = body
    digest = hashlib.sha256()
    for part in (method.upper().encode(), path.encode(), query.encode(), (team or "").encode(), content):
        digest.update(len(part).to_bytes(8, "big") + part)  # length-prefixed: no two splits collide
    return digest.digest()
