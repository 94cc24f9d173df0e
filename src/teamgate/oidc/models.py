"""teamgate's rows as Authlib expects to see them (its client, code and token mixins). Plain
wrappers: every value they answer with was loaded before they were made."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from authlib.oauth2.rfc6749 import ClientMixin, TokenMixin
from authlib.oidc.core import AuthorizationCodeMixin

from teamgate.domain import oidc as rules
from teamgate.services import oidc_clients
from teamgate.services.oauth_grants import Person
from teamgate.storage.models import OAuthGrant, OidcClient

SECRET_METHODS = ("client_secret_basic", "client_secret_post")


class Client(ClientMixin):
    def __init__(self, row: OidcClient) -> None:
        self.row = row
        self.client_id = row.client_id

    @property
    def client_metadata(self) -> dict[str, Any]:  # read by Authlib's RP-initiated logout
        return {"post_logout_redirect_uris": list(self.row.post_logout_redirect_uris),
                "token_endpoint_auth_method": "none" if self.row.public else "client_secret_basic"}

    def get_client_id(self) -> str:
        return self.row.client_id

    def get_default_redirect_uri(self) -> str | None:
        return None  # OpenID Connect requires redirect_uri in every authorization request

    def get_allowed_scope(self, scope: str | None) -> str:
        return " ".join(rules.granted_scopes(scope))

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.row.redirect_uris  # exactly as registered (RFC 9700 2.1)

    def check_client_secret(self, client_secret: str) -> bool:
        return oidc_clients.secret_matches(self.row, client_secret)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        # a public client has no secret; a confidential one must always use its secret
        return method == "none" if self.row.public else method in SECRET_METHODS

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in {"authorization_code", "refresh_token"}


def _timestamp(moment: datetime) -> int:
    return int(moment.timestamp())


class Code(AuthorizationCodeMixin):
    """A grant as its (just spent) authorization code."""

    def __init__(self, grant: OAuthGrant) -> None:
        self.grant = grant
        self.code_challenge = grant.code_challenge
        self.code_challenge_method = grant.code_challenge_method

    def get_redirect_uri(self) -> str:
        return self.grant.redirect_uri

    def get_scope(self) -> str:
        return self.grant.scope

    def get_nonce(self) -> str | None:
        return self.grant.nonce

    def get_auth_time(self) -> int:
        return _timestamp(self.grant.auth_time)


class Refreshing(TokenMixin):
    """A grant as the refresh token just spent on it."""

    def __init__(self, grant: OAuthGrant) -> None:
        self.grant = grant

    def check_client(self, client: Client) -> bool:
        return self.grant.client_id == client.row.id

    def get_scope(self) -> str:
        return self.grant.scope


@dataclass
class Subject:
    """The person a token is about, as Authlib's `user`."""

    person: Person

    def get_user_id(self) -> str:
        return self.person.user.id

    @property
    def auth_time(self) -> int:
        return _timestamp(self.person.auth_time)

    def claims(self, scope: str) -> dict[str, Any]:
        """The ID token's and userinfo's claims about the person for `scope`, and the grant as `sid`."""
        claims = self.person.claims(rules.granted_scopes(scope))
        if self.person.grant_id:
            claims["sid"] = self.person.grant_id
        return claims
