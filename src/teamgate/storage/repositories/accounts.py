"""Users, sessions and setup tokens."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from teamgate.storage.models import Session, SetupToken, User


async def user_by_id(db: AsyncSession, user_id: str) -> User | None:
    return await db.get(User, user_id)


async def user_by_email(db: AsyncSession, email_normalized: str) -> User | None:
    return await db.scalar(select(User).where(User.email_normalized == email_normalized))


async def count_users(db: AsyncSession) -> int:
    return await db.scalar(select(func.count()).select_from(User)) or 0


async def session_by_hash(db: AsyncSession, token_hash: bytes, now: datetime) -> tuple[Session, User] | None:
    row = (await db.execute(
        select(Session, User).join(User, User.id == Session.user_id)
        .where(Session.token_hash == token_hash, Session.expires_at > now)
    )).first()
    return (row[0], row[1]) if row else None


async def delete_session(db: AsyncSession, session_id: str) -> None:
    await db.execute(delete(Session).where(Session.id == session_id))


async def usable_setup_token(db: AsyncSession, token_hash: bytes, now: datetime) -> SetupToken | None:
    return await db.scalar(select(SetupToken).where(
        SetupToken.token_hash == token_hash, SetupToken.used_at.is_(None), SetupToken.expires_at > now))


async def retire_setup_tokens(db: AsyncSession, now: datetime) -> None:
    """Older setup links die when a new one is made or one is used."""
    await db.execute(update(SetupToken).where(SetupToken.used_at.is_(None)).values(used_at=now))
