"""The one place that turns errors into responses: RFC 9457 problem+json for the API, an error
page for the pages (drawn by the renderer that `install` is given: the pages' templates live in
web/, which sits beside api/ above this package). No stack trace leaves."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any, cast

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy import exc as sa_exc
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ExceptionHandler

from teamgate import errors
from teamgate.storage.db import is_refused_value, is_unavailable

log = logging.getLogger("teamgate.api")
ErrorPage = Callable[[Request, errors.TeamgateError], Response]

STATUS = {
    "bad_request": 400, "invitation_expired": 400, "invitation_accepted": 400, "invitation_revoked": 400,
    "invitation_declined": 400, "token_invalid": 400,
    "unauthenticated": 401, "invalid_credentials": 401,
    "forbidden": 403, "role_not_allowed": 403, "email_mismatch": 403, "csrf_failed": 403,
    "email_domain_not_allowed": 403,
    "not_found": 404, "invitation_not_found": 404, "join_link_not_found": 404, "method_not_allowed": 405,
    "already_member": 409, "invitation_pending": 409, "invitation_not_pending": 409, "account_exists": 409,
    "seat_limit_reached": 409, "pending_limit_reached": 409, "email_already_verified": 409,
    "delivery_not_failed": 409, "idempotency_key_in_use": 409, "join_request_not_pending": 409,
    "join_request_pending": 409, "join_link_expired": 410,
    "payload_too_large": 413, "validation_error": 422, "bulk_too_large": 422, "idempotency_key_reused": 422,
    "rate_limited": 429, "service_unavailable": 503,
    "internal_error": 500,
}


def status_for(code: str) -> int:
    """The HTTP status of a domain error's code (400 for codes without one of their own)."""
    return STATUS.get(code, 400)


HTTP_CODES = {400: "bad_request", 401: "unauthenticated", 403: "forbidden", 404: "not_found",
              405: "method_not_allowed", 413: "payload_too_large", 422: "validation_error", 429: "rate_limited"}


def problem_body(request: Request, *, status: int, code: str, title: str, detail: str,
                 errors_: list[dict[str, str]] | None = None, **extra) -> dict:
    body = {"type": f"urn:teamgate:problem:{code}", "title": title, "status": status, "detail": detail, "code": code,
            **extra, "requestId": getattr(request.state, "request_id", None)}
    if errors_:
        body["errors"] = errors_
    return body


def problem(request: Request, *, status: int, code: str, title: str, detail: str,
            errors_: list[dict[str, str]] | None = None, headers: dict[str, str] | None = None,
            **extra) -> JSONResponse:
    return JSONResponse(problem_body(request, status=status, code=code, title=title, detail=detail, errors_=errors_,
                                     **extra), status_code=status, media_type="application/problem+json",
                        headers=headers)


def domain_problem(request: Request, exc: errors.TeamgateError) -> dict:
    """The problem object of a domain error, as the API answers it (a bulk create puts one in
    each refused row: the very object a single create would have answered)."""
    extra = {k: v for k, v in exc.extra.items() if v is not None}
    return problem_body(request, status=status_for(exc.code), code=exc.code, title=exc.title, detail=exc.detail,
                        errors_=exc.errors, **extra)


def _field(loc: tuple) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


def _message(error: dict) -> str:
    # Only pydantic's message: the rejected input may be a password and is never echoed back.
    return error.get("msg", "is invalid").removeprefix("Value error, ")


async def on_domain_error(request: Request, exc: errors.TeamgateError):
    if not request.url.path.startswith("/api/"):  # a page: answer with a page
        error_page: ErrorPage = request.app.state.error_page
        return error_page(request, exc)
    body = domain_problem(request, exc)
    headers = {"Retry-After": str(body["retryAfter"])} if "retryAfter" in body else None
    return JSONResponse(body, status_code=body["status"], media_type="application/problem+json", headers=headers)


def invalid_input(problems: Sequence[Any]) -> errors.ValidationFailed:
    """Pydantic's findings about some input as the domain's ValidationFailed (field and message
    each; never the rejected value, which may be a password)."""
    return errors.ValidationFailed.of_fields([{"field": _field(tuple(e.get("loc", ()))), "message": _message(e)}
                                              for e in problems])


async def on_validation_error(request: Request, exc: RequestValidationError):
    errs = exc.errors()
    if not request.url.path.startswith("/api/"):  # a form: answer with a page
        fields = ", ".join(sorted({_field(tuple(e.get("loc", ()))) for e in errs}))
        return await on_domain_error(request, errors.ValidationFailed(fields, "is missing, too long or not valid"))
    if any(e.get("type") == "json_invalid" for e in errs):
        return problem(request, status=400, code="bad_request", title="Bad request",
                       detail="The request body is not valid JSON.")
    return await on_domain_error(request, invalid_input(errs))


async def on_http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    code = HTTP_CODES.get(exc.status_code, "bad_request" if exc.status_code < 500 else "internal_error")
    return problem(request, status=exc.status_code, code=code, title=code.replace("_", " ").capitalize(),
                   detail=str(exc.detail), headers=getattr(exc, "headers", None))


async def on_database_error(request: Request, exc: Exception):
    """The database is unreachable, went away mid-query or cut it off: 503, nothing committed, try again."""
    if is_refused_value(exc):  # e.g. text PostgreSQL cannot store; input checks should have caught it first
        return await on_domain_error(request, errors.ValidationFailed("body", "a value cannot be stored as given"))
    if not is_unavailable(exc):
        return await on_unexpected(request, exc)
    log.warning("database.unavailable", extra={"request_id": getattr(request.state, "request_id", None),
                                               "error": type(exc).__name__})
    return await on_domain_error(request, errors.ServiceUnavailable(
        "The database is not answering right now; nothing was changed. Try again shortly.", retryAfter=1))


async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("request.failed", extra={"request_id": getattr(request.state, "request_id", None)})
    return problem(request, status=500, code="internal_error", title="Internal error",
                   detail="Something went wrong on our side. The request id helps us find it.")


def install(app: FastAPI, *, error_page: ErrorPage) -> None:
    """Every error handler, and `error_page` to draw a refused page request."""
    app.state.error_page = error_page
    # each handler takes the exception class it is registered for, which Starlette's type cannot say
    app.add_exception_handler(errors.TeamgateError, cast(ExceptionHandler, on_domain_error))
    app.add_exception_handler(RequestValidationError, cast(ExceptionHandler, on_validation_error))
    app.add_exception_handler(StarletteHTTPException, cast(ExceptionHandler, on_http_error))
    for database_error in (sa_exc.DBAPIError, sa_exc.TimeoutError, OSError):
        app.add_exception_handler(database_error, on_database_error)
    app.add_exception_handler(Exception, on_unexpected)
