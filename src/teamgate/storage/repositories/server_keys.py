"""Server keys (DESIGN 12): a product backend's key across teams. The service finds one only by
its secret's hash; making, listing and revoking them is the operator's (the CLI, as the owner)."""

from __future__ import annotations

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from teamgate.storage.models import ServerKey
from teamgate.storage.scope import act_for_facts, enforced, function_rows

# on every request a product's backend makes: built once, the hash left open. PostgreSQL: the
# definer function finds the live key, returns its row and lets the transaction see that row
# alone, in one statement (migration 0013); the row is persistent (its last use is written).
_FACTS = function_rows("teamgate_server_key_facts(:h)", (None, ServerKey))
_LIVE_BY_HASH = select(ServerKey).where(ServerKey.secret_hash == bindparam("h"), ServerKey.revoked_at.is_(None))


async def active_by_hash(db: AsyncSession, secret_hash: bytes) -> ServerKey | None:
    """The live key behind a secret; the transaction may then see that key's row and no other."""
    if not enforced(db):
        return await db.scalar(_LIVE_BY_HASH, {"h": secret_hash})
    found = await act_for_facts(db, _FACTS, {"h": secret_hash}, scope="server_key_id", scope_of=lambda row: row[0].id)
    return found[0] if found is not None else None


def add(db: AsyncSession, key: ServerKey) -> ServerKey:
    db.add(key)
    return key


async def by_id(db: AsyncSession, key_id: str) -> ServerKey | None:
    return await db.get(ServerKey, key_id)


async def all_keys(db: AsyncSession) -> list[ServerKey]:
    """Every key, newest first (an operator's list: a handful of products)."""
    return list(await db.scalars(select(ServerKey).order_by(ServerKey.id.desc())))
