"""Authlib's grants and extensions, given teamgate's storage: the authorization code grant with
PKCE (S256 only, required of public clients) and OpenID Connect ID tokens, the refresh-token
grant with rotation, and RFC 9068 JWT access tokens. Each storage hook awaits a service on the
event loop (oidc/bridge.py)."""

from __future__ import annotations

from typing import Any, ClassVar

from authlib.oauth2.rfc6749 import InvalidRequestError, scope_to_list
from authlib.oauth2.rfc6749.grants import AuthorizationCodeGrant, RefreshTokenGrant
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oauth2.rfc9068 import JWTBearerTokenGenerator
from authlib.oidc.core import OpenIDCode
from joserfc.jwk import KeySet

from teamgate.domain import oidc as rules
from teamgate.domain.tokens import new_token
from teamgate.oidc.bridge import current, wait
from teamgate.oidc.models import Client, Code, Refreshing, Subject
from teamgate.services import oauth_grants, oidc_keys

ANY_CLIENT = ["client_secret_basic", "client_secret_post", "none"]  # each client only by its own kind (models.py)
LIFETIME = int(rules.TOKEN_LIFETIME.total_seconds())


def signing_keys() -> KeySet:
    """The active signing key, as a key set (joserfc then names its `kid` in the header); looked
    up once per request."""
    memo = current().memo
    if "signing" not in memo:
        memo["signing"] = KeySet([wait(oidc_keys.signing_key)])
    return memo["signing"]


def subject_of(grant) -> Subject | None:
    person = wait(oauth_grants.person, grant)
    return Subject(person) if person else None


class CodeGrant(AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ANY_CLIENT

    def generate_authorization_code(self) -> str:
        return new_token()  # 256 bits, like every teamgate secret

    def save_authorization_code(self, code: str, request) -> None:
        subject: Subject = request.user
        data = request.payload.data
        wait(oauth_grants.start, code=code, client=request.client.row, user=subject.person.user,
             auth_time=subject.person.auth_time, redirect_uri=request.payload.redirect_uri, scope=request.scope,
             nonce=data.get("nonce"), code_challenge=data.get("code_challenge"),
             code_challenge_method=data.get("code_challenge_method"),
             team_id=subject.person.team.id if subject.person.team else None)

    def query_authorization_code(self, code: str, client: Client) -> Code | None:
        grant = wait(oauth_grants.redeem_code, code, client.row)  # spent here, once, whatever follows
        return Code(grant) if grant else None

    def delete_authorization_code(self, authorization_code: Code) -> None:
        pass  # spent when it was redeemed

    def authenticate_user(self, authorization_code: Code) -> Subject | None:
        return subject_of(authorization_code.grant)


class RefreshGrant(RefreshTokenGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ANY_CLIENT
    INCLUDE_NEW_REFRESH_TOKEN = True  # rotation: every use returns the next token of the chain

    def authenticate_refresh_token(self, refresh_token: str) -> Refreshing | None:
        grant = wait(oauth_grants.redeem_refresh_token, refresh_token, self.request.client.row)
        return Refreshing(grant) if grant else None

    def authenticate_user(self, refresh_token: Refreshing) -> Subject | None:
        return subject_of(refresh_token.grant)

    def revoke_old_credential(self, refresh_token: Refreshing) -> None:
        pass  # spent when it was redeemed


class Pkce(CodeChallenge):
    """RFC 7636 with S256 only; a public client must send a challenge (RFC 9700 2.1.1)."""

    SUPPORTED_CODE_CHALLENGE_METHOD: ClassVar = ["S256"]

    def validate_code_challenge(self, grant, redirect_uri: str) -> None:
        data = grant.request.payload.data
        if grant.request.client.row.public and not data.get("code_challenge"):
            raise InvalidRequestError("A public client must use PKCE: send code_challenge with "
                                      "code_challenge_method=S256.")
        if data.get("code_challenge") and data.get("code_challenge_method") != "S256":
            raise InvalidRequestError("code_challenge_method must be S256.")
        super().validate_code_challenge(grant, redirect_uri)


class IdTokens(OpenIDCode):
    """ID tokens for the code grant, and (registered on the refresh grant too) for each refresh,
    with the person's claims as of that moment."""

    DEFAULT_EXPIRES_IN = LIFETIME

    def __init__(self, issuer: str) -> None:
        super().__init__(require_nonce=False)
        self.issuer = issuer

    def exists_nonce(self, nonce: str, request) -> bool:
        return False  # a nonce is the client's to check against its session (OpenID Connect Core 3.1.3.7)

    def resolve_client_private_key(self, client: Client) -> KeySet:
        return signing_keys()

    def get_client_claims(self, client: Client) -> dict[str, Any]:
        return {"iss": self.issuer, "aud": client.get_client_id(), "azp": client.get_client_id()}

    def get_encode_header(self, client: Client) -> dict[str, str]:
        return {"alg": rules.ALGORITHM, "typ": "JWT"}

    def generate_user_info(self, user: Subject, scope: str) -> dict[str, Any]:
        return {**user.claims(scope), "auth_time": user.auth_time}


class AccessTokens(JWTBearerTokenGenerator):
    """RFC 9068 access tokens, 10 minutes, with the authorized team's claims and the grant as
    `sid` (so revoking the grant makes them inactive); a refresh token only with offline_access."""

    def __init__(self, issuer: str) -> None:
        super().__init__(issuer, alg=rules.ALGORITHM, refresh_token_generator=lambda **_: new_token(),
                         expires_generator=LIFETIME)

    def get_jwks(self) -> KeySet:
        return signing_keys()

    def get_auth_time(self, user: Subject) -> int:
        return user.auth_time

    def get_extra_claims(self, client: Client, grant_type: str, user: Subject, scope: str) -> dict[str, Any]:
        return {"sid": user.person.grant_id, **rules.team_claims(user.person.team)}

    def generate(self, grant_type, client, user=None, scope=None, expires_in=None, include_refresh_token=True):
        allowed = client.get_allowed_scope(scope)
        include = include_refresh_token and rules.OFFLINE_ACCESS in scope_to_list(allowed)
        return super().generate(grant_type, client, user, scope, expires_in, include)
