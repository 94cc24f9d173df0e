"""Users, sessions and setup tokens.

Lookups that come before anyone is known (by email, external id or session token, counting accounts) cross
the row-level-security scope, so on PostgreSQL they go through the narrow definer functions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, delete, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from teamgate.storage.models import Session, SetupToken, User
from teamgate.storage.scope import act_for, act_for_facts, enforced, function_rows

# cross-user definer lookups on the token paths: their statements made once
_USER_BY_EMAIL = text("SELECT id FROM teamgate_user_by_email(:e)")
_IS_SYSTEM_OWNER = text("SELECT teamgate_is_system_owner(:u)")


async def user_by_id(db: AsyncSession, user_id: str) -> User | None:
    return await db.get(User, user_id)


async def user_id_by_email(db: AsyncSession, email_normalized: str) -> str | None:
    if enforced(db):
        return await db.scalar(_USER_BY_EMAIL, {"e": email_normalized})
    return await db.scalar(select(User.id).where(User.email_normalized == email_normalized))


async def user_id_by_external_id(db: AsyncSession, external_id: str) -> str | None:
    """The account a product knows by `external_id` (DESIGN 12), across every team and user."""
    if enforced(db):
        return await db.scalar(text("SELECT id FROM teamgate_user_by_external_id(:x)"), {"x": external_id})
    return await db.scalar(select(User.id).where(User.external_id == external_id))


async def act_as_user_with_external_id(db: AsyncSession, external_id: str) -> User | None:
    """The account with this external id, with the transaction scoped to it (a server key's
    person: on every request a product's backend makes for one, so one statement on PostgreSQL,
    the definer function returning the row and setting the scope, migration 0013)."""
    if not enforced(db):
        return await db.scalar(_USER_BY_EXTERNAL_ID, {"x": external_id})
    found = await act_for_facts(db, _USER_FACTS_BY_EXTERNAL_ID, {"x": external_id}, scope="user_id",
                                scope_of=lambda row: row[0].id)
    return found[0] if found is not None else None


_USER_FACTS_BY_EXTERNAL_ID = function_rows("teamgate_user_facts_by_external_id(:x)", (None, User))
_USER_BY_EXTERNAL_ID = select(User).where(User.external_id == bindparam("x"))


async def email_taken(db: AsyncSession, email_normalized: str) -> bool:
    return await user_id_by_email(db, email_normalized) is not None


async def act_as_user_with_email(db: AsyncSession, email_normalized: str) -> User | None:
    """The account with this email, with the transaction scoped to it (sign-in, operator commands)."""
    user_id = await user_id_by_email(db, email_normalized)
    if user_id is None:
        return None
    await act_for(db, user_id=user_id)
    return await db.get(User, user_id)


async def user_by_email(db: AsyncSession, email_normalized: str) -> User | None:
    """The account with this email, if the transaction may see it (act_as_user_with_email scopes it)."""
    return await db.scalar(select(User).where(User.email_normalized == email_normalized))


async def hold_exclusively(db: AsyncSession, user_id: str) -> None:
    """Lock the account until the transaction ends: requests signed in to it wait (see session_by_hash)."""
    await db.execute(select(User.id).where(User.id == user_id).with_for_update())


async def password_hash_now(db: AsyncSession, user_id: str) -> str | None:
    """The account's password hash as committed now, held (shared) until the transaction ends."""
    return await db.scalar(select(User.password_hash).where(User.id == user_id).with_for_update(read=True)
                           .execution_options(populate_existing=True))


async def is_system_owner(db: AsyncSession, user_id: str) -> bool:
    if enforced(db):
        return bool(await db.scalar(_IS_SYSTEM_OWNER, {"u": user_id}))
    return bool(await db.scalar(select(User.is_system_owner).where(User.id == user_id)))


async def count_users(db: AsyncSession) -> int:
    if enforced(db):
        return await db.scalar(text("SELECT teamgate_user_count()")) or 0
    return await db.scalar(select(func.count()).select_from(User)) or 0


async def session_by_hash(db: AsyncSession, token_hash: bytes, now: datetime) -> tuple[Session, User] | None:
    """The live session behind a token, with its user; the transaction is then scoped to that user.

    On PostgreSQL the account is also held (shared) until the transaction ends: an account
    takeover (which holds it exclusively) either waits for this request to end, or ends first, and
    then this lookup no longer finds the sessions it deleted. The definer function takes the lock
    before it reads the session, each in a statement of its own (migration 0013), in one round trip."""
    if not enforced(db):  # every SQLite transaction begins IMMEDIATE: they take turns, nothing to hold
        row = (await db.execute(_SESSION_WITH_USER, {"h": token_hash, "now": now})).first()
    else:
        row = await act_for_facts(db, _SESSION_FACTS, {"h": token_hash, "now": now}, scope="user_id",
                                  scope_of=lambda found: found[0].user_id)
    return (row[0], row[1]) if row else None


# every cookie-authenticated request runs one of these: built once, their values left open
_SESSION_FACTS = function_rows("teamgate_session_facts(:h, :now)", ("found_session", Session), ("account", User))
_SESSION_WITH_USER = (select(Session, User).join(User, User.id == Session.user_id)
                      .where(Session.token_hash == bindparam("h"), Session.expires_at > bindparam("now")))


async def delete_session(db: AsyncSession, session_id: str) -> None:
    await db.execute(delete(Session).where(Session.id == session_id))


async def usable_setup_token(db: AsyncSession, token_hash: bytes, now: datetime) -> SetupToken | None:
    return await db.scalar(select(SetupToken).where(
        SetupToken.token_hash == token_hash, SetupToken.used_at.is_(None), SetupToken.expires_at > now))


async def claim_setup_token(db: AsyncSession, token_hash: bytes, now: datetime) -> tuple[str, str | None] | None:
    """Use up a setup link in one conditional update: of concurrent claims exactly one gets
    (id, email) back; the others wait for its transaction, then match nothing.

    On PostgreSQL a transaction-scoped advisory lock first puts every setup completion in a line,
    so a claim of a second live link (two `serve` processes starting at once) sees the account
    the first made. SQLite's writers take turns already (BEGIN IMMEDIATE)."""
    if enforced(db):
        await db.execute(text("SELECT pg_advisory_xact_lock(hashtext('teamgate.setup'))"))
    row = (await db.execute(
        update(SetupToken)
        .where(SetupToken.token_hash == token_hash, SetupToken.used_at.is_(None), SetupToken.expires_at > now)
        .values(used_at=now).returning(SetupToken.id, SetupToken.email)
        .execution_options(synchronize_session=False))).first()
    return (row[0], row[1]) if row else None


async def retire_setup_tokens(db: AsyncSession, now: datetime) -> None:
    """Older setup links die when a new one is made or one is used."""
    await db.execute(update(SetupToken).where(SetupToken.used_at.is_(None)).values(used_at=now))
