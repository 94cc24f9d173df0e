"""Invitations: lookups, pages by effective status, and the race-free conditional updates."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import (
    BindParameter,
    Boolean,
    Select,
    String,
    and_,
    bindparam,
    column,
    func,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from teamgate.domain.invitation import EXPIRED, PENDING, REVOKED
from teamgate.storage.db import rowcount
from teamgate.storage.models import ApiKey, Invitation, Membership, Team, User
from teamgate.storage.scope import act_for_facts, enforced, function_rows


async def in_team(db: AsyncSession, team_id: str, invitation_id: str) -> Invitation | None:
    return await db.scalar(select(Invitation).where(Invitation.team_id == team_id, Invitation.id == invitation_id))


# The hot paths' statements are built once with their parameters left open (as in api_keys.py):
# SQLAlchemy then neither rebuilds nor re-keys them on each request
_PENDING_FOR_EMAIL = select(Invitation).where(
    Invitation.team_id == bindparam("team"), Invitation.email_normalized == bindparam("email"),
    Invitation.status == PENDING)


@dataclass(frozen=True)
class TokenFacts:
    """What a use of a token (validate, accept, decline) decides on, read in one statement. The
    rows are persistent in the session (accept writes through them); the key or membership that
    sent the invitation is found by later `db.get()`s without a round trip while these facts hold
    it (the session's identity map keeps unchanged objects only as long as someone does)."""

    invitation: Invitation
    team: Team
    inviter_key: ApiKey | None
    inviter_membership: Membership | None
    account_id: str | None  # the account holding the invited address
    account_verified: bool  # whether that account's address was proven


_ROWS = ((Invitation, "invitation"), (Team, "team"), (ApiKey, "api_key"), (Membership, "membership"))


# PostgreSQL: the definer function returns whole rows and scopes the transaction to the team in
# the same statement (migration 0014); what it reads replaces what the session held of those rows
_FACTS_PG = function_rows("teamgate_invitation_facts(:h, :lock)", *((row, model) for model, row in _ROWS),
                          extra=(column("account_id", String), column("account_verified", Boolean))
                          ).execution_options(populate_existing=True)
# SQLite: the same row from an ordinary join (no walls to cross; writers already take turns)
_FACTS_SQLITE = (
    select(Invitation, Team, ApiKey, Membership, User.id, User.email_verified_at.is_not(None))
    .join(Team, Team.id == Invitation.team_id)
    .outerjoin(ApiKey, ApiKey.id == Invitation.invited_by_api_key_id)
    .outerjoin(Membership, and_(Membership.team_id == Invitation.team_id,
                                Membership.user_id == Invitation.invited_by_user_id))
    .outerjoin(User, User.email_normalized == Invitation.email_normalized)
    .where(or_(Invitation.token_hash == bindparam("h"), Invitation.link_token_hash == bindparam("h"))))


async def token_facts(db: AsyncSession, token_hash: bytes, *, lock: bool = False) -> TokenFacts | None:
    """The invitation behind a mail or link token, from any team, with its team, its sender and
    the account holding its address; the transaction is then scoped to its team. With `lock` the
    invitation's row is held until the transaction ends (accept, decline): a concurrent use of the
    token waits, then reads it closed."""
    if enforced(db):
        row = await act_for_facts(db, _FACTS_PG, {"h": token_hash, "lock": lock}, scope="team_id",
                                  scope_of=lambda found: found[0].team_id)
    else:
        row = (await db.execute(_FACTS_SQLITE, {"h": token_hash})).first()
    if row is None:
        return None
    invitation, team, key, membership, account_id, verified = row
    # held by the invitation as a joined load would (the relationships of Invitation), so callers
    # that keep only the invitation (by_token_hash) still find them with db.get(), no round trip
    for name, value in (("team", team), ("inviter_key", key), ("inviter_membership", membership)):
        set_committed_value(invitation, name, value)
    return TokenFacts(invitation=invitation, team=team, inviter_key=key, inviter_membership=membership,
                      account_id=account_id, account_verified=bool(verified))


async def by_token_hash(db: AsyncSession, token_hash: bytes) -> Invitation | None:
    """The invitation behind a token, from any team; the transaction is then scoped to its team.
    Its team and the key or membership that sent it come in the same statement."""
    facts = await token_facts(db, token_hash)
    return facts.invitation if facts is not None else None


async def insert_unless_pending(db: AsyncSession, invitation: Invitation) -> bool:
    """Insert a new pending invitation, unless the team already has one for that email: False
    when a concurrent create got there first. The partial unique index decides, in the INSERT
    itself (ON CONFLICT DO NOTHING), so no savepoint is needed to survive losing."""
    await db.flush()  # what this transaction changed first (an expired one's new status) must reach the index
    values = {column.key: getattr(invitation, column.key) for column in Invitation.__table__.columns}
    inserted = await db.scalar(insert_unless_pending_statement(db.get_bind().dialect.name), values)
    return inserted is not None


@functools.cache  # one per dialect, its values left open: not rebuilt and re-keyed, all its values, per create
def insert_unless_pending_statement(dialect: str):
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


@functools.cache  # one per move (accept, decline): its statuses and stamped columns; the values left open
def _close(from_statuses: tuple[str, ...], unexpired: bool, stamped: tuple[str, ...]):
    columns = Invitation.__table__.columns
    query = update(Invitation).where(
        Invitation.id == bindparam("w_id"), Invitation.status.in_(from_statuses),
        or_(Invitation.token_hash == bindparam("w_hash"), Invitation.link_token_hash == bindparam("w_hash")))
    if unexpired:
        query = query.where(Invitation.expires_at > bindparam("w_now"))
    return (query.values({name: bindparam(f"v_{name}", type_=columns[name].type) for name in stamped})
            .returning(Invitation))


async def close(db: AsyncSession, invitation: Invitation, *, from_statuses: tuple[str, ...],
                unexpired_at: datetime | None, presented_hash: bytes, **values) -> bool:
    """Accept or decline: `transition` for a use of a token, reading the invitation back in the
    same statement, so the object in the session shows what was written (no refresh after).

    One conditional UPDATE: of two concurrent callers exactly one sees the invitation changed."""
    stamped = tuple(sorted(values))
    params = {"w_id": invitation.id, "w_now": unexpired_at, "w_hash": presented_hash,
              **{f"v_{name}": value for name, value in values.items()}}
    changed = (await db.execute(_close(from_statuses, unexpired_at is not None, stamped), params, execution_options={
        "synchronize_session": False, "populate_existing": True})).scalars().first()
    return changed is not None


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
