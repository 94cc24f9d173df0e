"""Server keys (DESIGN 12): how a product that signs its own people in talks to teamgate.

A server key is the product backend's credential across every team, made, listed and revoked by
operators (the CLI), shown once and stored hashed. It has no role and no session of its own: in a
team it acts for one person (X-Team-Id and X-Acting-User), with that person's role there and every
check a call of theirs would meet; outside teams it may accept an invitation on a person's behalf
(services/invitation_links.accept) and look a person up by their external id. Every use leaves an
audit event that names the key; a change made through it is recorded as the person's, with the key
beside them."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from teamgate import errors
from teamgate.domain.ids import is_id, new_id
from teamgate.domain.text import external_id_problem, name_problem
from teamgate.domain.tokens import SERVER_KEY_PREFIX, hash_token, last_use_due, new_server_key
from teamgate.runtime import Runtime
from teamgate.services import audit, teams
from teamgate.services.context import Actor, TeamContext
from teamgate.storage.models import Membership, ServerKey, Team, User
from teamgate.storage.repositories import accounts as accounts_repo
from teamgate.storage.repositories import server_keys as repo
from teamgate.storage.repositories import teams as teams_repo

USED = "server_key.used"


@dataclass(frozen=True)
class IssuedServerKey:
    server_key: ServerKey
    secret: str


async def create(db: AsyncSession, rt: Runtime, actor: Actor, *, name: str) -> IssuedServerKey:
    """A new server key; its secret exists only in the result. Raises ValidationFailed (name)."""
    if problem := name_problem(name):
        raise errors.ValidationFailed("name", problem)
    secret = new_server_key()
    key = repo.add(db, ServerKey(id=new_id("srv"), name=name.strip(), prefix=secret[: len(SERVER_KEY_PREFIX) + 4],
                                 secret_hash=hash_token(secret), created_at=rt.clock.now()))
    audit.record(db, rt, actor, "server_key.created", team_id=None, target_type="server_key", target_id=key.id,
                 name=key.name)
    await db.flush()
    return IssuedServerKey(key, secret)


async def listing(db: AsyncSession) -> list[ServerKey]:
    return await repo.all_keys(db)


async def revoke(db: AsyncSession, rt: Runtime, actor: Actor, key_id: str) -> ServerKey:
    """Revoke a key at once: its next request is 401. Raises NotFound."""
    key = await repo.by_id(db, key_id) if is_id(key_id) else None
    if key is None:
        raise errors.NotFound(f"No server key {key_id}.")
    if key.revoked_at is None:
        key.revoked_at = rt.clock.now()
        audit.record(db, rt, actor, "server_key.revoked", team_id=None, target_type="server_key",
                     target_id=key.id, name=key.name)
        await db.flush()
    return key


async def authenticate(db: AsyncSession, rt: Runtime, secret: str) -> ServerKey | None:
    """The live key behind a presented secret, or None (unknown, revoked, or not a server key)."""
    if not secret.startswith(SERVER_KEY_PREFIX) or len(secret) > 128:
        return None
    key = await repo.active_by_hash(db, hash_token(secret))
    now = rt.clock.now()
    if key is not None and last_use_due(key.last_used_at, now):
        key.last_used_at = now
    return key


async def acting_context(db: AsyncSession, rt: Runtime, actor: Actor, *, team_id: str | None,
                         external_id: str | None, use: str) -> TeamContext:
    """The server key `actor` acting in `team_id` for the person the product knows as `external_id`:
    that person's role in the team, as if they called (a system owner's rights excepted: those
    never pass through a key). Records the use in the team's audit trail (`use`: what was called).
    Raises BadRequest (no team named), Forbidden (no person named), NotFound (no such person, or
    not a member of that team: the two answer alike)."""
    if actor.server_key is None:
        raise errors.Forbidden("Only a server key can act for a person.")
    if not team_id:
        raise errors.BadRequest("A server key acts in the team named by X-Team-Id.")
    if not external_id:
        raise errors.Forbidden("A server key acts in a team only for a person: send X-Acting-User with their "
                               "externalId.")
    user = (await accounts_repo.act_as_user_with_external_id(db, external_id)
            if external_id_problem(external_id) is None else None)
    missing = errors.NotFound("No such team, or the acting person is not a member of it.")
    if user is None:
        raise missing
    person = Actor(kind="user", id=user.id, name=user.name, user=user, server_key=actor.server_key, ip=actor.ip,
                   user_agent=actor.user_agent)
    try:
        ctx = await teams.context_for(db, rt, person, team_id)
    except errors.NotFound:
        raise missing from None
    audit.record(db, rt, person, USED, team_id=ctx.team_id, target_type="user", target_id=user.id, use=use)
    return ctx


@dataclass(frozen=True)
class Person:
    """Someone a product knows by its own id, with their teams, roles and what each role permits."""

    user: User
    memberships: list[tuple[Team, Membership, frozenset[str]]]


async def person(db: AsyncSession, rt: Runtime, actor: Actor, external_id: str, *, use: str) -> Person:
    """Who `external_id` is, for a server key: the account and every membership. Raises Forbidden
    (not a server key), NotFound."""
    if actor.server_key is None:
        raise errors.Forbidden("Only a server key can look people up by externalId.")
    user = (await accounts_repo.act_as_user_with_external_id(db, external_id)
            if external_id_problem(external_id) is None else None)
    if user is None:
        raise errors.NotFound("No person with this externalId.")
    found = []
    for team, membership in await teams_repo.teams_of_user(db, user.id):
        role = rt.catalog.get(membership.role)
        found.append((team, membership, role.permissions if role else frozenset()))
    audit.record(db, rt, actor, USED, team_id=None, target_type="user", target_id=user.id, use=use)
    return Person(user, found)
