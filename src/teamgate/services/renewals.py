"""Asking for a new link once an invitation has expired (DESIGN 14). The person holding the old
link tells whoever can resend it: the inviter (the person, or the maker of the key that sent it)
while they may still invite, else the team's owner. By email and by the webhook event
`invitation.renewal_requested`; nothing about the invitation changes (a resend is the admin's
call). Rate-limited per invitation, so an old link cannot be used to flood anyone's mailbox."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from teamgate import errors
from teamgate.domain import invitation as rules
from teamgate.domain import roles
from teamgate.domain.tokens import hash_token
from teamgate.runtime import Runtime
from teamgate.services import audit, events, outbox
from teamgate.services.context import Actor
from teamgate.storage.models import Invitation, User
from teamgate.storage.repositories import accounts as accounts_repo
from teamgate.storage.repositories import api_keys as keys_repo
from teamgate.storage.repositories import invitations as repo
from teamgate.storage.repositories import teams as teams_repo

MAX_TOKEN_LENGTH = 128


@dataclass(frozen=True)
class Requested:
    invitation: Invitation
    told: str  # the name of whoever was told, as the page shows it


async def _whom_to_tell(db: AsyncSession, rt: Runtime, invitation: Invitation) -> User | None:
    """The inviter while they are a member who may still invite, else the team's owner. The
    transaction is scoped to the invitation's team, whose members' accounts it may read."""
    person_id = invitation.invited_by_user_id
    if invitation.invited_by_api_key_id:
        key = await keys_repo.by_id(db, invitation.invited_by_api_key_id)
        person_id = key.created_by_user_id if key is not None else None
    member = await teams_repo.membership(db, invitation.team_id, person_id) if person_id else None
    role = rt.catalog.get(member.role) if member is not None else None
    if member is None or role is None or roles.INVITATIONS_MANAGE not in role.permissions:
        member = await teams_repo.owner(db, invitation.team_id)
    return await accounts_repo.user_by_id(db, member.user_id) if member is not None else None


async def request(db: AsyncSession, rt: Runtime, *, token: str, ip: str | None = None,
                  user_agent: str | None = None) -> Requested:
    """Tell the inviter that the person behind an expired invitation would like a new link.
    Raises InvitationNotFound, InvitationPending (it still works), the 400 code of an accepted,
    declined or revoked invitation, RateLimited (asked already)."""
    invitation = await repo.by_token_hash(db, hash_token(token)) if 0 < len(token) <= MAX_TOKEN_LENGTH else None
    if invitation is None:
        raise errors.InvitationNotFound("Invalid or expired invitation.")
    now = rt.clock.now()
    rules.ensure_renewable(invitation.status, invitation.expires_at, now)
    await rt.limits.renewal_request(invitation.id)
    team = await teams_repo.team_by_id(db, invitation.team_id)
    told = await _whom_to_tell(db, rt, invitation)
    if team is None:
        raise errors.InvitationNotFound("Invalid or expired invitation.")
    if told is not None:
        message = rt.templates.render(
            "renewal_request", product=rt.settings.product_name, team=team.name, person=told.first_name,
            email=invitation.email, role=invitation.role,
            expired_utc=invitation.expires_at.strftime("%Y-%m-%d %H:%M UTC"),
            url=f"{rt.settings.base_url}/console?show=expired")
        outbox.enqueue(db, rt, recipient=told.email, message=message, kind="invitation.renewal_request",
                       team_id=team.id)
    actor = Actor(kind="invitee", id=None, name=invitation.email, ip=ip, user_agent=user_agent)
    audit.record(db, rt, actor, "invitation.renewal_requested", team_id=team.id, target_type="invitation",
                 target_id=invitation.id, email=invitation.email, told=told.id if told else None)
    await events.invitation(db, rt, "invitation.renewal_requested", invitation, actor)
    return Requested(invitation, told.name if told is not None else team.name)
