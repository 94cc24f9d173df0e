"""Stored first answers of idempotent requests, always looked up by their caller and key."""

from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy import delete, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from teamgate.storage.db import rowcount
from teamgate.storage.models import IdempotencyRecord
from teamgate.storage.scope import enforced

_LOCK = text("SELECT pg_try_advisory_xact_lock(:k)")


async def try_lock(db: AsyncSession, caller: str, key_hash: bytes) -> bool:
    """Hold this caller's key until the transaction ends; False when another transaction holds it
    (a request with the same key in flight). On PostgreSQL an advisory lock, which answers at once
    rather than waiting. SQLite runs one writing transaction at a time (each begins IMMEDIATE), so
    no two requests are ever in flight together there: always True."""
    if not enforced(db):
        return True
    lock_id = int.from_bytes(hashlib.sha256(caller.encode() + b"\0" + key_hash).digest()[:8], "big", signed=True)
    return bool(await db.scalar(_LOCK, {"k": lock_id}))


async def find(db: AsyncSession, caller: str, key_hash: bytes) -> IdempotencyRecord | None:
    return await db.scalar(select(IdempotencyRecord).where(IdempotencyRecord.caller == caller,
                                                           IdempotencyRecord.key_hash == key_hash))


async def remove(db: AsyncSession, record: IdempotencyRecord) -> None:
    await db.delete(record)
    await db.flush()


def add(db: AsyncSession, record: IdempotencyRecord) -> IdempotencyRecord:
    db.add(record)
    return record


async def purge(db: AsyncSession, before: datetime) -> int:
    """Delete every caller's records that expired before `before` (on PostgreSQL through a definer
    function, which also holds to the database's clock: nothing unexpired goes)."""
    if enforced(db):
        return int(await db.scalar(text("SELECT teamgate_idempotency_purge(:before)"), {"before": before}) or 0)
    return rowcount(await db.execute(delete(IdempotencyRecord).where(IdempotencyRecord.expires_at <= before)))
