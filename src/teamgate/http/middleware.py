"""ASGI middleware: a request id on every request; a log line and metrics for each answer; API
answers kept out of caches and referrers; request bodies bounded."""

from __future__ import annotations

import json
import logging
import secrets
import time
from typing import ClassVar

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from teamgate import errors, metrics
from teamgate.logs import REQUEST_ID

log = logging.getLogger("teamgate.http")
QUIET_PATHS = {"/healthz", "/readyz", "/metrics"}  # probed every few seconds: counted, not logged

class RequestId:
    """Gives each request an id (kept from a sane X-Request-Id) and returns it in the response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        request_id = incoming if 0 < len(incoming) <= 64 and incoming.isascii() and incoming.isprintable() \
            else secrets.token_hex(12)
        scope.setdefault("state", {})["request_id"] = request_id
        REQUEST_ID.set(request_id)  # every log line of this request carries it

        async def send_with_id(message):
            if message["type"] == "http.response.start":
                message.setdefault("headers", []).append((b"x-request-id", request_id.encode()))
            await send(message)

        await self.app(scope, receive, send_with_id)


class PrivateApiResponses:
    """Every API answer may carry a token, a key or someone's data: no cache keeps it (browser,
    proxy or CDN) and no page it leads to learns the URL it came from."""

    HEADERS: ClassVar = [(b"cache-control", b"no-store"), (b"referrer-policy", b"no-referrer")]

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/api/"):
            await self.app(scope, receive, send)
            return

        async def send_private(message):
            if message["type"] == "http.response.start":
                headers = message.setdefault("headers", [])
                present = {name.lower() for name, _ in headers}
                headers.extend(h for h in self.HEADERS if h[0] not in present)
            await send(message)

        await self.app(scope, receive, send_private)


class BodyLimit:
    """Refuses a request body larger than `max_bytes` with 413 `payload_too_large` (problem+json),
    before the app holds it in memory: at once when Content-Length says so, else as soon as a
    streamed (chunked) body grows past the bound.

    A streamed body is cut off in the middle of the app's reading, by an HTTPException(413) from
    `receive` (the error handlers turn it into the problem); and should the app make anything else
    of it (a framework that answers 400 to any error while reading a body, say), the answer it
    starts is replaced by the 413, so a too-large body never gets a 400 or a 500."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return None
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.max_bytes:
            return await self._refuse(scope, send)
        seen = 0
        exceeded = replaced = started = False

        async def bounded_receive() -> Message:
            nonlocal seen, exceeded
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    exceeded = True
                    raise HTTPException(413, self._detail())
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal replaced, started
            if message["type"] == "http.response.start":
                started = True
                if exceeded and message["status"] != 413:
                    replaced = True
                    await self._refuse(scope, send)
                    return
            if not replaced:
                await send(message)

        try:
            await self.app(scope, bounded_receive, guarded_send)
        except HTTPException:
            if not exceeded or started:
                raise
            await self._refuse(scope, send)  # nothing answered it on the way out: answer here

    def _detail(self) -> str:
        return f"The request body is larger than {self.max_bytes} bytes."

    async def _refuse(self, scope: Scope, send: Send) -> None:
        refused = errors.PayloadTooLarge(self._detail())
        body = json.dumps({"type": f"urn:teamgate:problem:{refused.code}", "title": refused.title, "status": 413,
                           "detail": refused.detail, "code": refused.code,
                           "requestId": scope.get("state", {}).get("request_id")}).encode()
        headers = [(b"content-type", b"application/problem+json"), (b"content-length", str(len(body)).encode()),
                   (b"connection", b"close")]  # the rest of the body is never read
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def route_template(scope: Scope) -> str:
    """The matched route with its parameters as names (`/api/v1/tasks/{task_id}`): a label that
    stays few in number and never holds a token; "unmatched" when no route matched."""
    if "route" not in scope:
        return "unmatched"
    path = scope["path"]
    for name, value in scope.get("path_params", {}).items():
        head, found, tail = path.rpartition(str(value)) if str(value) else ("", "", "")
        if found:
            path = f"{head}{{{name}}}{tail}"
    return path


class Observe:
    """Counts and times every answer by route template (never the raw path: it may hold a token)
    and logs it as `http.request` (the log formatter redacts token-bearing paths)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # if the app fails before it answers

        async def send_observed(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_observed)
        finally:
            elapsed = time.perf_counter() - started
            route = route_template(scope)
            method = scope["method"]
            metrics.REQUESTS.labels(method, route, str(status)).inc()
            metrics.LATENCY.labels(method, route).observe(elapsed)
            if scope["path"] not in QUIET_PATHS:
                client = scope.get("client")
                log.info("http.request", extra={"method": method, "path": scope["path"], "route": route,
                                                "status": status, "duration_ms": round(elapsed * 1000, 2),
                                                "client": client[0] if client else None})
