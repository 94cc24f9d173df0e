"""Authlib's authorization server for FastAPI: the thin adapter Authlib leaves to each framework
(its Flask and Django integrations do the same: turn the framework's request into an
`OAuth2Request`, and `(status, body, headers)` into a response), with teamgate's grants and
endpoints registered on it.

The adapter takes an `Incoming` (the request as read on the event loop, oidc/bridge.py) and
answers with an `Answer`; routes turn that into a Starlette response. One `Provider` serves
every request; what belongs to one request lives in the bridge's current call."""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from authlib.common.encoding import json_dumps
from authlib.oauth2 import AuthorizationServer, JsonRequest, OAuth2Request
from authlib.oauth2.rfc6749 import JsonPayload, OAuth2Payload
from authlib.oauth2.rfc9207 import IssuerParameter

from teamgate.domain import oidc as rules
from teamgate.oidc.bridge import Incoming, current, wait
from teamgate.oidc.endpoints import (
    AccessTokenValidator,
    BearerProtector,
    EndSession,
    Introspection,
    Revocation,
    UserInfo,
)
from teamgate.oidc.grants import AccessTokens, CodeGrant, IdTokens, Pkce, RefreshGrant
from teamgate.oidc.models import Client
from teamgate.services import oauth_grants, oidc_clients

log = logging.getLogger("teamgate.oidc")


class Payload(OAuth2Payload):
    """Query and form parameters together (as Flask's `request.values`)."""

    def __init__(self, incoming: Incoming) -> None:
        self._values: dict[str, str] = {}
        self._lists: defaultdict[str, list] = defaultdict(list)
        for name, value in [*incoming.args, *incoming.form]:
            self._values.setdefault(name, value)
            self._lists[name].append(value)

    @property
    def data(self) -> dict[str, str]:
        return self._values

    @property
    def datalist(self) -> defaultdict[str, list]:
        return self._lists


class Request(OAuth2Request):
    def __init__(self, incoming: Incoming) -> None:
        super().__init__(method=incoming.method, uri=incoming.uri, headers=incoming.headers)
        self.payload = Payload(incoming)
        self._args = dict(incoming.args)
        self._form = dict(incoming.form)

    @property
    def args(self) -> dict[str, str]:
        return self._args

    @property
    def form(self) -> dict[str, str]:
        return self._form


class Json(JsonPayload):
    def __init__(self, incoming: Incoming) -> None:
        self._data = dict(incoming.form)

    @property
    def data(self) -> dict[str, str]:
        return self._data


@dataclass
class Answer:
    """What Authlib answered: a status, a body (dict for JSON, or text) and headers."""

    status: int
    body: Any
    headers: list[tuple[str, str]] = field(default_factory=list)

    @property
    def location(self) -> str | None:
        return next((value for name, value in self.headers if name.lower() == "location"), None)

    @location.setter
    def location(self, value: str) -> None:  # RFC 9207 adds `iss` to the redirect this way
        self.headers = [(n, v) for n, v in self.headers if n.lower() != "location"] + [("Location", value)]


class Issuer(IssuerParameter):
    """RFC 9207: every authorization response names the issuer (a defence against mix-up)."""

    def __init__(self, issuer: str) -> None:
        self.issuer = issuer

    def get_issuer(self) -> str:
        return self.issuer


class Provider(AuthorizationServer):
    def __init__(self, issuer: str) -> None:
        super().__init__(scopes_supported=list(rules.SCOPES))
        self.issuer = issuer
        self.register_token_generator("default", AccessTokens(issuer))
        self.register_grant(CodeGrant, [Pkce(required=True), IdTokens(issuer)])
        self.register_grant(RefreshGrant, [IdTokens(issuer)])
        protector = BearerProtector()
        protector.register_token_validator(AccessTokenValidator(issuer))
        self.register_endpoint(UserInfo(resource_protector=protector))
        self.register_endpoint(Revocation(issuer))
        self.register_endpoint(Introspection(issuer))
        self.register_endpoint(EndSession())
        self.issuer_parameter = Issuer(issuer)
        self.register_extension(lambda server: self.issuer_parameter(server))

    def with_issuer(self, answer: Answer) -> Answer:
        """An error sent back to the client names the issuer too (RFC 9207 2); the
        authorization responses Authlib makes get it from the registered extension."""
        self.issuer_parameter.add_issuer_parameter(self, answer)
        return answer

    # --- the framework adapter ---------------------------------------------------------------

    def create_oauth2_request(self, request: Incoming | OAuth2Request) -> OAuth2Request:
        if isinstance(request, OAuth2Request):
            return request
        made = Request(request)
        current().memo["oauth_request"] = made
        return made

    def create_json_request(self, request: Incoming) -> JsonRequest:
        made = JsonRequest(request.method, request.uri, request.headers)
        made.payload = Json(request)
        return made

    def handle_response(self, status: int, body: Any, headers: list[tuple[str, str]]) -> Answer:
        return Answer(status, body if not isinstance(body, dict) else json_dumps(body), list(headers))

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        if name == "after_revoke_token":
            log.info("oidc.token.revoked", extra={"client": kwargs["client"].get_client_id()})

    # --- storage ----------------------------------------------------------------------------

    def query_client(self, client_id: str) -> Client | None:
        row = wait(lambda db, rt: oidc_clients.by_client_id(db, client_id))
        return Client(row) if row else None

    def save_token(self, token: dict[str, Any], request: OAuth2Request) -> None:
        if "refresh_token" in token:
            person = request.user.person
            wait(oauth_grants.keep_refresh_token, token["refresh_token"], grant_id=person.grant_id,
                 user_id=person.user.id)
