"""Accounts and sign-in: users, sessions, and the one-time setup link for the first system owner."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

import anyio
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from teamgate import errors
from teamgate.domain.emails import normalize_email, parse_email
from teamgate.domain.ids import new_id
from teamgate.domain.passwords import NO_PASSWORD, password_problem, person_inputs
from teamgate.domain.text import external_id_problem, name_problem, text_problem
from teamgate.domain.tokens import derive, hash_token, new_token
from teamgate.runtime import Runtime
from teamgate.services import api_keys, audit, join_requests, oauth_grants
from teamgate.services import invitations as invitations_service
from teamgate.services.context import Actor
from teamgate.storage.models import ServerKey, Session, SetupToken, User
from teamgate.storage.repositories import account_tokens as tokens_repo
from teamgate.storage.repositories import accounts as repo
from teamgate.storage.repositories import teams as teams_repo
from teamgate.storage.scope import act_for

SETUP_LINK_LIFETIME = timedelta(days=1)
LAST_SEEN_PRECISION = timedelta(minutes=5)
SETUP_LINK_GONE = "This setup link is unknown, used or expired. Run `teamgate bootstrap` for a new one."


@dataclass(frozen=True)
class SignedIn:
    session: Session
    user: User
    token: str


def csrf_token(rt: Runtime, session_token: str) -> str:
    """Derived from the session token with the secret key: nothing to store, and useless without both."""
    return derive(rt.settings.secret, "csrf", session_token)


async def check_password(rt: Runtime, password: str, *, email: str | None, first_name: str | None,
                         last_name: str | None, field: str = "password") -> None:
    """Raises ValidationFailed unless zxcvbn, told who the person is, scores the password high enough.
    The estimate is tens of milliseconds of pure Python: in a thread, so other requests keep moving."""
    judge = partial(password_problem, password, min_score=rt.settings.password_min_score,
                    user_inputs=person_inputs(email=email, first_name=first_name, last_name=last_name))
    if problem := await anyio.to_thread.run_sync(judge):
        raise errors.ValidationFailed(field, problem)


@dataclass(frozen=True)
class NewPerson:
    """What a person without an account sent to accept an invitation or use a join link, checked:
    names trimmed, password hashed."""

    first_name: str
    last_name: str
    password_hash: str


async def new_person(rt: Runtime, email: str, password: str | None, first_name: str | None,
                      last_name: str | None) -> NewPerson:
    """Raises ValidationFailed: a missing or unsafe name, a missing or weak password."""
    if not first_name or not first_name.strip():
        raise errors.ValidationFailed("firstName", "is required to create your account")
    if not last_name or not last_name.strip():
        raise errors.ValidationFailed("lastName", "is required to create your account")
    if not password or not password.strip():
        raise errors.ValidationFailed("password", "is required to create your account")
    for field, value in (("firstName", first_name), ("lastName", last_name)):
        if problem := name_problem(value):
            raise errors.ValidationFailed(field, problem)
    await check_password(rt, password, email=email, first_name=first_name, last_name=last_name)
    return NewPerson(first_name.strip(), last_name.strip(), await rt.passwords.hash(password))


async def create_user(db: AsyncSession, rt: Runtime, actor: Actor, *, email: str, first_name: str, last_name: str,
                      password: str | None, system_owner: bool = False, external_id: str | None = None) -> User:
    """Raises ValidationFailed (email, names, weak password, external id) or AccountExists (the
    address, or the external id, is another account's). Without a password (None) nobody can sign
    in with one until a password reset, which only the mailbox's owner can do: for a person a
    product signs in (`external_id`, DESIGN 12)."""
    try:
        address = parse_email(email)
    except ValueError as exc:
        raise errors.ValidationFailed("email", str(exc)) from None
    for field, value in (("firstName", first_name), ("lastName", last_name)):
        if problem := name_problem(value):
            raise errors.ValidationFailed(field, problem)
    if external_id is not None and (problem := external_id_problem(external_id)):
        raise errors.ValidationFailed("externalId", problem)
    if password is not None:
        await check_password(rt, password, email=address.display, first_name=first_name, last_name=last_name)
    if await repo.email_taken(db, address.normalized):
        raise errors.AccountExists(f"An account for {address.display} already exists.")
    if external_id is not None and await repo.user_id_by_external_id(db, external_id):
        raise errors.AccountExists("Another account has this external id.")
    user = User(id=new_id("usr"), email=address.display, email_normalized=address.normalized,
                first_name=first_name.strip(), last_name=last_name.strip(),
                password_hash=await rt.passwords.hash(password) if password is not None else NO_PASSWORD,
                is_system_owner=system_owner, created_at=rt.clock.now(), external_id=external_id)
    await act_for(db, user_id=user.id)
    db.add(user)
    try:
        await db.flush()
    except IntegrityError:
        raise errors.AccountExists(f"An account for {address.display} (or its external id) already exists.") from None
    audit.record(db, rt, actor, "user.created", team_id=None, target_type="user", target_id=user.id,
                 systemOwner=system_owner, **({"externalId": external_id} if external_id else {}))
    return user


async def start_session(db: AsyncSession, rt: Runtime, user: User, *, active_team_id: str | None = None,
                        ip: str | None = None, user_agent: str | None = None) -> SignedIn:
    now = rt.clock.now()
    token = new_token()
    await act_for(db, user_id=user.id)
    session = Session(id=new_id("ses"), user_id=user.id, token_hash=hash_token(token), active_team_id=active_team_id,
                      ip=ip, user_agent=(user_agent or "")[:400] or None, created_at=now,
                      expires_at=now + timedelta(days=rt.settings.session_ttl_days), last_seen_at=now)
    db.add(session)
    return SignedIn(session=session, user=user, token=token)


async def first_team_id(db: AsyncSession, user: User) -> str | None:
    """The team a new session starts in: the person's oldest membership (the transaction must act for them)."""
    mine = await teams_repo.teams_of_user(db, user.id)
    return mine[0][0].id if mine else None


async def login(db: AsyncSession, rt: Runtime, *, email: str, password: str, ip: str | None = None,
                user_agent: str | None = None) -> SignedIn:
    """Raises InvalidCredentials, the same way for an unknown email and a wrong password."""
    # an address no account can have (a NUL byte, say) is simply not found, never sent to the database
    user = await repo.act_as_user_with_email(db, normalize_email(email)) if text_problem(email) is None else None
    # an unknown address costs the same hash as a wrong password
    right = await rt.passwords.verify(user.password_hash if user else None, password)
    if user is None or not right or await repo.password_hash_now(db, user.id) != user.password_hash:
        raise errors.InvalidCredentials("The email or password is not right.")  # (or changed meanwhile)
    signed_in = await start_session(db, rt, user, active_team_id=await first_team_id(db, user), ip=ip,
                                    user_agent=user_agent)
    actor = Actor(kind="user", id=user.id, name=user.name, user=user, ip=ip, user_agent=user_agent)
    audit.record(db, rt, actor, "session.created", team_id=None, target_type="user", target_id=user.id)
    return signed_in


def idle_cutoff(rt: Runtime) -> datetime:
    """A session last seen before this has been idle too long (TEAMGATE_SESSION_IDLE_HOURS) and is dead.
    last_seen_at moves only every few minutes (see resolve_session), so the timeout is that precise."""
    return rt.clock.now() - timedelta(hours=rt.settings.session_idle_hours)


async def resolve_session(db: AsyncSession, rt: Runtime, token: str) -> tuple[Session, User] | None:
    """The live session behind a cookie: within its absolute lifetime and not idle too long."""
    found = await repo.session_by_hash(db, hash_token(token), rt.clock.now()) if 0 < len(token) <= 128 else None
    if found is not None and found[0].last_seen_at <= idle_cutoff(rt):
        return None  # ended by idleness; upkeep purges it once its lifetime is over
    # a write every few minutes, not on every request; more often only if the idle timeout is that short
    precision = min(LAST_SEEN_PRECISION, timedelta(hours=rt.settings.session_idle_hours) / 4)
    if found is not None and rt.clock.now() - found[0].last_seen_at > precision:
        found[0].last_seen_at = rt.clock.now()
    return found


async def end_session(db: AsyncSession, session: Session) -> None:
    await act_for(db, user_id=session.user_id)  # (a sign-in as somebody else may have moved the scope)
    await repo.delete_session(db, session.id)


async def new_setup_link(db: AsyncSession, rt: Runtime, *, email: str | None = None) -> str:
    """A one-time link that creates the first system owner; older unused links die."""
    now = rt.clock.now()
    await repo.retire_setup_tokens(db, now)
    token = new_token()
    db.add(SetupToken(id=new_id("stp"), email=normalize_email(email) if email else None, token_hash=hash_token(token),
                      created_at=now, expires_at=now + SETUP_LINK_LIFETIME))
    return f"{rt.settings.base_url.rstrip('/')}/setup?token={token}"


async def setup_token(db: AsyncSession, rt: Runtime, token: str) -> SetupToken:
    found = await repo.usable_setup_token(db, hash_token(token), rt.clock.now()) if 0 < len(token) <= 128 else None
    if found is None or await repo.count_users(db) > 0:
        raise errors.NotFound(SETUP_LINK_GONE)
    return found


async def complete_setup(db: AsyncSession, rt: Runtime, *, token: str, email: str, first_name: str, last_name: str,
                         password: str, ip: str | None = None, user_agent: str | None = None) -> SignedIn:
    """Create the first system owner from a setup link, and sign them in. Raises NotFound, ValidationFailed.

    The link is claimed before anything else (and before the password is hashed): of concurrent
    uses of one link only one goes on, the others get the NotFound of a used link. A refusal
    after the claim rolls the transaction back, so a weak password does not burn the link."""
    claimed = await repo.claim_setup_token(db, hash_token(token), rt.clock.now()) if 0 < len(token) <= 128 else None
    if claimed is None or await repo.count_users(db) > 0:
        raise errors.NotFound(SETUP_LINK_GONE)
    _, link_email = claimed
    if link_email and normalize_email(email) != link_email:
        raise errors.ValidationFailed("email", "this setup link was made for another email address")
    actor = Actor(kind="system", id=None, name="setup", ip=ip, user_agent=user_agent)
    user = await create_user(db, rt, actor, email=email, first_name=first_name, last_name=last_name,
                             password=password, system_owner=True)
    await repo.retire_setup_tokens(db, rt.clock.now())
    return await start_session(db, rt, user, ip=ip, user_agent=user_agent)


async def take_over(db: AsyncSession, rt: Runtime, user: User, *, password_hash: str, via: str,
                    first_name: str | None = None, last_name: str | None = None, ip: str | None = None,
                    user_agent: str | None = None, server_key: ServerKey | None = None) -> None:
    """Whoever proved control of the mailbox gets the account (DESIGN 10): a new password (and
    names, if given), the address verified, and every session and unused account link ended.
    Taking over an unverified account (`account.reclaimed`) also revokes the API keys it made and
    the pending invitations it sent and denies the join requests it made, since whoever held it
    before may have been a squatter; its
    memberships stay, as they belong to the address that was invited. On a verified account this
    is a password reset. `server_key`: a product vouched for the mailbox (DESIGN 12)."""
    now = rt.clock.now()
    was_verified = user.email_verified
    await act_for(db, user_id=user.id)
    await repo.hold_exclusively(db, user.id)  # no request signed in to it may still act while it changes hands
    user.password_hash = password_hash
    if first_name and last_name:
        user.first_name, user.last_name = first_name.strip(), last_name.strip()
    if not was_verified:
        user.email_verified_at = now
    sessions = await tokens_repo.end_sessions(db, user.id)
    await tokens_repo.retire(db, user.id, now)
    grants = await oauth_grants.revoke_all(db, rt, user.id)  # and every refresh token signed-in products hold
    actor = Actor(kind="user", id=user.id, name=user.name, user=user, ip=ip, user_agent=user_agent,
                  server_key=server_key)
    keys = invitations = requests = 0
    if not was_verified:
        for team, _ in await teams_repo.teams_of_user(db, user.id):
            await act_for(db, team_id=team.id)  # each key and its audit event are in their own team's rows
            keys += len(await api_keys.revoke_made_by(db, rt, actor, team_id=team.id, user_id=user.id,
                                                      reason="account_reclaimed"))
            invitations += len(await invitations_service.revoke_sent_by(db, rt, actor, team_id=team.id,
                                                                        user_id=user.id, reason="account_reclaimed"))
            await db.flush()
        # what the previous holder asked to join is not the mailbox owner's wish
        requests = await join_requests.deny_all_of(db, rt, user.id, reason="account_reclaimed")
    audit.record(db, rt, actor, "account.reclaimed" if not was_verified else "password.reset", team_id=None,
                 target_type="user", target_id=user.id, via=via, sessionsEnded=sessions, apiKeysRevoked=keys,
                 invitationsRevoked=invitations, oauthGrantsRevoked=grants, joinRequestsDenied=requests)
    await db.flush()
