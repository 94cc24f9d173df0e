"""Bearer secrets (invitation tokens, session tokens, API keys, server keys): 256 bits, stored only as SHA-256.

A 256-bit random value cannot be guessed, so a fast hash is enough to keep the stored form
useless to a reader of the database; a slow hash would only slow every request.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets as _secrets
from datetime import datetime, timedelta

TOKEN_BYTES = 32
API_KEY_PREFIX = "tgk_"  # a team's API key
SERVER_KEY_PREFIX = "tgs_"  # a product backend's server key, across teams (DESIGN 12)
# a key's last use is written at most this often: a key used on every request is not a write on every request
LAST_USED_PRECISION = timedelta(minutes=1)


def new_token() -> str:
    """A URL-safe token of 32 random bytes (43 characters)."""
    return _secrets.token_urlsafe(TOKEN_BYTES)


def new_api_key() -> str:
    return API_KEY_PREFIX + new_token()


def new_server_key() -> str:
    return SERVER_KEY_PREFIX + new_token()


def last_use_due(last_used_at: datetime | None, now: datetime) -> bool:
    """Whether a key's last use, seen `now`, should be written (API keys and server keys alike)."""
    return last_used_at is None or now - last_used_at > LAST_USED_PRECISION


def hash_token(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def derive(secret: bytes, purpose: str, value: str) -> str:
    """A keyed digest of `value` for one purpose (e.g. a session's CSRF token)."""
    return hmac.new(secret, f"{purpose}:{value}".encode(), hashlib.sha256).hexdigest()


def same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())
