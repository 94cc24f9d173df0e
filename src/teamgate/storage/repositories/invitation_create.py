"""A new invitation in two steps (issue 17, phase 2): every fact its rules decide on, read in one
statement under the team's row-level scope (the seats, when the team has a limit, in one more,
after its row is locked), then its rows written, on PostgreSQL in one statement. The rules stay
in services/invitations.py; this module only gathers and writes.

The statements are built once per shape (which facts are asked for), their values left open, so
SQLAlchemy neither rebuilds nor re-keys them per create (benchmarks/README.md, issue 17)."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, and_, bindparam, func, insert, literal_column, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from teamgate.domain.invitation import PENDING
from teamgate.domain.joining import OPEN as OPEN_REQUESTS
from teamgate.domain.seats import SeatsUsed
from teamgate.storage.models import (
    AuditEvent,
    Invitation,
    JoinRequest,
    Membership,
    OutboxMessage,
    Task,
    Team,
    User,
    WebhookEndpoint,
)
from teamgate.storage.repositories import invitations as invitations_repo
from teamgate.storage.repositories import webhooks as webhooks_repo
from teamgate.storage.scope import enforced


@dataclass(frozen=True)
class PendingFound:
    """The pending invitation an address already has in the team (at most one: a unique index)."""

    id: str
    status: str
    expires_at: datetime


@dataclass(frozen=True)
class CreateFacts:
    is_member: bool
    account_exists: bool  # False unless asked (existing users may not be invited)
    pending: PendingFound | None
    pending_count: int  # pending and unexpired, counted up to the cap
    task_ids: frozenset[str]  # those asked for that the team has
    creator: User | None  # the maker of the API key that creates, when asked and visible
    endpoints: list[WebhookEndpoint]  # the team's enabled endpoints (also kept for the transaction)


_Creator = aliased(User, name="creator")
# written out, not bound: the planner then knows the partial unique index's predicate holds
_is_pending = Invitation.status == literal_column(f"'{PENDING}'")
_pending_now = and_(Invitation.team_id == bindparam("team"), _is_pending, Invitation.expires_at > bindparam("now"))


@functools.cache  # one per shape, its values left open
def _facts(postgres: bool, *, tasks: bool, account: bool, creator: bool, endpoints: bool) -> Select:
    member = select(Membership.user_id).join(User, User.id == Membership.user_id).where(
        Membership.team_id == Team.id, User.email_normalized == bindparam("email")).exists()
    counted = select(Invitation.id).where(_pending_now).limit(bindparam("cap"))  # for the cap: counting stops there
    columns = [member.label("is_member"),
               select(func.count()).select_from(counted.subquery()).scalar_subquery().label("pending_count")]
    if tasks:
        found = Task.id.in_(bindparam("tasks", expanding=True))
        joined = func.string_agg(Task.id, literal_column("' '")) if postgres else func.group_concat(Task.id, " ")
        columns.append(select(joined).where(Task.team_id == Team.id, found).scalar_subquery().label("task_ids"))
    if account:  # across every team: on PostgreSQL through the narrow definer lookup, as accounts.email_taken
        lookup = (select(literal_column("1")).select_from(func.teamgate_user_by_email(bindparam("email")))
                  if postgres else select(User.id).where(User.email_normalized == bindparam("email")))
        columns.append(lookup.exists().label("account_exists"))
    # the pending invitation for the address (0 or 1 row) and the endpoints (0 or more) are joined:
    # one row per endpoint, the other facts alike on each
    query = select(*columns, Invitation.id.label("pending_id"), Invitation.status.label("pending_status"),
                   Invitation.expires_at.label("pending_expires_at"))
    query = query.select_from(Team).outerjoin(Invitation, and_(
        Invitation.team_id == Team.id, Invitation.email_normalized == bindparam("email"), _is_pending))
    if creator:  # as accounts.user_by_id: seen under the same policies (a teammate)
        query = query.add_columns(_Creator).outerjoin(_Creator, _Creator.id == bindparam("creator"))
    if endpoints:  # as webhooks.enabled
        query = query.add_columns(WebhookEndpoint).outerjoin(WebhookEndpoint, and_(
            WebhookEndpoint.team_id == Team.id, WebhookEndpoint.disabled_at.is_(None))).order_by(WebhookEndpoint.id)
    return query.where(Team.id == bindparam("team"))


async def facts(db: AsyncSession, *, team_id: str, email_normalized: str, now: datetime, cap: int,
                task_ids: Sequence[str], account: bool, creator_id: str | None) -> CreateFacts | None:
    """Everything a create decides on but the seats, in one statement; None when the team is not
    visible. (The seats are counted apart, after the team's row is locked: `seats_used`.)"""
    known = webhooks_repo.known(db, team_id)
    query = _facts(enforced(db), tasks=bool(task_ids), account=account, creator=creator_id is not None,
                   endpoints=known is None)
    rows = (await db.execute(query, {"team": team_id, "email": email_normalized, "now": now, "cap": cap,
                                     "tasks": list(task_ids), "creator": creator_id})).all()
    if not rows:
        return None
    first = rows[0]._mapping
    if known is None:
        known = [row.WebhookEndpoint for row in rows if row.WebhookEndpoint is not None]
        webhooks_repo.remember(db, team_id, known)
    pending = (PendingFound(first["pending_id"], first["pending_status"], first["pending_expires_at"])
               if first["pending_id"] is not None else None)
    return CreateFacts(
        is_member=bool(first["is_member"]), account_exists=bool(first.get("account_exists")), pending=pending,
        pending_count=first["pending_count"] or 0, task_ids=frozenset((first.get("task_ids") or "").split()),
        creator=first.get("creator"), endpoints=known)


_SEATS_USED = select(
    select(func.count()).select_from(Membership).where(Membership.team_id == bindparam("team"))
    .scalar_subquery().label("members"),
    select(func.count()).select_from(select(Invitation.id).where(_pending_now).subquery())
    .scalar_subquery().label("pending"),
    select(func.count()).select_from(JoinRequest).where(JoinRequest.team_id == bindparam("team"),
                                                        JoinRequest.status.in_(OPEN_REQUESTS))
    .scalar_subquery().label("open"))


async def seats_used(db: AsyncSession, team_id: str, now: datetime) -> SeatsUsed:
    """What services/seats.used counts (members, pending invitations, open join requests), in one
    statement: one snapshot, taken after the team's row was locked."""
    members, pending, open_requests = (await db.execute(_SEATS_USED, {"team": team_id, "now": now})).one()
    return SeatsUsed(members=members, pending_invitations=pending, open_join_requests=open_requests)


async def pending_row(db: AsyncSession, team_id: str, email_normalized: str) -> Invitation | None:
    """The full pending row, for the rare create that must first expire an overdue one."""
    return await invitations_repo.pending_for_email(db, team_id, email_normalized)


_TABLES = {"audit_events": AuditEvent, "outbox_messages": OutboxMessage}


def _values(row: AuditEvent | OutboxMessage, prefix: str = "") -> dict:
    return {f"{prefix}{c.key}": getattr(row, c.key) for c in type(row).__table__.columns}


@functools.lru_cache(maxsize=64)  # one per shape (which rows go with the invitation), its values left open
def _write(shape: tuple[str, ...]) -> Select:
    """WITH inserted AS (INSERT the invitation ... ON CONFLICT DO NOTHING RETURNING id), then each
    row as INSERT ... SELECT ... FROM inserted: when the invitation lost the race, nothing at all."""
    # the very INSERT ... ON CONFLICT DO NOTHING of invitations.insert_unless_pending, as a CTE
    inserted = invitations_repo.insert_unless_pending_statement("postgresql").cte("inserted")
    query = select(inserted.c.id)
    for n, table_name in enumerate(shape):
        model = _TABLES[table_name]
        columns = model.__table__.columns
        values = select(*[bindparam(f"r{n}_{c.key}", type_=c.type) for c in columns]).select_from(inserted)
        query = query.add_cte(insert(model).from_select([c.key for c in columns], values).cte(f"row{n}"))
    return query


async def write(db: AsyncSession, invitation: Invitation, rows: Sequence[AuditEvent | OutboxMessage]) -> bool:
    """Insert the invitation unless the address already has a pending one in the team (the
    partial unique index decides, as invitations.insert_unless_pending), and with it `rows` (its
    audit event, email, webhook deliveries). False, and nothing written, when a concurrent create
    won. PostgreSQL: one statement. SQLite: the invitation's INSERT, then the rows added to the
session (written by its flush, as before); SQLite serialises writers, so nothing comes between."""
    if not enforced(db):
        if not await invitations_repo.insert_unless_pending(db, invitation):
            return False
        db.add_all(rows)
        return True
    await db.flush()  # what this transaction changed first (an expired one's new status) must reach the index
    params = {c.key: getattr(invitation, c.key) for c in Invitation.__table__.columns}
    for n, row in enumerate(rows):
        params.update(_values(row, f"r{n}_"))
    shape = tuple(type(row).__tablename__ for row in rows)
    return await db.scalar(_write(shape), params) is not None

