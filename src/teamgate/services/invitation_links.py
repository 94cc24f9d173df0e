"""Invitations as the invitee meets them, by token: validate, accept, decline.

GET never changes state (mail scanners prefetch links); accept and decline are conditional
updates, so of two concurrent uses of one token exactly one wins.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from teamgate import errors
from teamgate.domain import invitation as rules
from teamgate.domain.emails import parse_email
from teamgate.domain.ids import new_id
from teamgate.domain.passwords import NO_PASSWORD
from teamgate.domain.text import external_id_problem, name_problem
from teamgate.domain.tokens import hash_token
from teamgate.runtime import Runtime
from teamgate.services import accounts, audit, events, recovery, seats
from teamgate.services.context import Actor
from teamgate.services.invitations import inviter_can_still_grant
from teamgate.storage.models import Invitation, Membership, ServerKey, Session, Task, TaskAssignment, Team, User
from teamgate.storage.repositories import accounts as accounts_repo
from teamgate.storage.repositories import invitations as repo
from teamgate.storage.repositories import tasks as tasks_repo
from teamgate.storage.repositories import teams as teams_repo
from teamgate.storage.scope import act_for

MAX_TOKEN_LENGTH = 128


@dataclass(frozen=True)
class Described:
    invitation: Invitation
    team: Team
    tasks: list[Task]
    # whether the invitee must sign in rather than create an account; None when the holder of the
    # token has not shown to be the invitee (a link token), so the answer is not an oracle for them
    account_exists: bool | None


@dataclass(frozen=True)
class _Presented:
    """An invitation found by one of its tokens (with the facts read beside it), and which token it was."""

    facts: repo.TokenFacts
    token_hash: bytes

    @property
    def invitation(self) -> Invitation:
        return self.facts.invitation

    @property
    def proves_mailbox(self) -> bool:
        """Only the mail token, which left the service only inside the email, proves the mailbox."""
        return self.invitation.token_hash == self.token_hash

    @property
    def address_held(self) -> bool:
        """Whether an account keeps the invited address from a new person: any account does against
        a link token, but against the mail token only a verified one (the mailbox owner wins, DESIGN 10)."""
        return self.facts.account_id is not None and (self.facts.account_verified or not self.proves_mailbox)


@dataclass(frozen=True)
class Accepted:
    invitation: Invitation
    user: User
    membership: Membership
    team: Team
    account_created: bool


async def _usable(db: AsyncSession, rt: Runtime, token: str, *, lock: bool = False) -> _Presented:
    """The invitation behind a mail or link token, if it can still be used, read in one statement
    with what its use decides on; with `lock`, held until the transaction ends (accept, decline), so
    a concurrent use of the token waits and then finds it closed. Raises InvitationNotFound or the
    400 code of its state (accepted, declined, revoked, expired)."""
    token_hash = hash_token(token)
    facts = await repo.token_facts(db, token_hash, lock=lock) if 0 < len(token) <= MAX_TOKEN_LENGTH else None
    if facts is None:
        raise errors.InvitationNotFound("Invalid or expired invitation.")
    invitation = facts.invitation
    rules.ensure_usable(invitation.status, invitation.expires_at, rt.clock.now())
    if not await inviter_can_still_grant(db, rt, invitation):  # the sender's key or membership came with the facts
        raise errors.InvitationRevoked("Whoever sent this invitation can no longer grant it; ask for a new one.")
    return _Presented(facts, token_hash)


async def _address_holder(db: AsyncSession, presented: _Presented) -> User | None:
    """The account holding the invited address (known from the facts), with the transaction scoped
    to it; None when no account has the address."""
    if presented.facts.account_id is None:
        return None
    await act_for(db, user_id=presented.facts.account_id)
    return await accounts_repo.user_by_id(db, presented.facts.account_id)


async def describe(db: AsyncSession, rt: Runtime, token: str, *, signed_in: User | None = None) -> Described:
    presented = await _usable(db, rt, token)
    invitation, team = presented.invitation, presented.facts.team
    account_exists: bool | None = None
    if signed_in is not None:  # the invitee's own account, or someone else's (who must switch first)
        account_exists = True if signed_in.email_normalized == invitation.email_normalized else None
    elif presented.proves_mailbox:
        account_exists = presented.address_held
    return Described(invitation=invitation, team=team,
                     tasks=await tasks_repo.by_ids(db, invitation.team_id, invitation.task_ids),
                     account_exists=account_exists)


@dataclass(frozen=True)
class Vouched:
    """A person a product signed in, presented by its server key (DESIGN 12): the product knows them
    as `external_id` and vouches that they control `email`."""

    server_key: ServerKey
    external_id: str
    email: str
    first_name: str | None = None
    last_name: str | None = None


def _vouched_names(vouched: Vouched) -> tuple[str, str]:
    """Raises ValidationFailed: a name given that is empty or unsafe (names are optional)."""
    for field, value in (("user.firstName", vouched.first_name), ("user.lastName", vouched.last_name)):
        if value is not None and (problem := name_problem(value)):
            raise errors.ValidationFailed(field, problem)
    return (vouched.first_name or "").strip(), (vouched.last_name or "").strip()


async def _vouched_person(db: AsyncSession, rt: Runtime, presented: _Presented,
                          vouched: Vouched) -> tuple[User | None, User | None, accounts.NewPerson | None]:
    """The account of a product's person: the one with their external id; else the one with the
    invited address, when its address was proven (it is linked to the external id on accept); else
    a new one, taking over an unverified account with the address (the mailbox's owner wins,
    DESIGN 10). A system owner's account is neither linked nor taken over. As (account, account to
    take over, what a new account needs). Raises ValidationFailed, EmailMismatch (not the invited
    address, or the external id's account has another), AccountExists (the address is another
    external id's, or a system owner's)."""
    if problem := external_id_problem(vouched.external_id):
        raise errors.ValidationFailed("user.externalId", problem)
    invitation = presented.invitation
    try:
        address = parse_email(vouched.email)
    except ValueError as exc:
        raise errors.ValidationFailed("user.email", str(exc)) from None
    if address.normalized != invitation.email_normalized:
        raise errors.EmailMismatch("This invitation was sent to another email address than the person's.")
    first_name, last_name = _vouched_names(vouched)
    user = await accounts_repo.act_as_user_with_external_id(db, vouched.external_id)
    if user is not None:
        if user.email_normalized != invitation.email_normalized:
            raise errors.EmailMismatch("The account with this externalId has another email address than the one "
                                       "this invitation was sent to.")
        return user, None, None
    holder = await _address_holder(db, presented)
    if holder is not None and holder.external_id is not None:
        await _ensure_still_usable(db, rt, invitation)
        raise errors.AccountExists("The invited address belongs to an account with another externalId.")
    if holder is not None and holder.is_system_owner:  # an operator's account is never annexed on a product's word
        await _ensure_still_usable(db, rt, invitation)
        raise errors.AccountExists("The invited address belongs to a system owner's account, which is not linked "
                                   "to a product's person; the system owner signs in to teamgate to accept.")
    if holder is not None and holder.email_verified:
        return holder, None, None
    return None, holder, accounts.NewPerson(first_name, last_name, NO_PASSWORD)


async def accept(db: AsyncSession, rt: Runtime, *, token: str, signed_in: User | None, password: str | None = None,
                 first_name: str | None = None, last_name: str | None = None, ip: str | None = None,
                 user_agent: str | None = None, vouched: Vouched | None = None) -> Accepted:
    """Accept: create the account (new person) or use the signed-in one, add the membership and
    task assignments, mark the invitation accepted, in one transaction. With the mail token the
    address counts as proven: a new account starts verified, and an unverified account with the
    address is taken over (new password and names, its sessions and keys ended). With `vouched`
    (a server key accepting on a person's behalf, DESIGN 12) the product's word proves it: the
    person's account is found by external id or address, or made without a password, and every
    other rule is the same. Raises InvitationNotFound, Invitation{Accepted,Declined,Revoked,Expired},
    EmailMismatch, AccountExists, AlreadyMember, SeatLimitReached, ValidationFailed. A refused
    accept changes nothing."""
    presented = await _usable(db, rt, token, lock=True)
    invitation, team = presented.invitation, presented.facts.team
    proven = presented.proves_mailbox or vouched is not None  # the mailbox itself, or the product's word for it
    reclaimed: User | None = None
    newcomer: accounts.NewPerson | None = None
    user: User | None = None
    if vouched is not None:
        user, reclaimed, newcomer = await _vouched_person(db, rt, presented, vouched)
    elif signed_in is not None:
        if signed_in.email_normalized != invitation.email_normalized:
            raise errors.EmailMismatch("You are signed in with a different email than this invitation was sent to.")
        user = signed_in
    else:
        if presented.address_held:
            await _ensure_still_usable(db, rt, invitation)
            raise errors.AccountExists("An account with this email exists: sign in, then accept the invitation.")
        reclaimed = await _address_holder(db, presented)  # unverified, if any: the mailbox's owner takes it over
        newcomer = await accounts.new_person(rt, invitation.email, password, first_name, last_name)
    if user is not None and await teams_repo.membership(db, invitation.team_id, user.id):
        await _ensure_still_usable(db, rt, invitation)
        raise errors.AlreadyMember("You are already a member of this team.")

    now = rt.clock.now()
    move = rules.accept(invitation.status, invitation.expires_at, now)
    # The invitation's row is ours until the transaction ends (locked with the facts), and with it
    # its team (deleting a team deletes its invitations); with a seat limit the team's row is
    # locked too, so concurrent accepts into the team count one after another.
    await seats.ensure_seat_for_member(db, team)

    created = user is None and reclaimed is None
    server_key = vouched.server_key if vouched is not None else None
    if user is None and newcomer is not None and reclaimed is not None:
        user = reclaimed
        await accounts.take_over(db, rt, user, password_hash=newcomer.password_hash, first_name=newcomer.first_name,
                                 last_name=newcomer.last_name, via="invitation", ip=ip, user_agent=user_agent,
                                 server_key=server_key)
    elif user is None and newcomer is not None:
        user = User(id=new_id("usr"), email=invitation.email, email_normalized=invitation.email_normalized,
                    first_name=newcomer.first_name, last_name=newcomer.last_name,
                    password_hash=newcomer.password_hash, is_system_owner=False, created_at=now,
                    email_verified_at=now if proven else None,
                    external_id=vouched.external_id if vouched is not None else None)
        await act_for(db, user_id=user.id)
        await _insert(db, user, errors.AccountExists("An account with this email was just created; sign in."
                                                     if vouched is None else "An account with this email or "
                                                     "externalId was just created; try again."))
        await recovery.send_verification(db, rt, user)  # made with the link token: ask the mailbox
    if user is None:  # unreachable: a person either was signed in or sent what a new account needs
        raise errors.InvitationNotFound("Invalid or expired invitation.")
    if vouched is not None and user.external_id is None:  # teamgate's own account, now the product's person too
        await act_for(db, user_id=user.id)
        user.external_id = vouched.external_id
        await _insert(db, user, errors.AccountExists("Another account was just given this externalId; try again."))
    actor = Actor(kind="user", id=user.id, name=user.name, user=user, ip=ip, user_agent=user_agent,
                  server_key=server_key)
    if proven and not user.email_verified:  # a signed-in account, now proven
        user.email_verified_at = now
        audit.record(db, rt, actor, "email.verified", team_id=None, target_type="user", target_id=user.id,
                     via="invitation")
    membership = Membership(team_id=team.id, user_id=user.id, role=invitation.role, is_owner=False, created_at=now)
    await act_for(db, team_id=team.id)  # (a takeover acted in the teams the old holder sent invitations from)
    # The single use, in one conditional UPDATE (still the decider, lock or no lock), which also
    # names who accepted (the account exists by now: it could not be named before) and reads the invitation back.
    if not await repo.close(db, invitation, from_statuses=move.from_statuses, unexpired_at=move.unexpired_at,
                            presented_hash=presented.token_hash, accepted_by_user_id=user.id, **move.values):
        await _refuse_lost_race(db, rt, invitation)
    await _insert(db, membership, errors.AlreadyMember("You are already a member of this team."))
    task_ids = await tasks_repo.existing_ids(db, team.id, invitation.task_ids)
    db.add_all([TaskAssignment(task_id=t, user_id=user.id, team_id=team.id, created_at=now)
                for t in invitation.task_ids if t in task_ids])

    if created:
        audit.record(db, rt, actor, "user.created", team_id=team.id, target_type="user", target_id=user.id,
                     via="invitation", emailVerified=user.email_verified)
    audit.record(db, rt, actor, "invitation.accepted", team_id=team.id, target_type="invitation",
                 target_id=invitation.id, role=invitation.role, mailToken=presented.proves_mailbox,
                 **({"onBehalf": True} if vouched is not None else {}))
    audit.record(db, rt, actor, "member.added", team_id=team.id, target_type="user", target_id=user.id,
                 role=invitation.role, taskIds=sorted(task_ids))
    await events.invitation(db, rt, "invitation.accepted", invitation, actor)
    await events.member(db, rt, "membership.created", membership, user, actor)
    await db.flush()
    return Accepted(invitation=invitation, user=user, membership=membership, team=team, account_created=created)


@dataclass(frozen=True)
class Entered:
    """An accepted invitation, and the session that now shows its team: the caller's own, or the
    one started for a person who was signed out (its token goes into their cookie)."""

    accepted: Accepted
    session: Session
    started: accounts.SignedIn | None


async def accept_and_enter(db: AsyncSession, rt: Runtime, *, token: str, session: Session | None,
                           signed_in: User | None, password: str | None = None, first_name: str | None = None,
                           last_name: str | None = None, ip: str | None = None,
                           user_agent: str | None = None) -> Entered:
    """Accept (as `accept`), then show the new team: a signed-in person's session switches to it,
    anyone else is signed in there. The API and the invite page both accept this way."""
    done = await accept(db, rt, token=token, signed_in=signed_in, password=password, first_name=first_name,
                        last_name=last_name, ip=ip, user_agent=user_agent)
    if session is not None and signed_in is not None:
        session.active_team_id = done.team.id
        return Entered(done, session, None)
    started = await accounts.start_session(db, rt, done.user, active_team_id=done.team.id, ip=ip,
                                           user_agent=user_agent)
    return Entered(done, started.session, started)


async def _refuse_lost_race(db: AsyncSession, rt: Runtime, invitation: Invitation) -> None:
    """The conditional update changed nothing: say why. Another request closed the invitation,
    or a resend rotated the token that was presented (that link is dead, as if unknown)."""
    await repo.refresh(db, invitation)
    rules.ensure_usable(invitation.status, invitation.expires_at, rt.clock.now())
    raise errors.InvitationNotFound("This link was replaced by a newer invitation; use the latest email.")


async def _ensure_still_usable(db: AsyncSession, rt: Runtime, invitation: Invitation) -> None:
    """Before refusing for an account or membership that exists: it may be the work of a concurrent
    accept of this very token that committed after we read the invitation; then say so (400)."""
    await repo.refresh(db, invitation)
    rules.ensure_usable(invitation.status, invitation.expires_at, rt.clock.now())


async def _insert(db: AsyncSession, row, conflict: errors.TeamgateError) -> None:
    """Insert now; a unique violation means a concurrent request got there first."""
    db.add(row)
    try:
        await db.flush()
    except IntegrityError:
        raise conflict from None


async def decline(db: AsyncSession, rt: Runtime, *, token: str, ip: str | None = None,
                  user_agent: str | None = None) -> Invitation:
    """Decline by token. Raises InvitationNotFound or the 400 code of a closed invitation."""
    presented = await _usable(db, rt, token, lock=True)
    invitation = presented.invitation
    now = rt.clock.now()
    move = rules.decline(invitation.status, invitation.expires_at, now)
    if not await repo.close(db, invitation, from_statuses=move.from_statuses, unexpired_at=move.unexpired_at,
                            presented_hash=presented.token_hash, **move.values):
        await _refuse_lost_race(db, rt, invitation)
    actor = Actor(kind="invitee", id=None, name=invitation.email, ip=ip, user_agent=user_agent)
    audit.record(db, rt, actor, "invitation.declined", team_id=invitation.team_id, target_type="invitation",
                 target_id=invitation.id, email=invitation.email)
    await events.invitation(db, rt, "invitation.declined", invitation, actor)
    return invitation
