"""Server keys (DESIGN 12): a product backend's key across teams. The service finds one only by
its secret's hash; making, listing and revoking them is the operator's (the CLI, as the owner)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from teamgate.storage.models import ServerKey
from teamgate.storage.scope import act_for_found


async def active_by_hash(db: AsyncSession, secret_hash: bytes) -> ServerKey | None:
    """The live key behind a secret; the transaction may then see that key's row and no other."""
    if not await act_for_found(db, "SELECT id AS server_key_id FROM teamgate_server_key_by_hash(:h)",
                               {"h": secret_hash}, scope="server_key_id"):
        return None
    return await db.scalar(select(ServerKey).where(ServerKey.secret_hash == secret_hash,
                                                   ServerKey.revoked_at.is_(None)))


def add(db: AsyncSession, key: ServerKey) -> ServerKey:
    db.add(key)
    return key


async def by_id(db: AsyncSession, key_id: str) -> ServerKey | None:
    return await db.get(ServerKey, key_id)


async def all_keys(db: AsyncSession) -> list[ServerKey]:
    """Every key, newest first (an operator's list: a handful of products)."""
    return list(await db.scalars(select(ServerKey).order_by(ServerKey.id.desc())))
