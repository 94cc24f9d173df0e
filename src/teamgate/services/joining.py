"""Using a join link (DESIGN 14), as the person holding it meets it: `describe` (a GET: it
changes nothing, mail scanners and chat previews open links) and `use`.

A use is one transaction: the use is counted by a conditional update (never past `max_uses`,
however many arrive at once), a seat is taken under the team's lock (members, pending
invitations and open join requests together), and then the person joins, or a join request
waits for their address to be verified or for someone to approve it. A refused use changes
nothing, the count included. A new person's account starts unverified (DESIGN 10) and is sent
a verification link; a person already waiting gets their request back, without a second use.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from teamgate import errors
from teamgate.domain import joining
from teamgate.domain.emails import parse_email
from teamgate.domain.ids import new_id
from teamgate.domain.joining import Outcome, RequestStatus
from teamgate.domain.tokens import hash_token
from teamgate.runtime import Runtime
from teamgate.services import accounts, audit, events, join_links, recovery, seats
from teamgate.services.context import Actor
from teamgate.services.invitations import can_still_grant
from teamgate.storage.models import JoinLink, JoinRequest, Membership, Session, Team, User
from teamgate.storage.repositories import accounts as accounts_repo
from teamgate.storage.repositories import join_links as repo
from teamgate.storage.repositories import join_requests as requests_repo
from teamgate.storage.repositories import teams as teams_repo
from teamgate.storage.scope import act_for

MAX_TOKEN_LENGTH = 128
UNKNOWN = "This join link is unknown: check that it was copied whole, or ask the team for a new one."


@dataclass(frozen=True)
class Described:
    link: JoinLink
    team: Team
    member: bool  # the signed-in person is in the team already
    waiting: JoinRequest | None  # the signed-in person's open request in the team


@dataclass(frozen=True)
class Used:
    outcome: Outcome
    user: User
    team: Team
    membership: Membership | None  # when joined
    request: JoinRequest | None  # when waiting
    account_created: bool

    @property
    def role(self) -> str:
        return self.membership.role if self.membership else self.request.role if self.request else ""


async def _usable(db: AsyncSession, rt: Runtime, token: str) -> tuple[JoinLink, Team]:
    """The link behind a token, if it still admits anyone, and its team. Raises JoinLinkNotFound,
    JoinLinkExpired (deleted, expired, used up, or its maker may no longer grant the role)."""
    link = await repo.by_token_hash(db, hash_token(token)) if 0 < len(token) <= MAX_TOKEN_LENGTH else None
    team = await teams_repo.team_by_id(db, link.team_id) if link is not None else None
    if link is None or team is None:
        raise errors.JoinLinkNotFound(UNKNOWN)
    joining.ensure_usable(join_links.status(link, rt.clock.now()))
    if not await can_still_grant(db, rt, team_id=link.team_id, role=link.role, user_id=link.created_by_user_id,
                                 api_key_id=link.created_by_api_key_id):
        raise errors.JoinLinkExpired("Whoever made this join link can no longer grant its role. Ask the team for a "
                                     "new one.", state=joining.LinkStatus.DELETED.value)
    return link, team


async def describe(db: AsyncSession, rt: Runtime, token: str, *, signed_in: User | None) -> Described:
    """What the link offers, and where the signed-in person stands with its team. Changes nothing."""
    link, team = await _usable(db, rt, token)
    member = signed_in is not None and await teams_repo.membership(db, team.id, signed_in.id) is not None
    waiting = await requests_repo.open_for(db, team.id, signed_in.id) if signed_in is not None else None
    return Described(link=link, team=team, member=member, waiting=waiting)


async def _take_use(db: AsyncSession, rt: Runtime, link: JoinLink) -> None:
    now = rt.clock.now()
    if not await repo.take_use(db, link.id, now):  # concurrent uses took the last ones, or it just closed
        await repo.refresh(db, link)
        joining.ensure_usable(join_links.status(link, now))
        raise errors.JoinLinkExpired("This join link has been used as many times as it allows.",
                                     state=joining.LinkStatus.USED_UP.value)


async def _insert(db: AsyncSession, row: object, conflict: errors.TeamgateError) -> None:
    """Insert now; a unique violation means a concurrent request of the same person got there first."""
    db.add(row)
    try:
        await db.flush()
    except IntegrityError:
        raise conflict from None


async def _admit_or_wait(db: AsyncSession, rt: Runtime, link: JoinLink, team: Team, user: User, result: Outcome,
                         actor: Actor) -> tuple[Membership | None, JoinRequest | None]:
    now = rt.clock.now()
    await act_for(db, team_id=team.id)
    if result is Outcome.JOINED:
        membership = Membership(team_id=team.id, user_id=user.id, role=link.role, is_owner=False, created_at=now)
        await _insert(db, membership, errors.AlreadyMember("You are already a member of this team."))
        audit.record(db, rt, actor, "join_link.used", team_id=team.id, target_type="join_link", target_id=link.id,
                     outcome=result.value, email=user.email)
        audit.record(db, rt, actor, "member.added", team_id=team.id, target_type="user", target_id=user.id,
                     role=link.role, via="join_link", joinLinkId=link.id)
        await events.member(db, rt, "membership.created", membership, user, actor)
        return membership, None
    request = JoinRequest(id=new_id("jrq"), team_id=team.id, join_link_id=link.id, user_id=user.id, email=user.email,
                          first_name=user.first_name, last_name=user.last_name, role=link.role,
                          status=joining.request_status(result), created_at=now, decided_at=None)
    await _insert(db, request, errors.JoinRequestPending("You already asked to join this team; your request waits."))
    audit.record(db, rt, actor, "join_link.used", team_id=team.id, target_type="join_link", target_id=link.id,
                 outcome=result.value, email=user.email, joinRequestId=request.id)
    audit.record(db, rt, actor, "join_request.created", team_id=team.id, target_type="join_request",
                 target_id=request.id, email=user.email, role=link.role, status=request.status)
    await events.join_request(db, rt, "join_request.created", request, actor)
    return None, request


async def use(db: AsyncSession, rt: Runtime, *, token: str, signed_in: User | None, email: str | None = None,
              password: str | None = None, first_name: str | None = None, last_name: str | None = None,
              ip: str | None = None, user_agent: str | None = None) -> Used:
    """Join (or ask to join) through a link: as the signed-in person (who sends no address or
    password), or as a new person (address, password and names; the account starts unverified).
    Raises JoinLinkNotFound, JoinLinkExpired, EmailDomainNotAllowed, ValidationFailed,
    AccountExists, AlreadyMember, JoinRequestPending, SeatLimitReached. A refused use changes nothing."""
    link, team = await _usable(db, rt, token)
    restricted = bool(link.allowed_domains)
    if signed_in is not None:
        if email is not None or password is not None:
            raise errors.ValidationFailed("email", f"leave out the address and password: you are signed in as "
                                                   f"{signed_in.email}")
        joining.ensure_domain_allowed(signed_in.email_normalized, link.allowed_domains)
        if await teams_repo.membership(db, team.id, signed_in.id) is not None:
            raise errors.AlreadyMember("You are already a member of this team.")
        waiting = await requests_repo.open_for(db, team.id, signed_in.id)
        if waiting is not None:  # asked already: the same answer again, and no second use
            waited = (Outcome.PENDING_VERIFICATION if waiting.status == RequestStatus.UNVERIFIED
                      else Outcome.PENDING_APPROVAL)
            return Used(waited, signed_in, team, None, waiting, account_created=False)
        result = joining.outcome(restricted=restricted, verified=signed_in.email_verified,
                                 requires_approval=link.requires_approval)
        await _take_use(db, rt, link)
        await seats.ensure_free(db, rt, team)
        actor = Actor(kind="user", id=signed_in.id, name=signed_in.name, user=signed_in, ip=ip, user_agent=user_agent)
        if result is Outcome.PENDING_VERIFICATION:
            await recovery.send_verification(db, rt, signed_in)  # the link that lets the request go on
        membership, request = await _admit_or_wait(db, rt, link, team, signed_in, result, actor)
        return Used(result, signed_in, team, membership, request, account_created=False)

    if not email:
        raise errors.ValidationFailed("email", "is required to create your account")
    try:
        address = parse_email(email)
    except ValueError as exc:
        raise errors.ValidationFailed("email", str(exc)) from None
    joining.ensure_domain_allowed(address.normalized, link.allowed_domains)
    if await accounts_repo.email_taken(db, address.normalized):
        raise errors.AccountExists("An account with this address exists: sign in, then use the link again.")
    newcomer = await accounts.new_person(rt, address.display, password, first_name, last_name)
    result = joining.outcome(restricted=restricted, verified=False, requires_approval=link.requires_approval)
    await _take_use(db, rt, link)  # after the password is hashed: the link's row is locked from here on
    await seats.ensure_free(db, rt, team)
    now = rt.clock.now()
    user = User(id=new_id("usr"), email=address.display, email_normalized=address.normalized,
                first_name=newcomer.first_name, last_name=newcomer.last_name, password_hash=newcomer.password_hash,
                is_system_owner=False, created_at=now, email_verified_at=None)
    await act_for(db, user_id=user.id)
    await _insert(db, user, errors.AccountExists("An account with this address was just created; sign in."))
    actor = Actor(kind="user", id=user.id, name=user.name, user=user, ip=ip, user_agent=user_agent)
    await recovery.send_verification(db, rt, user)  # anyone could type the address: ask the mailbox
    await act_for(db, team_id=team.id)
    audit.record(db, rt, actor, "user.created", team_id=team.id, target_type="user", target_id=user.id,
                 via="join_link", emailVerified=False)
    membership, request = await _admit_or_wait(db, rt, link, team, user, result, actor)
    return Used(result, user, team, membership, request, account_created=True)


@dataclass(frozen=True)
class Entered:
    """A use of a link, and the session the person continues in: their own, or the one started
    for a new person (its token goes into their cookie)."""

    used: Used
    session: Session
    started: accounts.SignedIn | None


async def use_and_enter(db: AsyncSession, rt: Runtime, *, token: str, session: Session | None,
                        signed_in: User | None, email: str | None = None, password: str | None = None,
                        first_name: str | None = None, last_name: str | None = None, ip: str | None = None,
                        user_agent: str | None = None) -> Entered:
    """Use (as `use`), then continue: a person who joined sees the team; a new person is signed in
    (to wait for the verification link or the approval, or in the new team). The API and the
    /join page both use links this way."""
    done = await use(db, rt, token=token, signed_in=signed_in, email=email, password=password, first_name=first_name,
                     last_name=last_name, ip=ip, user_agent=user_agent)
    joined = done.team.id if done.membership is not None else None
    if session is not None and signed_in is not None:
        if joined:
            session.active_team_id = joined
        return Entered(done, session, None)
    started = await accounts.start_session(db, rt, done.user, active_team_id=joined, ip=ip, user_agent=user_agent)
    return Entered(done, started.session, started)
