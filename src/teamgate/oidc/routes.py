"""The provider's machine-to-machine endpoints (DESIGN 13): discovery, JWKS, token, userinfo,
revocation and introspection. Each hands the request to Authlib (oidc/server.py) in the worker
thread and returns what it answered; the request's transaction commits whatever it answered
(a refused reuse revokes a grant, and that must stay revoked)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from teamgate.domain import oidc as rules
from teamgate.http.deps import Db, runtime
from teamgate.oidc.bridge import Call, Incoming, run
from teamgate.oidc.server import Answer, Provider
from teamgate.services import oidc_keys

router = APIRouter(include_in_schema=False)
MAX_PARAMETER = 4096  # characters of any one parameter; an authorization request carries a few hundred
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache", "Referrer-Policy": "no-referrer"}


def provider(request: Request) -> Provider:
    return request.app.state.oidc


async def read(request: Request) -> Incoming:
    """The request as Authlib reads it. Its URI is the issuer's (TEAMGATE_BASE_URL), never the Host header's."""
    rt = runtime(request)
    query = f"?{request.url.query}" if request.url.query else ""
    form: list[tuple[str, str]] = []
    if request.method == "POST" and request.headers.get("content-type", "").startswith(
            "application/x-www-form-urlencoded"):
        form = [(k, v) for k, v in (await request.form()).multi_items() if isinstance(v, str)]
    return Incoming(method=request.method, uri=f"{rt.settings.base_url}{request.url.path}{query}",
                    headers=request.headers, args=list(request.query_params.multi_items()), form=form)


def oversized(incoming: Incoming) -> bool:
    return any(len(value) > MAX_PARAMETER for _, value in [*incoming.args, *incoming.form])


def respond(answer: Answer | None) -> Response:
    if answer is None:
        return Response(status_code=204, headers=NO_STORE)
    headers = {**NO_STORE, **dict(answer.headers)}
    if isinstance(answer.body, str) and answer.body.startswith("{"):
        headers["Content-Type"] = "application/json"
    return Response(answer.body or b"", status_code=answer.status, headers=headers)


def invalid_request(description: str) -> Response:
    return JSONResponse({"error": "invalid_request", "error_description": description}, status_code=400,
                        headers=NO_STORE)


async def through_authlib(request: Request, db: Db, work: Callable[[Provider, Incoming], Answer | None]) -> Response:
    incoming = await read(request)
    if oversized(incoming):
        return invalid_request(f"A parameter is longer than {MAX_PARAMETER} characters.")
    server = provider(request)
    return respond(await run(Call(db, runtime(request), incoming), work, server, incoming))


def metadata(issuer: str) -> dict[str, Any]:
    """OpenID Provider Metadata (OpenID Connect Discovery 1.0, RFC 8414)."""
    claims = ["sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "sid",
              *[c for scope in rules.SCOPE_CLAIMS.values() for c in scope], *rules.TEAM_CLAIMS]
    return {
        "issuer": issuer,
        "authorization_endpoint": f"{issuer}{rules.AUTHORIZE_PATH}",
        "token_endpoint": f"{issuer}/oauth/token",
        "userinfo_endpoint": f"{issuer}/oauth/userinfo",
        "jwks_uri": f"{issuer}/oauth/jwks",
        "revocation_endpoint": f"{issuer}/oauth/revoke",
        "introspection_endpoint": f"{issuer}/oauth/introspect",
        "end_session_endpoint": f"{issuer}/oauth/logout",
        "scopes_supported": list(rules.SCOPES),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": [rules.ALGORITHM],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "code_challenge_methods_supported": ["S256"],
        "claims_supported": list(dict.fromkeys(claims)),
        "prompt_values_supported": ["none", "login", "consent"],
        "authorization_response_iss_parameter_supported": True,
        "claims_parameter_supported": False,
        "request_parameter_supported": False,
        "request_uri_parameter_supported": False,
    }


@router.get("/.well-known/openid-configuration")
@router.get("/.well-known/oauth-authorization-server")
async def discovery(request: Request):
    return JSONResponse(metadata(runtime(request).settings.base_url),
                        headers={"Cache-Control": "public, max-age=3600"})


@router.get("/oauth/jwks")
async def jwks(request: Request, db: Db):
    keys = await oidc_keys.published(db, runtime(request))
    # kept briefly: a client that meets a new `kid` fetches the set again
    return JSONResponse(keys.as_dict(private=False), headers={"Cache-Control": "public, max-age=300"})


@router.post("/oauth/token")
async def token(request: Request, db: Db):
    return await through_authlib(request, db, lambda server, incoming: server.create_token_response(incoming))


@router.api_route("/oauth/userinfo", methods=["GET", "POST"])
async def userinfo(request: Request, db: Db):
    return await through_authlib(request, db, lambda server, incoming: server.create_endpoint_response(
        "userinfo", incoming))


@router.post("/oauth/revoke")
async def revoke(request: Request, db: Db):
    return await through_authlib(request, db, lambda server, incoming: server.create_endpoint_response(
        "revocation", incoming))


@router.post("/oauth/introspect")
async def introspect(request: Request, db: Db):
    return await through_authlib(request, db, lambda server, incoming: server.create_endpoint_response(
        "introspection", incoming))
