"""Request dependencies for the API and the pages: the unit of work, who is calling (API key,
session), the client's address, CSRF for the API, rate limits, the current team."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from teamgate import errors
from teamgate.domain.tokens import same
from teamgate.http.cookies import SESSION_COOKIE
from teamgate.runtime import Runtime
from teamgate.services import accounts, api_keys, teams
from teamgate.services.context import Actor, TeamContext
from teamgate.storage import db as storage
from teamgate.storage.models import Session, User

UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


# Dependencies are `async def` even when they await nothing: FastAPI runs a plain `def` one in a
# worker thread, a thread hand-off on every request.

def runtime(request: Request) -> Runtime:
    return request.app.state.rt


async def runtime_dependency(request: Request) -> Runtime:
    return request.app.state.rt


async def unit_of_work(request: Request) -> AsyncIterator[AsyncSession]:
    """One transaction per request, API route or page alike: committed before the response is
    sent, rolled back on any error. (Email queued in it wakes the dispatcher once it commits:
    services/outbox.py.)"""
    async with runtime(request).sessions() as db, db.begin():
        yield db


Db = Annotated[AsyncSession, Depends(unit_of_work, scope="function")]


@asynccontextmanager
async def after_refusal(request: Request, db: AsyncSession) -> AsyncIterator[AsyncSession]:
    """For a page that shows its form again when its action is refused. The request's transaction
    is rolled back at once, so the refused action leaves nothing behind (in the API the error
    itself does that, on its way out), and the page is read in a second, short transaction.
    Rows loaded before the refusal are stale: read them again from the session this yields."""
    await db.rollback()
    async with storage.unit_of_work(runtime(request).sessions) as fresh:
        yield fresh


Rt = Annotated[Runtime, Depends(runtime_dependency)]


@dataclass(frozen=True)
class Auth:
    actor: Actor | None
    session: Session | None = None
    session_token: str | None = None

    @property
    def signed_in_user(self) -> User | None:
        """The person signed in with a session (never an API key's maker), if any."""
        return self.actor.user if self.session is not None and self.actor is not None else None


@dataclass(frozen=True)
class PersonAuth:
    """A person signed in with a session: what routes for people (not API keys) act with."""

    actor: Actor
    user: User
    session: Session
    session_token: str


def client_ip(request: Request) -> str | None:
    """The peer's address; behind TEAMGATE_TRUSTED_PROXIES the app's proxy-headers middleware has
    already replaced it with the client that the nearest untrusted hop reported."""
    return request.client.host if request.client else None


async def token_use_limit(request: Request) -> None:
    """For the routes a token opens (API and pages): a per-address limit on attempts."""
    await runtime(request).limits.token_use(client_ip(request))


def presented_api_key(request: Request) -> str | None:
    if key := request.headers.get("x-api-key"):
        return key.strip()
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value else None


async def authenticate(request: Request, db: Db, rt: Rt) -> Auth:
    """An API key header wins; else the session cookie. A cookie-authenticated unsafe request
    must carry X-CSRF-Token. A wrong key is 401; a stale cookie is simply anonymous."""
    ip, agent = client_ip(request), request.headers.get("user-agent", "")[:400] or None
    if (secret := presented_api_key(request)) is not None:
        key = await api_keys.authenticate(db, rt, secret)
        if key is None:
            raise errors.Unauthenticated("The API key is unknown or revoked.")
        return Auth(Actor(kind="api_key", id=key.id, name=key.name, api_key=key, ip=ip, user_agent=agent))
    token = request.cookies.get(SESSION_COOKIE)
    found = await accounts.resolve_session(db, rt, token) if token else None
    if found is None or token is None:
        return Auth(None)
    session, user = found
    if request.method in UNSAFE_METHODS:
        sent = request.headers.get("x-csrf-token", "")
        if not sent or not same(sent, accounts.csrf_token(rt, token)):
            raise errors.CsrfFailed("Send the X-CSRF-Token header you got at sign-in (GET /api/v1/me shows it).")
    actor = Actor(kind="user", id=user.id, name=user.name, user=user, ip=ip, user_agent=agent)
    return Auth(actor, session=session, session_token=token)


Authenticated = Annotated[Auth, Depends(authenticate)]


async def caller(auth: Authenticated) -> Actor:
    if auth.actor is None:
        raise errors.Unauthenticated("Sign in, or send an API key in X-API-Key or Authorization: Bearer.")
    return auth.actor


async def session_auth(auth: Authenticated) -> PersonAuth:
    if auth.session is None or auth.actor is None or auth.actor.user is None or auth.session_token is None:
        if auth.actor is not None:
            raise errors.Forbidden("This route is for signed-in people, not API keys.")
        raise errors.Unauthenticated("Sign in first.")
    return PersonAuth(actor=auth.actor, user=auth.actor.user, session=auth.session, session_token=auth.session_token)


SessionAuth = Annotated[PersonAuth, Depends(session_auth)]


async def team_context(request: Request, db: Db, rt: Rt, actor: Annotated[Actor, Depends(caller)],
                       auth: Authenticated) -> TeamContext:
    """The current team: the API key's team; else X-Team-Id; else the session's active team."""
    requested = request.headers.get("x-team-id")
    if actor.api_key is not None:
        if requested and requested != actor.api_key.team_id:
            raise errors.Forbidden("An API key acts only in its own team.")
        team_id: str | None = actor.api_key.team_id
    else:
        team_id = requested or (auth.session.active_team_id if auth.session else None)
    if not team_id:
        raise errors.BadRequest("No current team: send X-Team-Id, or choose one with PUT /api/v1/me/active-team.")
    return await teams.context_for(db, rt, actor, team_id)


Team = Annotated[TeamContext, Depends(team_context)]
