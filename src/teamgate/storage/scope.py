"""The second wall between teams: on PostgreSQL every transaction says which team and which
user it acts for, and row-level security policies show and accept only their rows.

`set_config(..., true)` is local to the transaction, so a pooled connection carries nothing
from one request to the next. On SQLite there is no such wall; the data layer's filters remain.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

TEAM_SETTING = "teamgate.team_id"
USER_SETTING = "teamgate.user_id"

_SET = text("SELECT set_config(:name, :value, true)")


def enforced(db: AsyncSession) -> bool:
    return db.get_bind().dialect.name == "postgresql"


async def act_for_found(db: AsyncSession, lookup: str, params: dict, *, scope: str) -> bool:
    """Run a cross-team definer lookup that returns (id, team_id or user_id), and scope the rest of
    the transaction to what it found, so the row can then be read under the policies.
    True when it found something; always True where there is no such wall (SQLite)."""
    if not enforced(db):
        return True
    found = (await db.execute(text(lookup), params)).first()
    if found is None:
        return False
    await act_for(db, **{scope: found[1]})
    return True


async def act_for(db: AsyncSession, *, team_id: str | None = None, user_id: str | None = None) -> None:
    """Scope the rest of this transaction to a team and/or a user (bound parameters, never SQL text)."""
    if not enforced(db):
        return
    if team_id is not None:
        await db.execute(_SET, {"name": TEAM_SETTING, "value": team_id})
    if user_id is not None:
        await db.execute(_SET, {"name": USER_SETTING, "value": user_id})
