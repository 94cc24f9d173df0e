"""create_app(settings): the engine, the runtime, the API and pages, error handling, the dispatcher."""

from __future__ import annotations

import gc
from contextlib import asynccontextmanager

from fastapi import FastAPI
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from teamgate import __version__
from teamgate.api import docs
from teamgate.api.openapi import PROBLEM_RESPONSES, DocumentedErrorsFastAPI
from teamgate.api.routes import (
    api_keys,
    audit,
    auth,
    health,
    invitation_links,
    invitations,
    join_links,
    join_requests,
    metrics,
    oidc_clients,
    people,
    recovery,
    self_service,
    tasks,
    teams,
    webhooks,
)
from teamgate.config import Settings
from teamgate.email.senders import Sender, make_sender
from teamgate.http import errors, idempotency
from teamgate.http.middleware import BodyLimit, Observe, PrivateApiResponses, RequestId
from teamgate.logs import configure as configure_logs
from teamgate.oidc import pages as oidc_pages
from teamgate.oidc import routes as oidc_routes
from teamgate.oidc.server import Provider
from teamgate.runtime import Clock, build_runtime
from teamgate.services.dispatcher import Dispatcher
from teamgate.web import routes as web
from teamgate.web.common import problem_page


def create_app(settings: Settings | None = None, *, clock: Clock | None = None, sender: Sender | None = None,
               run_dispatcher: bool = True) -> FastAPI:
    settings = settings or Settings()
    rt = build_runtime(settings, clock=clock)
    # woken by the outbox after each commit that queued email (Runtime.outbox_added), not by the requests
    dispatcher = Dispatcher(rt, sender or make_sender(settings))

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        if run_dispatcher:
            app.state.dispatcher.start()
        try:
            yield
        finally:
            await app.state.dispatcher.stop()
            await rt.engine.dispose()

    # FastAPI's own /docs and /redoc load unpinned scripts from a CDN: ours come from the package
    app = DocumentedErrorsFastAPI(title="teamgate", version=__version__, lifespan=lifespan,
                                  description="Team invitations: single-use links, roles, tasks, audit, "
                                              "reliable email. Every POST that creates or sends takes an "
                                              "`Idempotency-Key` header (IETF draft): repeated within 24 hours "
                                              "with the same request, it answers the first answer again "
                                              "(`Idempotent-Replayed: true`) and acts once.",
                                  docs_url=None, redoc_url=None)
    app.state.rt = rt
    app.state.dispatcher = dispatcher
    app.state.runs_dispatcher = run_dispatcher
    app.state.oidc = Provider(settings.base_url)  # the OpenID Connect provider: TEAMGATE_BASE_URL is its issuer
    errors.install(app, error_page=problem_page)
    idempotency.install(app)
    for router in (auth.router, recovery.router, self_service.router, teams.router, tasks.router, api_keys.router,
                   audit.router, invitation_links.router, invitations.router, join_links.public, join_links.router,
                   join_requests.router, webhooks.router, oidc_clients.router, people.router):
        app.include_router(router, prefix="/api/v1", responses=PROBLEM_RESPONSES)
    app.include_router(health.router)
    app.include_router(metrics.router)
    app.include_router(web.router)
    app.include_router(oidc_routes.router)
    app.include_router(oidc_pages.router)
    if settings.api_docs:
        app.include_router(docs.router)
    app.add_middleware(BodyLimit, max_bytes=settings.max_request_body_bytes)  # inside the others: ids, headers
    app.add_middleware(PrivateApiResponses)
    app.add_middleware(Observe)
    app.add_middleware(RequestId)
    if settings.trusted_proxies:  # else X-Forwarded-For is ignored: anyone can write it
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.trusted_proxies)
    return app


def app_from_environment() -> FastAPI:
    """The app as `teamgate serve` runs it in each process (`uvicorn --factory` works too):
    settings from the environment, logs configured."""
    settings = Settings()
    configure_logs(settings.log_format, settings.log_level)
    app = create_app(settings, run_dispatcher=settings.dispatcher)
    # The garbage collector was the latency tail: under load, full collections walked the whole
    # heap and paused every request in the process for 100 ms or more, twenty times a minute.
    # What exists now (modules, the app, its routes and models) lives as long as the process, so
    # it is frozen out of the collector's sight; and a larger first generation lets a request's
    # short-lived objects die by reference count before a collection promotes them.
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 10, 10)
    return app

