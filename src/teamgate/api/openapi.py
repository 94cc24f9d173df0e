"""The OpenAPI document's error responses: every /api/v1 route answers errors as RFC 9457
problem+json (made in api/errors.py), and the document says so, so clients and fuzzers can rely on it."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from pydantic import Field

from teamgate.api.schemas import Output

PROBLEM_MEDIA_TYPE = "application/problem+json"


class ProblemFieldError(Output):
    field: str = Field(description="The input that was refused, dotted for nested fields (`taskIds.0`).")
    message: str


class Problem(Output):
    """Every error: `application/problem+json`, made in one place (api/errors.py)."""

    type: str = Field(description="`urn:teamgate:problem:<code>`.")
    title: str
    status: int
    detail: str
    code: str = Field(description="Stable, machine-readable: `validation_error`, `invitation_pending`, ... "
                                  "(DESIGN section 5).")
    errors: list[ProblemFieldError] | None = Field(default=None, description="With `validation_error`.")
    invitation_id: str | None = Field(default=None, description="With `invitation_pending`: the pending one.")
    retry_after: int | None = Field(default=None, description="With `rate_limited`: seconds to wait.")
    state: str | None = Field(default=None, description="With `join_link_expired`: `expired`, `used_up` or `deleted`.")
    allowed_domains: list[str] | None = Field(default=None, description="With `email_domain_not_allowed`: the "
                                                                         "domains the link admits.")
    request_id: str | None = Field(description="The X-Request-Id of the request, for support.")


def _problem_response(description: str, *, retry_after: bool = False) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": description,
        "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }
    if retry_after:
        response["headers"] = {"Retry-After": {"description": "Seconds to wait before trying again.",
                                               "schema": {"type": "integer"}}}
    return response


# The error responses every /api/v1 route shares (applied where the routers are included).
PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: _problem_response("`bad_request` (malformed JSON, no current team) or a closed invitation: "
                           "`invitation_expired`, `invitation_accepted`, `invitation_revoked`, `invitation_declined`; "
                           "`token_invalid` (a password-reset or verification link unknown, used or expired)."),
    401: _problem_response("`unauthenticated` (no credential, or an unknown or revoked API key or server key) or "
                           "`invalid_credentials`."),
    403: _problem_response("`forbidden` (including `X-Acting-User` sent without a server key), `role_not_allowed`, "
                           "`email_mismatch` or `csrf_failed`."),
    404: _problem_response("`not_found` or `invitation_not_found` (another team's resources are 404 too, and so is "
                           "a server key's `X-Acting-User` who is not a member of `X-Team-Id`)."),
    409: _problem_response("`already_member`, `invitation_pending`, `invitation_not_pending`, `account_exists`, "
                           "`seat_limit_reached`, `email_already_verified`, `idempotency_key_in_use` (a request with "
                           "the same Idempotency-Key is still being answered), ..."),
    413: _problem_response("`payload_too_large`: the body is larger than TEAMGATE_MAX_REQUEST_BODY_BYTES."),
    422: _problem_response("`validation_error`, with field errors; `bulk_too_large` (more than 500 rows); "
                           "`idempotency_key_reused` (the Idempotency-Key was used for another request)."),
    429: _problem_response("`rate_limited`.", retry_after=True),
    503: _problem_response("`service_unavailable`: the database is not answering; nothing was changed.",
                           retry_after=True),
}


# Join links answer a link that worked once and will not again as 410 (Gone).
JOIN_LINK_GONE: dict[int | str, dict[str, Any]] = {
    410: _problem_response("`join_link_expired`: the join link was deleted, has expired or is used up (`state`)."),
}


def _problem_schemas() -> dict[str, Any]:
    schema = Problem.model_json_schema(mode="serialization", ref_template="#/components/schemas/{model}")
    return {**schema.pop("$defs", {}), "Problem": schema}


class DocumentedErrorsFastAPI(FastAPI):
    """FastAPI whose OpenAPI document also holds the `Problem` schema that PROBLEM_RESPONSES refer to
    (FastAPI would file a `model=` response under application/json only). (How each route
    authenticates is documented by the security dependencies in http/deps.py.)"""

    def openapi(self) -> dict[str, Any]:
        document = super().openapi()
        document.setdefault("components", {}).setdefault("schemas", {}).update(_problem_schemas())
        return document
