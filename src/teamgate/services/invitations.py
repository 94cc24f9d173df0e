"""Invitations as the team's admins see them: create, list, read, cancel, resend."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from teamgate import errors
from teamgate.domain import delivery, roles
from teamgate.domain import invitation as rules
from teamgate.domain.emails import Email, parse_email
from teamgate.domain.ids import is_id, new_id
from teamgate.domain.roles import Role
from teamgate.domain.tokens import hash_token, new_token
from teamgate.ratelimit import EmailQuota
from teamgate.runtime import Runtime
from teamgate.services import audit, events, oidc_clients, outbox, seats
from teamgate.services.context import Actor, TeamContext
from teamgate.storage.after_commit import call_after_commit
from teamgate.storage.models import AuditEvent, Invitation, OutboxMessage, Team, User
from teamgate.storage.repositories import accounts as accounts_repo
from teamgate.storage.repositories import api_keys as keys_repo
from teamgate.storage.repositories import invitation_create as create_repo
from teamgate.storage.repositories import invitations as repo
from teamgate.storage.repositories import teams as teams_repo
from teamgate.storage.scope import act_for

MANAGE = roles.INVITATIONS_MANAGE


@dataclass(frozen=True)
class Issued:
    """An invitation with its link token, which exists only in this response. Its mail token
    exists only in the email: only that one proves the mailbox (DESIGN 4 and 10)."""

    invitation: Invitation
    token: str


@dataclass(frozen=True)
class _Secrets:
    """A fresh pair of invitation secrets: the mail token (emailed) and the link token (returned)."""

    mail: str
    link: str

    @classmethod
    def new(cls) -> _Secrets:
        return cls(mail=new_token(), link=new_token())

    @property
    def hashes(self) -> dict[str, Any]:  # columns for an insert or a conditional update
        return {"token_hash": hash_token(self.mail), "link_token_hash": hash_token(self.link)}


def grantable_role(rt: Runtime, ctx: TeamContext, name: str) -> Role:
    role = rt.catalog.get(name)
    if role is None:
        raise errors.ValidationFailed("role", f"unknown role {name!r}; known roles: {', '.join(rt.catalog.roles)}")
    roles.ensure_may_invite(ctx.role, role)
    return role


async def _check_seats(db: AsyncSession, rt: Runtime, team: Team, *, in_one_statement: bool = False) -> None:
    """Members, pending invitations and open join requests may not exceed the seat limit
    (services/seats.py: the team's row locked, then the seats counted; a create counts them in
    one statement)."""
    count = functools.partial(create_repo.seats_used, db, team.id, rt.clock.now()) if in_one_statement else None
    await seats.ensure_free(db, rt, team, count=count)


def _pending_cap_reached(rt: Runtime, pending: int) -> None:
    """An abuse cap on outstanding invitations. Counted without a lock (it would serialise every
    create in the team), so concurrent creates may overshoot it by the few in flight; the seat
    limit, a product rule, is the exact one."""
    cap = rt.settings.max_pending_invitations
    if pending >= cap:
        raise errors.PendingLimitReached(f"The team has {cap} pending invitations, the most allowed; cancel some or "
                                         "wait for them to be answered.")


async def _check_pending_cap(db: AsyncSession, rt: Runtime, team_id: str) -> None:
    cap = rt.settings.max_pending_invitations
    _pending_cap_reached(rt, await repo.count_pending(db, team_id, rt.clock.now(), at_most=cap))


def _mark_queued(invitation: Invitation, now: datetime) -> None:
    invitation.send_count += 1
    invitation.last_sent_at = now
    for column, value in delivery.delivery_queued().items():
        setattr(invitation, column, value)


def _message(rt: Runtime, invitation: Invitation, team: Team, token: str, *, resend: bool) -> dict[str, Any]:
    message = rt.templates.invitation(
        product=rt.settings.product_name, team=team.name, inviter=invitation.inviter_name, role=invitation.role,
        url=rt.settings.invite_url(token), expires_at=invitation.expires_at, now=rt.clock.now(), resend=resend)
    return {"recipient": invitation.email, "message": message, "kind": "invitation.resend" if resend else "invitation",
            "team_id": team.id, "invitation_id": invitation.id}


def _enqueue(db: AsyncSession, rt: Runtime, invitation: Invitation, team: Team, token: str, *, resend: bool) -> None:
    outbox.enqueue(db, rt, **_message(rt, invitation, team, token, resend=resend))


def _inviter(ctx: TeamContext, team: Team, creator: User | None) -> dict[str, Any]:
    """Who grants the invitation (the person or the key), and the name the invitee sees: the
    person, or for an API key the person who made it (`creator`, as far as the team sees them),
    else the team."""
    key, name = ctx.actor.api_key, ctx.actor.name
    if key is not None:
        name = creator.name if creator is not None else team.name
    return {"invited_by_user_id": ctx.actor.user.id if ctx.actor.user else None,
            "invited_by_api_key_id": key.id if key else None, "inviter_name": name}


async def _key_creator(db: AsyncSession, ctx: TeamContext) -> User | None:
    key = ctx.actor.api_key
    return await accounts_repo.user_by_id(db, key.created_by_user_id) if key and key.created_by_user_id else None


async def create(db: AsyncSession, rt: Runtime, ctx: TeamContext, *, email: str, role: str,
                 task_ids: list[str] | None = None, expires_in_days: float | None = None,
                 send_email: bool = True, redirect_url: str | None = None) -> Issued:
    """Invite `email` to the current team; `redirect_url` is where the person continues after
    accepting on /invite (DESIGN 13). Raises Forbidden, RoleNotAllowed, ValidationFailed,
    AlreadyMember, AccountExists (when existing users may not be invited), InvitationPending,
    PendingLimitReached, SeatLimitReached, RateLimited."""
    ctx.require(MANAGE)
    try:
        address: Email | None = parse_email(email)
    except ValueError as exc:
        address, unreadable = None, str(exc)
    # every limit in one round trip: the recipient's email rule too, given back if the create
    # fails before its email is queued (ratelimit.EmailQuota)
    quota = await rt.limits.invitation_create(ctx.team_id, inviter_key(ctx),
                                              recipient=address.normalized if address and send_email else None)
    async with quota:
        if address is None:
            raise errors.ValidationFailed("email", unreadable)
        return await _create(db, rt, ctx, address, quota, role=role, task_ids=task_ids,
                             expires_in_days=expires_in_days, send_email=send_email, redirect_url=redirect_url)


async def _create(db: AsyncSession, rt: Runtime, ctx: TeamContext, address: Email, quota: EmailQuota, *, role: str,
                  task_ids: list[str] | None, expires_in_days: float | None, send_email: bool,
                  redirect_url: str | None) -> Issued:
    granted = grantable_role(rt, ctx, role)
    task_ids = list(dict.fromkeys(task_ids or []))
    team = await teams_repo.team_by_id(db, ctx.team_id)  # loaded with the key or the membership: no round trip
    if team is None:
        raise errors.NotFound("No such team.")
    now = rt.clock.now()
    found = await _facts(db, rt, ctx, team, address, [t for t in task_ids if is_id(t)], now)
    if missing := set(task_ids) - found.task_ids:
        raise errors.ValidationFailed("taskIds", f"unknown task(s) in this team: {', '.join(sorted(missing))}")
    if redirect_url is not None and (problem := await oidc_clients.redirect_url_problem(db, rt, redirect_url)):
        raise errors.ValidationFailed("redirectUrl", problem)
    if found.is_member:
        raise errors.AlreadyMember(f"{address.display} is already a member of {team.name}.")
    if found.account_exists:
        raise errors.AccountExists("An account with this email exists, and this service does not invite existing "
                                   "users.")
    if found.pending is not None:
        if not rules.is_overdue(found.pending.status, found.pending.expires_at, now):
            raise errors.InvitationPending(f"{address.display} already has a pending invitation.",
                                           invitationId=found.pending.id)
        await _expire_overdue(db, rt, ctx, address)
    _pending_cap_reached(rt, found.pending_count)
    await _check_seats(db, rt, team, in_one_statement=True)

    days = rt.settings.invitation_ttl_days if expires_in_days is None else expires_in_days
    secrets = _Secrets.new()
    invitation = Invitation(
        id=new_id("inv"), team_id=team.id, email=address.display, email_normalized=address.normalized,
        role=granted.name, task_ids=task_ids, **secrets.hashes, status=rules.PENDING,
        expires_at=rules.expiry(now, days), lifetime_seconds=int(timedelta(days=days).total_seconds()),
        **_inviter(ctx, team, found.creator), created_at=now, send_count=0,
        delivery_status=delivery.DeliveryStatus.SKIPPED, delivery_attempts=0, redirect_url=redirect_url)
    if send_email:  # the delivery state goes in with the row: no second write
        await quota.spend()
        _mark_queued(invitation, now)
    # its rows, made as outbox.enqueue, audit.record and events.invitation make them, written with it
    rows: list[AuditEvent | OutboxMessage] = []
    if send_email:
        rows.append(outbox.build(rt, **_message(rt, invitation, team, secrets.mail, resend=False)))
    event = audit.event(rt, ctx.actor, "invitation.created", team_id=team.id, target_type="invitation",
                        target_id=invitation.id, email=address.display, role=granted.name, taskIds=task_ids,
                        sendEmail=send_email)
    rows += [event, *events.invitation_deliveries(rt, "invitation.created", invitation, found.endpoints, ctx.actor)]
    if not await create_repo.write(db, invitation, rows):  # a concurrent create for the same email won
        winner = await repo.pending_for_email(db, team.id, address.normalized)
        raise errors.InvitationPending(f"{address.display} already has a pending invitation.",
                                       invitationId=winner.id if winner else None) from None
    audit.counted(db, event)
    if len(rows) > 1:  # an email or a webhook delivery: the dispatchers send it once this commits
        call_after_commit(db, rt.outbox_added.ring)
    return Issued(invitation, secrets.link)


async def _facts(db: AsyncSession, rt: Runtime, ctx: TeamContext, team: Team, address: Email, task_ids: list[str],
                 now: datetime) -> create_repo.CreateFacts:
    """Every fact the create's rules decide on, in one statement, but the seats: those are
    counted after the team's row is locked (_check_seats), and the lock comes after an overdue
    invitation is expired, in that order as before, so a create and a resend of the same address
    take their locks in one order."""
    await act_for(db, team_id=team.id)  # already so (the key or the console chose the team): no round trip
    key = ctx.actor.api_key
    found = await create_repo.facts(
        db, team_id=team.id, email_normalized=address.normalized, now=now, cap=rt.settings.max_pending_invitations,
        task_ids=task_ids, account=not rt.settings.invite_existing_users,
        creator_id=key.created_by_user_id if key is not None else None)
    if found is None:
        raise errors.NotFound("No such team.")
    return found


async def _expire_overdue(db: AsyncSession, rt: Runtime, ctx: TeamContext, address: Email) -> None:
    """The address's pending invitation has run out: it becomes expired (audited, its event sent)
    before the new one is written. Rare, so its full row is read only here."""
    existing = await create_repo.pending_row(db, ctx.team_id, address.normalized)
    if existing is None:  # expired or answered meanwhile: the insert decides
        return
    existing.status = rules.expire().status
    audit.record(db, rt, ctx.actor, "invitation.expired", team_id=ctx.team_id, target_type="invitation",
                 target_id=existing.id)
    await events.invitation(db, rt, "invitation.expired", existing, ctx.actor)


async def get(db: AsyncSession, ctx: TeamContext, invitation_id: str) -> Invitation:
    ctx.require(MANAGE)
    invitation = await repo.in_team(db, ctx.team_id, invitation_id) if is_id(invitation_id) else None
    if invitation is None:
        raise errors.InvitationNotFound("No such invitation in this team.")
    return invitation


async def page(db: AsyncSession, rt: Runtime, ctx: TeamContext, *, status: str, limit: int,
               after_id: str | None, delivery: str | None = None) -> list[Invitation]:
    ctx.require(MANAGE)
    return await repo.page(db, ctx.team_id, status=status, now=rt.clock.now(), limit=limit, after_id=after_id,
                           delivery=delivery)


async def cancel(db: AsyncSession, rt: Runtime, ctx: TeamContext, invitation_id: str) -> Invitation:
    """Revoke a pending invitation. Raises InvitationNotFound, InvitationNotPending, RoleNotAllowed."""
    invitation = await get(db, ctx, invitation_id)
    now = rt.clock.now()
    move = rules.cancel(invitation.status, now)
    _ensure_manageable(rt, ctx, invitation)
    if not await repo.transition(db, invitation.id, from_statuses=move.from_statuses, **move.values):
        await repo.refresh(db, invitation)
        rules.ensure_cancellable(invitation.status)
    await outbox.cancel_queued_for(db, invitation.id)
    audit.record(db, rt, ctx.actor, "invitation.revoked", team_id=ctx.team_id, target_type="invitation",
                 target_id=invitation.id, email=invitation.email)
    await repo.refresh(db, invitation)
    await events.invitation(db, rt, "invitation.revoked", invitation, ctx.actor)
    return invitation


def _ensure_manageable(rt: Runtime, ctx: TeamContext, invitation: Invitation) -> None:
    if not roles.may_manage(ctx.role, rt.catalog.get(invitation.role)):
        raise errors.RoleNotAllowed("This invitation grants a role above your own.")


async def resend(db: AsyncSession, rt: Runtime, ctx: TeamContext, invitation_id: str, *,
                 expires_in_days: float | None = None, send_email: bool = True) -> Issued:
    """New token (the old link dies), new expiry, new email; revives an expired invitation.
    Re-checks that the caller may still grant the role. Raises InvitationNotFound,
    InvitationNotPending, RoleNotAllowed, AlreadyMember, InvitationPending, PendingLimitReached,
    SeatLimitReached, RateLimited."""
    invitation = await get(db, ctx, invitation_id)
    quota = await rt.limits.resend(invitation.id, team_id=ctx.team_id,
                                   recipient=invitation.email_normalized if send_email else None)
    async with quota:  # as in create: one round trip, the email rule given back if it fails before queuing
        return await _resend(db, rt, ctx, invitation, quota, expires_in_days=expires_in_days, send_email=send_email)


async def _resend(db: AsyncSession, rt: Runtime, ctx: TeamContext, invitation: Invitation, quota: EmailQuota, *,
                  expires_in_days: float | None, send_email: bool) -> Issued:
    move = rules.resend(invitation.status)
    grantable_role(rt, ctx, invitation.role)
    team = await teams_repo.team_by_id(db, ctx.team_id)
    if team is None:
        raise errors.NotFound("No such team.")
    if await teams_repo.membership_by_email(db, ctx.team_id, invitation.email_normalized):
        raise errors.AlreadyMember(f"{invitation.email} is already a member of {team.name}.")
    now = rt.clock.now()
    reviving = rules.effective_status(invitation.status, invitation.expires_at, now) == rules.EXPIRED
    if reviving:
        other = await repo.pending_for_email(db, ctx.team_id, invitation.email_normalized)
        if other is not None and other.id != invitation.id:
            if not rules.is_overdue(other.status, other.expires_at, now):
                raise errors.InvitationPending("A newer invitation for this email is pending.", invitationId=other.id)
            other.status = rules.expire().status  # as create does: audited, and the event sent
            audit.record(db, rt, ctx.actor, "invitation.expired", team_id=ctx.team_id, target_type="invitation",
                         target_id=other.id)
            await events.invitation(db, rt, "invitation.expired", other, ctx.actor)
            await db.flush()
        await _check_pending_cap(db, rt, team.id)
        await _check_seats(db, rt, team)
    lifetime = (timedelta(days=expires_in_days) if expires_in_days is not None
                else timedelta(seconds=invitation.lifetime_seconds))
    secrets = _Secrets.new()  # both old links die
    # whoever resends becomes the inviter: the link must not hang on someone who can no longer grant it
    inviter = _inviter(ctx, team, await _key_creator(db, ctx))
    if not await repo.transition(db, invitation.id, from_statuses=move.from_statuses, **move.values,
                                 **secrets.hashes, expires_at=now + lifetime,
                                 lifetime_seconds=int(lifetime.total_seconds()), **inviter):
        await repo.refresh(db, invitation)
        rules.ensure_resendable(invitation.status)
    await repo.refresh(db, invitation)
    await outbox.cancel_queued_for(db, invitation.id)
    if send_email:
        await quota.spend()
        _mark_queued(invitation, now)
        _enqueue(db, rt, invitation, team, secrets.mail, resend=True)
    audit.record(db, rt, ctx.actor, "invitation.resent", team_id=ctx.team_id, target_type="invitation",
                 target_id=invitation.id, revived=reviving, sendEmail=send_email)
    await events.invitation(db, rt, "invitation.resent", invitation, ctx.actor)
    return Issued(invitation, secrets.link)


async def inviter_can_still_grant(db: AsyncSession, rt: Runtime, invitation: Invitation) -> bool:
    """Whoever granted the role must still be able to: a removed or demoted inviter, or a revoked
    key, leaves the invitation unusable."""
    return await can_still_grant(db, rt, team_id=invitation.team_id, role=invitation.role,
                                 user_id=invitation.invited_by_user_id, api_key_id=invitation.invited_by_api_key_id)


async def can_still_grant(db: AsyncSession, rt: Runtime, *, team_id: str, role: str, user_id: str | None,
                          api_key_id: str | None) -> bool:
    """Whether the person or key that granted `role` in a team (by invitation or join link) may
    still grant it: still there, not revoked, still allowed to invite to that role."""
    granted = rt.catalog.get(role)
    if granted is None or roles.never_granted(granted):  # before the system owner's way out below
        return False
    if api_key_id:
        key = await keys_repo.by_id(db, api_key_id)
        if key is None or key.revoked_at is not None or key.team_id != team_id:
            return False
        granting = rt.catalog.get(key.role)
    elif user_id:
        member = await teams_repo.membership(db, team_id, user_id)
        if member is None:
            return await accounts_repo.is_system_owner(db, user_id)
        granting = rt.catalog.get(member.role)
    else:
        return False
    return granting is not None and roles.may_invite(granting, granted)


async def revoke_sent_by(db: AsyncSession, rt: Runtime, actor: Actor, *, team_id: str, user_id: str,
                         reason: str) -> list[str]:
    """Revoke the pending invitations a person sent in a team (their account was taken over by
    its mailbox's owner: the links the previous holder kept must die with it)."""
    revoked = await repo.revoke_pending_sent_by(db, team_id, user_id, rt.clock.now())
    for invitation_id in revoked:
        await outbox.cancel_queued_for(db, invitation_id)
        audit.record(db, rt, actor, "invitation.revoked", team_id=team_id, target_type="invitation",
                     target_id=invitation_id, reason=reason)
        if (row := await repo.in_team(db, team_id, invitation_id)) is not None:
            await events.invitation(db, rt, "invitation.revoked", await repo.refresh(db, row), actor)
    return revoked


def inviter_key(ctx: TeamContext) -> str:
    """Who the per-inviter limit counts: the human behind the call. A session counts for its user
    and an API key for the person who made it, so more keys or more teams add no allowance; a key
    whose maker is gone (or an operator's key) counts for its team."""
    key = ctx.actor.api_key
    if key is not None:
        return f"user:{key.created_by_user_id}" if key.created_by_user_id else f"team:{key.team_id}"
    if ctx.actor.user is not None:
        return f"user:{ctx.actor.user.id}"
    return f"{ctx.actor.kind}:{ctx.actor.id}"
