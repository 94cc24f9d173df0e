"""A signed-in person looking after their own account: names, password, sessions.

Every function acts only on the caller's own account: a session id of someone else's is
NotFound, exactly like one that does not exist."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from teamgate import errors
from teamgate.domain.ids import is_id
from teamgate.domain.text import name_problem
from teamgate.runtime import Runtime
from teamgate.services import accounts, audit
from teamgate.services.context import Actor
from teamgate.services.recovery import RESET
from teamgate.storage.models import Session, User
from teamgate.storage.repositories import account_tokens as repo


def _me(actor: Actor) -> User:
    """The person acting; an API key or the system has no account to look after."""
    if actor.user is None:
        raise errors.Forbidden("This is for signed-in people, not API keys.")
    return actor.user


async def rename(db: AsyncSession, rt: Runtime, actor: Actor, *, first_name: str | None = None,
                 last_name: str | None = None) -> None:
    """Change the caller's first and/or last name. Raises ValidationFailed."""
    user = _me(actor)
    changes = {k: v for k, v in (("firstName", first_name), ("lastName", last_name)) if v is not None}
    for field, value in changes.items():
        if problem := name_problem(value):
            raise errors.ValidationFailed(field, problem)
    if first_name is not None:
        user.first_name = first_name.strip()
    if last_name is not None:
        user.last_name = last_name.strip()
    if changes:
        audit.record(db, rt, actor, "user.updated", team_id=None, target_type="user", target_id=user.id,
                     fields=sorted(changes))


async def change_password(db: AsyncSession, rt: Runtime, actor: Actor, session: Session, *, current_password: str,
                          new_password: str) -> int:
    """Set a new password, given the current one; ends the account's other sessions and unused
    reset links (whoever held them loses them). Returns how many sessions ended. Raises ValidationFailed."""
    user = _me(actor)
    if not await rt.passwords.verify(user.password_hash, current_password):
        raise errors.ValidationFailed("currentPassword", "is not your current password")
    await accounts.check_password(rt, new_password, email=user.email, first_name=user.first_name,
                                  last_name=user.last_name, field="newPassword")
    user.password_hash = await rt.passwords.hash(new_password)
    ended = await repo.end_sessions(db, user.id, keep=session.id)
    if user.email_verified:
        # the reset links in the mailbox were asked for by the same person. For an unverified
        # account they may be the mailbox owner's way to take it back from whoever set this
        # password, so they stay alive
        await repo.retire(db, user.id, rt.clock.now(), purpose=RESET)
    audit.record(db, rt, actor, "password.changed", team_id=None, target_type="user", target_id=user.id,
                 sessionsEnded=ended)
    return ended


async def sessions(db: AsyncSession, rt: Runtime, actor: Actor) -> list[Session]:
    """The caller's live sessions (neither past their lifetime nor idle too long), most recent first."""
    now = rt.clock.now()
    return await repo.live_sessions(db, _me(actor).id, now=now, seen_after=accounts.idle_cutoff(rt))


async def end_session(db: AsyncSession, rt: Runtime, actor: Actor, session_id: str) -> None:
    """Sign one of the caller's sessions out. Raises NotFound (also for another person's session)."""
    if not is_id(session_id) or not await repo.end_session_of(db, _me(actor).id, session_id):
        raise errors.NotFound("You have no such session.")
    audit.record(db, rt, actor, "session.ended", team_id=None, target_type="session", target_id=session_id)


async def end_all_sessions(db: AsyncSession, rt: Runtime, actor: Actor) -> int:
    """Sign the caller out everywhere, this session included. Returns how many ended."""
    user = _me(actor)
    ended = await repo.end_sessions(db, user.id)
    audit.record(db, rt, actor, "session.ended_all", team_id=None, target_type="user", target_id=user.id,
                 sessionsEnded=ended)
    return ended
