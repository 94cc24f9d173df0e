"""Request dependencies for the API and the pages: the unit of work, who is calling (API key,
server key, session), the client's address, CSRF for the API, rate limits, the current team."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyCookie, APIKeyHeader, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession

from teamgate import errors
from teamgate.domain.tokens import SERVER_KEY_PREFIX, same
from teamgate.http.cookies import SESSION_COOKIE
from teamgate.http.middleware import route_template
from teamgate.runtime import Runtime
from teamgate.services import accounts, api_keys, server_keys, teams
from teamgate.services.context import Actor, TeamContext
from teamgate.storage import db as storage
from teamgate.storage.models import ServerKey, Session, User

UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
ACTING_USER = "x-acting-user"  # a server key's person, by their externalId (DESIGN 12)


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


async def presented_server_key(request: Request, db: Db, rt: Rt) -> ServerKey | None:
    """The live server key the request presents, if any (looked up once per request: FastAPI
    caches a dependency's answer for the request)."""
    secret = presented_api_key(request)
    if secret is None or not secret.startswith(SERVER_KEY_PREFIX):
        return None
    return await server_keys.authenticate(db, rt, secret)


PresentedServerKey = Annotated[ServerKey | None, Depends(presented_server_key)]


async def invitation_token_use_limit(request: Request, server_key: PresentedServerKey) -> None:
    """token_use_limit for the API's invitation links (validate, accept, decline), except for a live
    server key: a product's backend calls for all of its people from one address, and a request
    with a wrong server key is refused (401) before any token is looked at, or counted."""
    if server_key is None:
        await token_use_limit(request)


def _refuse_acting(request: Request) -> None:
    """X-Acting-User is a server key's alone: a team API key or a session acts only as itself."""
    if request.headers.get(ACTING_USER):
        raise errors.Forbidden("Only a server key can act for a person (X-Acting-User).")


async def authenticate(request: Request, db: Db, rt: Rt, server_key: PresentedServerKey) -> Auth:
    """A key header wins (a server key by its `tgs_` prefix, else an API key); else the session
    cookie. A cookie-authenticated unsafe request must carry X-CSRF-Token. A wrong key is 401; a
    stale cookie is simply anonymous."""
    ip, agent = client_ip(request), request.headers.get("user-agent", "")[:400] or None
    if (secret := presented_api_key(request)) is not None:
        if secret.startswith(SERVER_KEY_PREFIX):
            if server_key is None:
                raise errors.Unauthenticated("The server key is unknown or revoked.")
            return Auth(Actor(kind="server_key", id=server_key.id, name=server_key.name, server_key=server_key,
                              ip=ip, user_agent=agent))
        key = await api_keys.authenticate(db, rt, secret)
        if key is None:
            raise errors.Unauthenticated("The API key is unknown or revoked.")
        _refuse_acting(request)
        return Auth(Actor(kind="api_key", id=key.id, name=key.name, api_key=key, ip=ip, user_agent=agent))
    token = request.cookies.get(SESSION_COOKIE)
    found = await accounts.resolve_session(db, rt, token) if token else None
    if found is None or token is None:
        return Auth(None)
    session, user = found
    _refuse_acting(request)
    if request.method in UNSAFE_METHODS:
        sent = request.headers.get("x-csrf-token", "")
        if not sent or not same(sent, accounts.csrf_token(rt, token)):
            raise errors.CsrfFailed("Send the X-CSRF-Token header you got at sign-in (GET /api/v1/me shows it).")
    actor = Actor(kind="user", id=user.id, name=user.name, user=user, ip=ip, user_agent=agent)
    return Auth(actor, session=session, session_token=token)


Authenticated = Annotated[Auth, Depends(authenticate)]

# How each route authenticates, for the OpenAPI document: FastAPI lists a route's security schemes
# from these dependencies (alternatives, any one will do). They read nothing that `authenticate`
# does not; `auto_error=False`, so they never answer for it.
API_KEY_SCHEME = APIKeyHeader(name="X-API-Key", scheme_name="apiKey", auto_error=False, description=(
    "A team's API key (`tgk_...`): acts in its own team, with its own role."))
BEARER_SCHEME = HTTPBearer(scheme_name="bearer", bearerFormat="tgk_...", auto_error=False, description=(
    "A team's API key sent as `Authorization: Bearer tgk_...`."))
SERVER_KEY_SCHEME = HTTPBearer(scheme_name="serverKey", bearerFormat="tgs_...", auto_error=False, description=(
    "A server key (`tgs_...`, made by an operator with `teamgate server-keys create`): a product backend's key "
    "across every team, sent as `Authorization: Bearer tgs_...`. On a team's routes it acts for one person, "
    "with that person's role and permissions in the team: send `X-Team-Id: <teamId>` and "
    "`X-Acting-User: <externalId>` (no `X-Acting-User` is 403; a person who is not a member of that team is "
    "404). It also accepts invitations on a person's behalf (`user` in the accept body) and looks people up "
    "by externalId. It has no session: a signed-in person's routes refuse it (403), and it cannot create API "
    "keys. Only a server key may send `X-Acting-User` (anyone else: 403)."))
SESSION_SCHEME = APIKeyCookie(name=SESSION_COOKIE, scheme_name="session", auto_error=False, description=(
    "A signed-in person's session cookie; every write also sends `X-CSRF-Token` (from sign-in or GET /me)."))
async def _documented_any(_key: Annotated[object, Security(API_KEY_SCHEME)],
                          _bearer: Annotated[object, Security(BEARER_SCHEME)],
                          _session: Annotated[object, Security(SESSION_SCHEME)],
                          _server_key: Annotated[object, Security(SERVER_KEY_SCHEME)]) -> None:
    """A team's routes: an API key, a session or a server key."""


async def _documented_session(_session: Annotated[object, Security(SESSION_SCHEME)]) -> None:
    """A signed-in person's routes."""


async def _documented_server_key(_server_key: Annotated[object, Security(SERVER_KEY_SCHEME)]) -> None:
    """The product backend's routes."""


async def caller(auth: Authenticated) -> Actor:
    if auth.actor is None:
        raise errors.Unauthenticated("Sign in, or send an API key in X-API-Key or Authorization: Bearer.")
    return auth.actor


async def session_auth(auth: Authenticated, _doc: Annotated[None, Depends(_documented_session)]) -> PersonAuth:
    if auth.session is None or auth.actor is None or auth.actor.user is None or auth.session_token is None:
        if auth.actor is not None:
            raise errors.Forbidden("This route is for signed-in people, not API or server keys.")
        raise errors.Unauthenticated("Sign in first.")
    return PersonAuth(actor=auth.actor, user=auth.actor.user, session=auth.session, session_token=auth.session_token)


SessionAuth = Annotated[PersonAuth, Depends(session_auth)]


def called(request: Request) -> str:
    """What was called, as the route declares it (`GET /api/v1/tasks/{task_id}`): for audit events."""
    return f"{request.method} {route_template(request.scope)}"


async def server_key_caller(auth: Authenticated, _doc: Annotated[None, Depends(_documented_server_key)]) -> Actor:
    """A server key, for the routes that are the product backend's alone (DESIGN 12)."""
    if auth.actor is None:
        raise errors.Unauthenticated("Send a server key as Authorization: Bearer tgs_...")
    if auth.actor.server_key is None:
        raise errors.Forbidden("This route takes a server key; a team API key or a session cannot call it.")
    return auth.actor


ServerKeyCaller = Annotated[Actor, Depends(server_key_caller)]


async def team_context(request: Request, db: Db, rt: Rt, actor: Annotated[Actor, Depends(caller)],
                       auth: Authenticated, _doc: Annotated[None, Depends(_documented_any)]) -> TeamContext:
    """The current team: the API key's team; else X-Team-Id; else the session's active team. A
    server key acts in X-Team-Id for the person named by X-Acting-User, with their role."""
    requested = request.headers.get("x-team-id")
    if actor.server_key is not None:
        acting = await server_keys.acting_context(db, rt, actor, team_id=requested,
                                                  external_id=request.headers.get(ACTING_USER), use=called(request))
        request.state.acting = acting  # whose Idempotency-Keys a server key's are (http/idempotency.py)
        return acting
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
