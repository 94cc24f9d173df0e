"""Join requests: the queue a team's admins approve or deny, and what happens to a person's
waiting requests when their address is proven or their account is taken over (DESIGN 10, 14).

Decisions are conditional updates (of two concurrent decisions exactly one wins), and each one
writes its audit events and webhook events in the same transaction."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from teamgate import errors
from teamgate.domain import joining, roles
from teamgate.domain.ids import is_id
from teamgate.domain.joining import RequestStatus
from teamgate.runtime import Runtime
from teamgate.services import audit, events, outbox, seats
from teamgate.services.context import Actor, TeamContext
from teamgate.services.invitations import can_still_grant
from teamgate.storage.models import JoinLink, JoinRequest, Membership, User
from teamgate.storage.repositories import accounts as accounts_repo
from teamgate.storage.repositories import join_links as links_repo
from teamgate.storage.repositories import join_requests as repo
from teamgate.storage.repositories import teams as teams_repo
from teamgate.storage.scope import act_for

MANAGE = roles.INVITATIONS_MANAGE


@dataclass(frozen=True)
class Approved:
    request: JoinRequest
    membership: Membership
    user: User


async def get(db: AsyncSession, ctx: TeamContext, request_id: str) -> JoinRequest:
    ctx.require(MANAGE)
    found = await repo.in_team(db, ctx.team_id, request_id) if is_id(request_id) else None
    if found is None:
        raise errors.NotFound("No such join request in this team.")
    return found


async def page(db: AsyncSession, ctx: TeamContext, *, status: str, limit: int,
               after_id: str | None) -> list[JoinRequest]:
    ctx.require(MANAGE)
    return await repo.page(db, ctx.team_id, status=status, limit=limit, after_id=after_id)


def _decided_by(actor: Actor | None) -> dict[str, str | None]:
    if actor is None or actor.kind == "system":
        return {"decided_by_user_id": None, "decided_by_api_key_id": None, "decider_name": None}
    return {"decided_by_user_id": actor.user.id if actor.user else None,
            "decided_by_api_key_id": actor.api_key.id if actor.api_key else None, "decider_name": actor.name}


async def _decide(db: AsyncSession, rt: Runtime, request: JoinRequest, status: RequestStatus, *,
                  from_statuses: tuple[str, ...], actor: Actor | None, approving: bool) -> None:
    moved = await repo.move(db, request.id, from_statuses=from_statuses, status=status,
                            decided_at=rt.clock.now(), **_decided_by(actor))
    await repo.refresh(db, request)
    if not moved:  # a concurrent decision got there first: say what it was
        joining.ensure_decidable(request.status, approving=approving)


async def admit(db: AsyncSession, rt: Runtime, request: JoinRequest, actor: Actor | None, *,
                via: str) -> tuple[Membership, User] | None:
    """Make the membership a request asked for (its status already moved to `approved`), with its
    audit and webhook events. None when the person has become a member another way meanwhile."""
    if await teams_repo.membership(db, request.team_id, request.user_id) is not None:
        return None
    membership = Membership(team_id=request.team_id, user_id=request.user_id, role=request.role, is_owner=False,
                            created_at=rt.clock.now())
    db.add(membership)
    try:
        await db.flush()
    except IntegrityError:
        raise errors.AlreadyMember("This person became a member of the team meanwhile.") from None
    user = await accounts_repo.user_by_id(db, request.user_id)  # a teammate now, so the walls show the account
    if user is None:  # deleted meanwhile (the cascade would have taken the request with it)
        raise errors.NotFound("No such join request in this team.")
    someone = actor or Actor.system()
    audit.record(db, rt, someone, "member.added", team_id=request.team_id, target_type="user", target_id=user.id,
                 role=request.role, via=via, joinRequestId=request.id, joinLinkId=request.join_link_id)
    await events.member(db, rt, "membership.created", membership, user, actor)
    return membership, user


async def approve(db: AsyncSession, rt: Runtime, ctx: TeamContext, request_id: str) -> Approved:
    """Let a waiting person in: the approver must be able to grant the role the link offered, and
    a seat must still be free for a member. Emails the person. Raises NotFound, Forbidden,
    JoinRequestNotPending, RoleNotAllowed, AlreadyMember, SeatLimitReached."""
    request = await get(db, ctx, request_id)
    joining.ensure_decidable(request.status, approving=True)
    role = rt.catalog.get(request.role)
    if role is None:
        raise errors.RoleNotAllowed(f"The role {request.role!r} no longer exists; deny this request.")
    roles.ensure_may_invite(ctx.role, role)
    team = await teams_repo.team_by_id(db, ctx.team_id)
    if team is None:
        raise errors.NotFound("No such team.")
    if await teams_repo.membership(db, team.id, request.user_id) is not None:
        raise errors.AlreadyMember(f"{request.email} is already a member of {team.name}; deny this request.")
    await seats.ensure_seat_for_member(db, team)
    await _decide(db, rt, request, RequestStatus.APPROVED, from_statuses=(RequestStatus.PENDING,), actor=ctx.actor,
                  approving=True)
    admitted = await admit(db, rt, request, ctx.actor, via="join_request")
    if admitted is None:  # unreachable: the membership was looked for above, in this transaction
        raise errors.AlreadyMember(f"{request.email} is already a member of {team.name}.")
    audit.record(db, rt, ctx.actor, "join_request.approved", team_id=team.id, target_type="join_request",
                 target_id=request.id, email=request.email, role=request.role)
    await events.join_request(db, rt, "join_request.approved", request, ctx.actor)
    message = rt.templates.render("join_approved", product=rt.settings.product_name, team=team.name,
                                  person=request.first_name, role=request.role,
                                  url=f"{rt.settings.base_url}/console")
    outbox.enqueue(db, rt, recipient=request.email, message=message, kind="join_request.approved", team_id=team.id)
    await db.flush()
    return Approved(request, *admitted)


async def deny(db: AsyncSession, rt: Runtime, ctx: TeamContext, request_id: str) -> JoinRequest:
    """Turn a waiting person away (the seat they held is free again). Raises NotFound, Forbidden,
    JoinRequestNotPending, RoleNotAllowed (a request for a role above the caller's own)."""
    request = await get(db, ctx, request_id)
    joining.ensure_decidable(request.status, approving=False)
    if not roles.may_manage(ctx.role, rt.catalog.get(request.role)):
        raise errors.RoleNotAllowed("This request is for a role above your own.")
    await _decide(db, rt, request, RequestStatus.DENIED, from_statuses=joining.OPEN, actor=ctx.actor,
                  approving=False)
    audit.record(db, rt, ctx.actor, "join_request.denied", team_id=ctx.team_id, target_type="join_request",
                 target_id=request.id, email=request.email)
    await events.join_request(db, rt, "join_request.denied", request, ctx.actor)
    await db.flush()
    return request


async def _may_admit_itself(db: AsyncSession, rt: Runtime, request: JoinRequest, link: JoinLink | None) -> bool:
    """Once the address is proven, a request goes on by itself only if no person need look at it:
    the link asks no approval and is not withdrawn, its maker may still grant the role, and a
    member's seat is free (the limit may have been lowered meanwhile)."""
    if link is None or link.requires_approval or link.deleted_at is not None:
        return False
    if not await can_still_grant(db, rt, team_id=link.team_id, role=request.role, user_id=link.created_by_user_id,
                                 api_key_id=link.created_by_api_key_id):
        return False
    team = await teams_repo.team_by_id(db, request.team_id)
    return team is not None and await seats.seat_for_member(db, team)


async def address_proven(db: AsyncSession, rt: Runtime, user: User, actor: Actor) -> list[JoinRequest]:
    """The person proved their address: each of their requests that waited for it joins the team,
    or, when a person must decide (approval asked, the link withdrawn, its maker unable to grant
    the role any more, no seat), waits in the team's queue. Returns the requests that moved."""
    moved: list[JoinRequest] = []
    await act_for(db, user_id=user.id)
    for request in await repo.of_user(db, user.id, (RequestStatus.UNVERIFIED,)):
        await act_for(db, team_id=request.team_id)  # each change within its own team's walls
        link = await links_repo.in_team(db, request.team_id, request.join_link_id)
        joins = await _may_admit_itself(db, rt, request, link)
        status = RequestStatus.APPROVED if joins else RequestStatus.PENDING
        values = {"decided_at": rt.clock.now(), **_decided_by(None)} if joins else {}
        if not await repo.move(db, request.id, from_statuses=(RequestStatus.UNVERIFIED,), status=status, **values):
            continue  # denied meanwhile
        await repo.refresh(db, request)
        if joins:
            await admit(db, rt, request, actor, via="join_link")
        audit.record(db, rt, actor, "join_request.approved" if joins else "join_request.updated",
                     team_id=request.team_id, target_type="join_request", target_id=request.id,
                     email=request.email, reason="email_verified")
        await events.join_request(db, rt, "join_request.approved" if joins else "join_request.updated", request,
                                  actor)
        await db.flush()  # written now, under this team's scope, before the next team's
        moved.append(request)
    return moved


async def deny_all_of(db: AsyncSession, rt: Runtime, user_id: str, *, reason: str) -> int:
    """Deny every open request of a person (their account was taken over by its mailbox's owner:
    what the previous holder asked for is not the new holder's wish). The transaction acts for the user."""
    denied = 0
    for request in await repo.of_user(db, user_id, joining.OPEN):
        await act_for(db, team_id=request.team_id)
        if not await repo.move(db, request.id, from_statuses=joining.OPEN, status=RequestStatus.DENIED,
                               decided_at=rt.clock.now(), **_decided_by(None)):
            continue
        await repo.refresh(db, request)
        audit.record(db, rt, Actor.system(), "join_request.denied", team_id=request.team_id,
                     target_type="join_request", target_id=request.id, email=request.email, reason=reason)
        await events.join_request(db, rt, "join_request.denied", request)
        await db.flush()
        denied += 1
    return denied
