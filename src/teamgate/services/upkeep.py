"""The periodic job every dispatcher runs: expire overdue invitations, remind the invitees of
those about to expire, and purge what is no longer needed. Safe to run from many workers at
once: each invitation is locked by the job that takes it (others skip it) and changed by one
conditional update, so it is expired once and reminded once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from teamgate.domain import delivery
from teamgate.domain import invitation as rules
from teamgate.domain.tokens import hash_token, new_token
from teamgate.runtime import Runtime
from teamgate.services import audit, events, idempotency, outbox
from teamgate.services.context import Actor
from teamgate.services.invitations import inviter_can_still_grant
from teamgate.storage.repositories import invitations as invitations_repo
from teamgate.storage.repositories import oidc as oidc_repo
from teamgate.storage.repositories import teams as teams_repo
from teamgate.storage.repositories import upkeep as repo
from teamgate.storage.scope import act_for

BATCH = 500


@dataclass(frozen=True)
class Done:
    expired: int
    outbox_purged: int
    sessions_purged: int
    grants_purged: int = 0  # OpenID Connect grants and refresh tokens no longer needed
    reminded: int = 0
    answers_purged: int = 0  # idempotency keys' kept answers, past their 24 hours


async def expire_overdue(db: AsyncSession, rt: Runtime, *, limit: int = BATCH) -> int:
    """Mark up to `limit` overdue pending invitations `expired`, each with an audit event, and drop
    their queued emails (the link in them no longer works). Returns how many were expired."""
    now = rt.clock.now()
    expired = 0
    for invitation_id, team_id in await repo.overdue_invitations(db, now, limit):
        await act_for(db, team_id=team_id)  # each change within its own team's walls
        move = rules.expire()
        if not await invitations_repo.transition(db, invitation_id, from_statuses=move.from_statuses, **move.values):
            continue
        await outbox.cancel_queued_for(db, invitation_id)
        audit.record(db, rt, Actor.system(), "invitation.expired", team_id=team_id, target_type="invitation",
                     target_id=invitation_id, reason="overdue")
        if (row := await invitations_repo.in_team(db, team_id, invitation_id)) is not None:
            await events.invitation(db, rt, "invitation.expired", await invitations_repo.refresh(db, row))
        await db.flush()  # written now, under this team's scope, before the next team's
        expired += 1
    return expired


async def send_reminders(db: AsyncSession, rt: Runtime, *, limit: int = BATCH) -> int:
    """Email the one reminder of each pending invitation that expires within
    TEAMGATE_REMINDER_BEFORE_EXPIRY_HOURS (domain.invitation.reminder_due), with a fresh mail
    token: the earlier email's link stops working (its queued copy is dropped), the link token its
    creator holds does not change. Returns how many were reminded."""
    window = rules.reminder_window(rt.settings.reminder_before_expiry_hours)
    if window is None:
        return 0
    now = rt.clock.now()
    reminded = 0
    for invitation_id, team_id in await repo.invitations_to_remind(db, now, window, limit):
        await act_for(db, team_id=team_id)  # each change within its own team's walls
        invitation = await invitations_repo.in_team(db, team_id, invitation_id)
        team = await teams_repo.team_by_id(db, team_id)
        if invitation is None or team is None or not await inviter_can_still_grant(db, rt, invitation):
            continue  # a dead invitation is not worth a reminder: accepting it would be refused
        mail_token = new_token()
        if not await invitations_repo.remind(db, invitation_id, now=now, token_hash=hash_token(mail_token),
                                             **rules.remind(now), **delivery.delivery_queued()):
            continue  # another worker reminded it, or it closed meanwhile
        await invitations_repo.refresh(db, invitation)
        await outbox.cancel_queued_for(db, invitation_id)  # an earlier email still queued holds a dead link
        message = rt.templates.reminder(product=rt.settings.product_name, team=team.name,
                                        inviter=invitation.inviter_name, role=invitation.role,
                                        url=rt.settings.invite_url(mail_token), expires_at=invitation.expires_at,
                                        now=now)
        outbox.enqueue(db, rt, recipient=invitation.email, message=message, kind="invitation.reminder",
                       team_id=team_id, invitation_id=invitation_id)
        audit.record(db, rt, Actor.system(), "invitation.reminded", team_id=team_id, target_type="invitation",
                     target_id=invitation_id, expiresAt=invitation.expires_at.isoformat())
        await db.flush()  # written now, under this team's scope, before the next team's
        reminded += 1
    return reminded


async def purge(db: AsyncSession, rt: Runtime) -> tuple[int, int, int]:
    """Erased outbox rows older than the retention period, sessions that have ended, and the
    answers kept for idempotency keys that have expired (some hold a secret: they go at once)."""
    now = rt.clock.now()
    outbox_purged, sessions_purged = await repo.purge(
        db, outbox_before=now - timedelta(days=rt.settings.retention_days), sessions_before=now)
    return outbox_purged, sessions_purged, await idempotency.purge(db, rt)


async def purge_grants(db: AsyncSession, rt: Runtime) -> int:
    """Refresh tokens past their end, and OpenID Connect grants a day old that no live refresh
    token keeps (their access tokens expired long ago). Returns how many rows went."""
    tokens, grants = await oidc_repo.purge(db, rt.clock.now())
    return tokens + grants
