"""Getting back into an account by proving the mailbox: password reset and address verification
(DESIGN 10). Links are single use (a conditional update claims them), expiring, 256-bit, and
stored only as SHA-256; their emails go through the outbox with sealed bodies.

`send_verification(db, rt, user)` is the entry point other services call (e.g. after an account
is created through a link its inviter could see)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from teamgate import errors
from teamgate.domain.emails import normalize_email
from teamgate.domain.ids import new_id
from teamgate.domain.text import text_problem
from teamgate.domain.tokens import hash_token, new_token
from teamgate.runtime import Runtime
from teamgate.services import accounts, audit, join_requests, outbox
from teamgate.services.context import Actor
from teamgate.storage.models import AccountToken, User
from teamgate.storage.repositories import account_tokens as repo
from teamgate.storage.repositories import accounts as accounts_repo
from teamgate.storage.scope import act_for

RESET = "password_reset"
VERIFY = "verify_email"
MAX_TOKEN_LENGTH = 128
_PAGE = {RESET: "reset-password", VERIFY: "verify-email"}


def _person(user: User, ip: str | None, user_agent: str | None) -> Actor:
    return Actor(kind="user", id=user.id, name=user.name, user=user, ip=ip, user_agent=user_agent)


async def _issue(db: AsyncSession, rt: Runtime, user: User, purpose: str, lifetime: timedelta) -> None:
    """A new link of this purpose, emailed to the account's address; its older unused ones die."""
    now = rt.clock.now()
    await repo.retire(db, user.id, now, purpose=purpose)
    token = new_token()
    db.add(AccountToken(id=new_id("atk"), user_id=user.id, purpose=purpose, token_hash=hash_token(token),
                        created_at=now, expires_at=now + lifetime, used_at=None))
    url = f"{rt.settings.base_url}/{_PAGE[purpose]}?token={token}"
    message = rt.templates.account_link(purpose, product=rt.settings.product_name, name=user.first_name,
                                        email=user.email, url=url, expires_at=now + lifetime, now=now)
    outbox.enqueue(db, rt, recipient=user.email, message=message, kind=purpose)


async def request_password_reset(db: AsyncSession, rt: Runtime, *, email: str, ip: str | None = None,
                                 user_agent: str | None = None) -> bool:
    """Email a reset link if an account has this address. Returns whether one was sent, for
    tests only: callers must answer the same either way, and at the same moment (the routes run
    this after their answer has gone)."""
    if text_problem(email) is not None:  # no account can have it (a NUL byte, say): never sent to the database
        return False
    user = await accounts_repo.act_as_user_with_email(db, normalize_email(email))
    if user is None:
        return False
    await _issue(db, rt, user, RESET, timedelta(minutes=rt.settings.password_reset_ttl_minutes))
    audit.record(db, rt, Actor(kind="anonymous", id=None, name="anonymous", ip=ip, user_agent=user_agent),
                 "password.reset_requested", team_id=None, target_type="user", target_id=user.id)
    return True


async def _claim(db: AsyncSession, rt: Runtime, token: str, purpose: str) -> tuple[AccountToken, User]:
    usable_length = 0 < len(token) <= MAX_TOKEN_LENGTH
    found = await repo.usable(db, hash_token(token), purpose, rt.clock.now()) if usable_length else None
    if found is None:
        raise errors.TokenInvalid("This link is unknown, used or expired. Ask for a new one.")
    return found


async def check_reset_link(db: AsyncSession, rt: Runtime, token: str) -> User:
    """The account a reset link is for, changing nothing (the page shows it). Raises TokenInvalid."""
    return (await _claim(db, rt, token, RESET))[1]


async def confirm_password_reset(db: AsyncSession, rt: Runtime, *, token: str, password: str, ip: str | None = None,
                                 user_agent: str | None = None) -> accounts.SignedIn:
    """Set the password from a reset link, mark the address proven, end every session and every
    other link of the account, and sign the person in. An unverified account is taken over by
    the mailbox's owner (`account.reclaimed`). Raises TokenInvalid, ValidationFailed."""
    link, user = await _claim(db, rt, token, RESET)
    await accounts.check_password(rt, password, email=user.email, first_name=user.first_name,
                                  last_name=user.last_name)
    password_hash = await rt.passwords.hash(password)  # before the claim: the row is not locked while hashing
    now = rt.clock.now()
    if not await repo.claim(db, link.id, now):  # a concurrent confirm won
        raise errors.TokenInvalid("This link is unknown, used or expired. Ask for a new one.")
    await accounts.take_over(db, rt, user, password_hash=password_hash, via="password_reset", ip=ip,
                             user_agent=user_agent)
    signed_in = await accounts.start_session(db, rt, user, active_team_id=await accounts.first_team_id(db, user),
                                             ip=ip, user_agent=user_agent)
    audit.record(db, rt, _person(user, ip, user_agent), "session.created", team_id=None, target_type="user",
                 target_id=user.id)
    return signed_in


async def send_verification(db: AsyncSession, rt: Runtime, user: User) -> None:
    """Email `user` a link that proves the address (TEAMGATE_EMAIL_VERIFICATION_TTL_HOURS); their
    older verification links die. Does nothing when the address is already verified. In the
    caller's transaction, which this scopes to `user` (the link row is theirs under row-level
    security); counts no rate limit (routes that let a person ask do that)."""
    if user.email_verified:
        return
    await act_for(db, user_id=user.id)
    await _issue(db, rt, user, VERIFY, timedelta(hours=rt.settings.email_verification_ttl_hours))


async def check_verification_link(db: AsyncSession, rt: Runtime, token: str) -> User:
    """The account a verification link is for, changing nothing. Raises TokenInvalid."""
    return (await _claim(db, rt, token, VERIFY))[1]


async def confirm_verification(db: AsyncSession, rt: Runtime, *, token: str, signed_in: User | None,
                               ip: str | None = None, user_agent: str | None = None) -> User:
    """Use a verification link, signed in as its account: the address is proven, and the person's
    join requests that waited for it go on (services/join_requests.py). The link says only
    that its user reads the mailbox; whoever set the account's password may be someone else (a
    squatter who accepted a copied invitation link), so the mailbox's owner verifies only an
    account they can sign in to, and takes any other over by a password reset instead.
    Raises TokenInvalid, Unauthenticated (not signed in as the link's account; the link is kept)."""
    link, user = await _claim(db, rt, token, VERIFY)
    if signed_in is None or signed_in.id != user.id:
        raise errors.Unauthenticated(f"Sign in as {user.email} to confirm the address. If you did not make that "
                                     "account, reset its password instead: that takes it over.")
    now = rt.clock.now()
    if not await repo.claim(db, link.id, now):
        raise errors.TokenInvalid("This link is unknown, used or expired. Ask for a new one.")
    if not user.email_verified:
        user.email_verified_at = now
        audit.record(db, rt, _person(user, ip, user_agent), "email.verified", team_id=None, target_type="user",
                     target_id=user.id)
    # join requests that waited for this proof go on (join now, or wait for approval)
    await join_requests.address_proven(db, rt, user, _person(user, ip, user_agent))
    return user
