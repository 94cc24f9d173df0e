"""create_app(settings): the engine, the runtime, the API and pages, error handling, the dispatcher."""

from __future__ import annotations

import secrets
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.types import ASGIApp, Receive, Scope, Send

from teamgate import __version__
from teamgate.api import errors
from teamgate.api.routes import api_keys, audit, auth, health, invitation_links, invitations, tasks, teams
from teamgate.config import Settings
from teamgate.domain.roles import RoleCatalog
from teamgate.ratelimit import RateLimits
from teamgate.email.dispatcher import Dispatcher
from teamgate.email.messages import Templates
from teamgate.email.senders import Sender, make_sender
from teamgate.runtime import Clock, Passwords, Runtime, SystemClock, outbox_cipher
from teamgate.storage.db import make_engine, session_factory
from teamgate.web import routes as web


class RequestId:
    """Gives each request an id (kept from a sane X-Request-Id) and returns it in the response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        incoming = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        request_id = incoming if 0 < len(incoming) <= 64 and incoming.isascii() and incoming.isprintable() \
            else secrets.token_hex(12)
        scope.setdefault("state", {})["request_id"] = request_id

        async def send_with_id(message):
            if message["type"] == "http.response.start":
                message.setdefault("headers", []).append((b"x-request-id", request_id.encode()))
            await send(message)

        await self.app(scope, receive, send_with_id)


def build_runtime(settings: Settings, *, clock: Clock | None = None, database_url: str | None = None) -> Runtime:
    """Everything services need; `database_url` overrides the service's (operator commands use the owner's)."""
    engine = make_engine(database_url or settings.database)
    return Runtime(settings=settings, engine=engine, sessions=session_factory(engine),
                   catalog=RoleCatalog.load(settings.roles_file), passwords=Passwords(settings),
                   cipher=outbox_cipher(settings.secret), limits=RateLimits(settings.rate_limit_storage),
                   templates=Templates(settings.templates_dir),
                   clock=clock or SystemClock())


def create_app(settings: Settings | None = None, *, clock: Clock | None = None, sender: Sender | None = None,
               run_dispatcher: bool = True) -> FastAPI:
    settings = settings or Settings()
    rt = build_runtime(settings, clock=clock)
    rt.dispatcher = Dispatcher(rt, sender or make_sender(settings))

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        if run_dispatcher:
            rt.dispatcher.start()
        try:
            yield
        finally:
            await rt.dispatcher.stop()
            await rt.engine.dispose()

    app = FastAPI(title="teamgate", version=__version__, lifespan=lifespan,
                  description="Team invitations: single-use links, roles, tasks, audit, reliable email.")
    app.state.rt = rt
    errors.install(app)
    for router in (auth.router, teams.router, tasks.router, api_keys.router, audit.router,
                   invitation_links.router, invitations.router):
        app.include_router(router, prefix="/api/v1")
    app.include_router(health.router)
    app.include_router(web.router)
    app.add_middleware(RequestId)
    return app
