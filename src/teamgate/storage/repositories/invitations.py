"""Invitations: lookups, pages by effective status, and the race-free conditional updates."""

from __future__ import annotations

import functools
from datetime import datetime

from sqlalchemy import BindParameter, Select, and_, bindparam, func, or_, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from teamgate.domain.invitation import EXPIRED, PENDING, REVOKED
from teamgate.storage.db import rowcount
from teamgate.storage.models import Invitation
from teamgate.storage.scope import act_for_found


async def in_team(db: AsyncSession, team_id: str, invitation_id: str) -> Invitation | None:
    return await db.scalar(select(Invitation).where(Invitation.team_id == team_id, Invitation.id == invitation_id))


# The hot paths' statements are built once with their parameters left open (as in api_keys.py):
# SQLAlchemy then neither rebuilds nor re-keys them on each request
_BY_TOKEN_HASH = select(Invitation).where(
    or_(Invitation.token_hash == bindparam("h"), Invitation.link_token_hash == bindparam("h"))).options(
    joinedload(Invitation.team, innerjoin=True), joinedload(Invitation.inviter_key),
    joinedload(Invitation.inviter_membership))
_PENDING_FOR_EMAIL = select(Invitation).where(
    Invitation.team_id == bindparam("team"), Invitation.email_normalized == bindparam("email"),
    Invitation.status == PENDING)


async def by_token_hash(db: AsyncSession, token_hash: bytes) -> Invitation | None:
    """The invitation behind a token, from any team; the transaction is then scoped to its team.
    Its team and the key or membership that sent it come in the same statement."""
    if not await act_for_found(db, "SELECT id, team_id FROM teamgate_invitation_by_token(:h)", {"h": token_hash},
                               scope="team_id"):
        return None
    return await db.scalar(_BY_TOKEN_HASH, {"h": token_hash})


async def insert_unless_pending(db: AsyncSession, invitation: Invitation) -> bool:
    """Insert a new pending invitation, unless the team already has one for that email: False
    when a concurrent create got there first. The partial unique index decides, in the INSERT
    itself (ON CONFLICT DO NOTHING), so no savepoint is needed to survive losing."""
    await db.flush()  # what this transaction changed first (an expired one's new status) must reach the index
    values = {column.key: getattr(invitation, column.key) for column in Invitation.__table__.columns}
    inserted = await db.scalar(_insert_unless_pending(db.get_bind().dialect.name), values)
    return inserted is not None


@functools.cache  # one per dialect, its values left open: not rebuilt and re-keyed, all its values, per create
def _insert_unless_pending(dialect: str):
    dialect_insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    columns = {c.key: bindparam(c.key, type_=c.type) for c in Invitation.__table__.columns}
    return dialect_insert(Invitation).values(columns).on_conflict_do_nothing(
        index_elements=["team_id", "email_normalized"],
        index_where=text(f"status = '{PENDING}'"),  # the index's own predicate: a bound parameter would not match it
    ).returning(Invitation.id)


async def pending_for_email(db: AsyncSession, team_id: str, email_normalized: str) -> Invitation | None:
    return await db.scalar(_PENDING_FOR_EMAIL, {"team": team_id, "email": email_normalized})


def _status_filter(status: str, now: datetime | BindParameter):
    if status == PENDING:
        return and_(Invitation.status == PENDING, Invitation.expires_at > now)
    if status == EXPIRED:
        return or_(Invitation.status == EXPIRED, and_(Invitation.status == PENDING, Invitation.expires_at <= now))
    return Invitation.status == status


@functools.cache  # one statement per shape of page (the filters present), its values left open
def _page(status: str, delivery: bool, after: bool) -> Select:
    query = select(Invitation).where(Invitation.team_id == bindparam("team"))
    if status in ("all", PENDING, EXPIRED):
        query = query.where(_status_filter(status, bindparam("now"))) if status != "all" else query
    else:
        query = query.where(Invitation.status == bindparam("status"))
    if delivery:
        query = query.where(Invitation.delivery_status == bindparam("delivery"))
    if after:
        query = query.where(Invitation.id < bindparam("after"))
    return query.order_by(Invitation.id.desc()).limit(bindparam("limit"))


async def page(db: AsyncSession, team_id: str, *, status: str, now: datetime, limit: int,
               after_id: str | None, delivery: str | None = None) -> list[Invitation]:
    """Newest first; `after_id` is the last id of the previous page ('all' means every status)."""
    shape = status if status in ("all", PENDING, EXPIRED) else "one"
    return list(await db.scalars(_page(shape, bool(delivery), bool(after_id)), {
        "team": team_id, "now": now, "status": status, "delivery": delivery, "after": after_id, "limit": limit}))


@functools.cache
def _count_pending(bounded: bool) -> Select:
    pending = select(Invitation.id).where(Invitation.team_id == bindparam("team"),
                                          _status_filter(PENDING, bindparam("now")))
    return select(func.count()).select_from((pending.limit(bindparam("at_most")) if bounded else pending).subquery())


async def count_pending(db: AsyncSession, team_id: str, now: datetime, *, at_most: int | None = None) -> int:
    """Pending, unexpired invitations of the team; with `at_most`, counting stops there (a bounded cost)."""
    counted = await db.scalar(_count_pending(at_most is not None), {"team": team_id, "now": now, "at_most": at_most})
    return counted or 0


async def transition(db: AsyncSession, invitation_id: str, *, from_statuses: tuple[str, ...],
                     unexpired_at: datetime | None = None, presented_hash: bytes | None = None, **values) -> bool:
    """Move an invitation only if it is still in one of `from_statuses` (and unexpired, and
    still behind the token presented, if asked: a resend rotates both tokens).

    One conditional UPDATE: of two concurrent callers exactly one sees a row changed.
    """
    query = update(Invitation).where(Invitation.id == invitation_id, Invitation.status.in_(from_statuses))
    if unexpired_at is not None:
        query = query.where(Invitation.expires_at > unexpired_at)
    if presented_hash is not None:
        query = query.where(or_(Invitation.token_hash == presented_hash, Invitation.link_token_hash == presented_hash))
    result = await db.execute(query.values(**values).execution_options(synchronize_session=False))
    return rowcount(result) == 1


async def remind(db: AsyncSession, invitation_id: str, *, now: datetime, **values) -> bool:
    """Write a reminder (its new mail token, the time) only if it is still due: pending, unexpired,
    and not reminded since its last send. One conditional UPDATE: of several workers that reach
    the same invitation, exactly one reminds it."""
    result = await db.execute(update(Invitation).where(
        Invitation.id == invitation_id, Invitation.status == PENDING, Invitation.expires_at > now,
        Invitation.last_sent_at.is_not(None),
        or_(Invitation.reminded_at.is_(None), Invitation.reminded_at < Invitation.last_sent_at),
    ).values(send_count=Invitation.send_count + 1, **values).execution_options(synchronize_session=False))
    return rowcount(result) == 1


async def revoke_pending_sent_by(db: AsyncSession, team_id: str, user_id: str, now: datetime) -> list[str]:
    """Revoke every pending (or expired-by-time) invitation a person sent in a team; their ids."""
    return list(await db.scalars(
        update(Invitation).where(Invitation.team_id == team_id, Invitation.invited_by_user_id == user_id,
                                 Invitation.status.in_((PENDING, EXPIRED)))
        .values(status=REVOKED, revoked_at=now).returning(Invitation.id).execution_options(synchronize_session=False)))


async def refresh(db: AsyncSession, invitation: Invitation) -> Invitation:
    await db.refresh(invitation)
    return invitation
