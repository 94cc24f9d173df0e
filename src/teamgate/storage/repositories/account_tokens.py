"""Account tokens (password-reset and verification links) and the sessions of one account.

A token is found by its hash before anyone is known, so on PostgreSQL the lookup crosses users
through the narrow definer function and scopes the rest of the transaction to the owner."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from teamgate.storage.db import rowcount
from teamgate.storage.models import AccountToken, Session, User
from teamgate.storage.scope import act_for_found

_LOOKUP = "SELECT id, user_id FROM teamgate_account_token_by_hash(:h, :now)"


async def usable(db: AsyncSession, token_hash: bytes, purpose: str, now: datetime) -> tuple[AccountToken, User] | None:
    """The unused, unexpired token of this purpose behind a hash, and its account."""
    if not await act_for_found(db, _LOOKUP, {"h": token_hash, "now": now}, scope="user_id"):
        return None
    row = (await db.execute(
        select(AccountToken, User).join(User, User.id == AccountToken.user_id)
        .where(AccountToken.token_hash == token_hash, AccountToken.purpose == purpose,
               AccountToken.used_at.is_(None), AccountToken.expires_at > now)
    )).first()
    return (row[0], row[1]) if row else None


async def claim(db: AsyncSession, token_id: str, now: datetime) -> bool:
    """Use a token once: one conditional update, so of two concurrent uses exactly one wins."""
    result = await db.execute(
        update(AccountToken)
        .where(AccountToken.id == token_id, AccountToken.used_at.is_(None), AccountToken.expires_at > now)
        .values(used_at=now).execution_options(synchronize_session=False))
    return rowcount(result) == 1


async def retire(db: AsyncSession, user_id: str, now: datetime, *, purpose: str | None = None) -> None:
    """The account's unused tokens (of one purpose, or all) stop working."""
    condition = [AccountToken.user_id == user_id, AccountToken.used_at.is_(None)]
    if purpose is not None:
        condition.append(AccountToken.purpose == purpose)
    await db.execute(update(AccountToken).where(*condition).values(used_at=now)
                     .execution_options(synchronize_session=False))


async def live_sessions(db: AsyncSession, user_id: str, *, now: datetime, seen_after: datetime) -> list[Session]:
    return list(await db.scalars(
        select(Session).where(Session.user_id == user_id, Session.expires_at > now, Session.last_seen_at > seen_after)
        .order_by(Session.last_seen_at.desc(), Session.id)))


async def end_session_of(db: AsyncSession, user_id: str, session_id: str) -> bool:
    """End one session, only if it is this account's. False when there was none such."""
    result = await db.execute(delete(Session).where(Session.id == session_id, Session.user_id == user_id)
                              .execution_options(synchronize_session=False))
    return rowcount(result) == 1


async def end_sessions(db: AsyncSession, user_id: str, *, keep: str | None = None) -> int:
    """End every session of the account (but `keep`, the caller's own, when given)."""
    condition = [Session.user_id == user_id]
    if keep is not None:
        condition.append(Session.id != keep)
    result = await db.execute(delete(Session).where(*condition).execution_options(synchronize_session=False))
    return rowcount(result)
