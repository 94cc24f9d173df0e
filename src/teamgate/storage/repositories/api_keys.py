"""API keys."""

from __future__ import annotations

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.attributes import set_committed_value

from teamgate.storage.models import ApiKey, Team
from teamgate.storage.scope import act_for_facts, enforced, function_rows

# Statements on every authenticated request are built once, with their parameters left open: a
# statement object keeps its cache key, so SQLAlchemy finds its compiled form without rebuilding
# or re-keying it (benchmarks/README.md, issue 17: what that saves per request).
# PostgreSQL: the definer function finds the live key across teams, returns it with its team and
# scopes the transaction to that team, in one statement (migration 0013). The rows are loaded as
# persistent objects: a key's last use is written through them.
_FACTS = function_rows("teamgate_api_key_facts(:h)", ("api_key", ApiKey), ("team", Team))
# SQLite has no wall to cross: the key joined to its team
_LIVE_BY_HASH = (select(ApiKey).where(ApiKey.secret_hash == bindparam("h"), ApiKey.revoked_at.is_(None))
                 .options(joinedload(ApiKey.team, innerjoin=True)))  # most requests read the team next


async def active_by_hash(db: AsyncSession, secret_hash: bytes) -> ApiKey | None:
    """The live key behind a secret, from any team, with its team; the transaction is then scoped
    to its team."""
    if not enforced(db):
        return await db.scalar(_LIVE_BY_HASH, {"h": secret_hash})
    found = await act_for_facts(db, _FACTS, {"h": secret_hash}, scope="team_id", scope_of=lambda row: row[0].team_id)
    if found is None:
        return None
    key, team = found
    set_committed_value(key, "team", team)  # as a joined load would: most requests read the team next
    return key


async def by_id(db: AsyncSession, key_id: str) -> ApiKey | None:
    """A key by id, from any team the transaction may see; no round trip when the token lookup
    that led here already loaded it (the invitation's sending key)."""
    return await db.get(ApiKey, key_id)


async def in_team(db: AsyncSession, team_id: str, key_id: str) -> ApiKey | None:
    return await db.scalar(select(ApiKey).where(ApiKey.team_id == team_id, ApiKey.id == key_id))


async def page(db: AsyncSession, team_id: str, *, limit: int, after_id: str | None) -> list[ApiKey]:
    query = select(ApiKey).where(ApiKey.team_id == team_id)
    if after_id:
        query = query.where(ApiKey.id < after_id)
    return list(await db.scalars(query.order_by(ApiKey.id.desc()).limit(limit)))


async def live_by_creator(db: AsyncSession, team_id: str, user_id: str) -> list[ApiKey]:
    """The unrevoked keys one person made in one team, locked: a concurrent revoke or a second
    demotion of the same person waits, so each key is changed once."""
    return list(await db.scalars(select(ApiKey).where(
        ApiKey.team_id == team_id, ApiKey.created_by_user_id == user_id, ApiKey.revoked_at.is_(None))
        .order_by(ApiKey.id).with_for_update()))
