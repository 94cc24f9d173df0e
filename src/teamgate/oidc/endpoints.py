"""Authlib's endpoints beside the token endpoint, given teamgate's storage: userinfo (behind an
RFC 9068 access-token validator), revocation (RFC 7009), introspection (RFC 7662) and
RP-initiated logout.

An access token is a JWT that names its grant (`sid`); revoking it revokes the grant, and so the
refresh tokens of its chain too (RFC 7009 2.1 allows it), and a token of a revoked grant reads
as inactive. Looking a token up for revocation or introspection never spends it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from authlib.oauth2.rfc6749 import ResourceProtector
from authlib.oauth2.rfc6750 import InvalidTokenError
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7662 import IntrospectionEndpoint
from authlib.oauth2.rfc9068 import JWTBearerTokenValidator
from authlib.oidc.core import UserInfoEndpoint
from authlib.oidc.rpinitiated import EndSessionEndpoint, EndSessionRequest
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from teamgate.domain import oidc as rules
from teamgate.oidc.bridge import current, wait
from teamgate.oidc.grants import subject_of
from teamgate.oidc.models import Client, Subject
from teamgate.services import oauth_grants, oidc_clients, oidc_keys
from teamgate.storage.models import OAuthGrant

SECRET_ONLY = ["client_secret_basic", "client_secret_post"]


def published_keys() -> KeySet:
    memo = current().memo
    if "published" not in memo:
        memo["published"] = wait(oidc_keys.published)
    return memo["published"]


def _live_grant(grant_id: Any, user_id: Any) -> OAuthGrant | None:
    if not isinstance(grant_id, str) or not isinstance(user_id, str):
        return None
    return wait(lambda db, rt: oauth_grants.live_grant(db, grant_id, user_id))


class AccessTokenValidator(JWTBearerTokenValidator):
    """Signature, issuer, `typ` (at+jwt), expiry and scope by Authlib; then the grant must still be live."""

    def __init__(self, issuer: str) -> None:
        super().__init__(issuer=issuer, resource_server=None)

    def get_jwks(self) -> KeySet:
        return published_keys()

    def validate_token(self, token, scopes, request, groups=None, roles=None, entitlements=None) -> None:
        super().validate_token(token, scopes, request, groups, roles, entitlements)
        if _live_grant(token.get("sid"), token.get("sub")) is None:
            raise InvalidTokenError(description="The token was revoked.")


@dataclass
class Presented:
    """A token a client presented to revoke or introspect: a JWT access token, or a refresh token."""

    kind: str
    client_id: str  # the OAuth client_id it was issued to
    grant: OAuthGrant | None
    active: bool
    claims: dict[str, Any]

    def check_client(self, client: Client) -> bool:
        return self.client_id == client.get_client_id()

    def is_expired(self) -> bool:
        return not self.active

    def is_revoked(self) -> bool:
        return not self.active


def find_presented(issuer: str, token: str, hint: str | None) -> Presented | None:
    """What a presented token is, without spending it. An access token's signature is checked
    (Authlib's RFC 9068 validator); a refresh token is found by its hash."""
    if rules.looks_like_jwt(token):
        if hint == "refresh_token":
            return None
        validator = AccessTokenValidator(issuer)
        try:
            claims = validator.authenticate_token(token)
            claims.validate()
            valid = True
        except (InvalidTokenError, JoseError):  # Authlib's and joserfc's refusals: expired, forged, not ours
            return _expired_access_token(validator, token)
        grant = _live_grant(claims.get("sid"), claims.get("sub"))
        return Presented("access_token", str(claims.get("client_id")), grant, valid and grant is not None,
                         dict(claims))
    found = wait(lambda db, rt: oauth_grants.find_refresh_token(db, token))
    if found is None:
        return None
    row, grant = found
    client = wait(lambda db, rt: oidc_clients.by_pk(db, grant.client_id))
    active = oauth_grants.refresh_token_active(current().rt, row, grant)
    claims = {"sub": grant.user_id, "scope": grant.scope, "exp": int(row.expires_at.timestamp()),
              "iat": int(row.created_at.timestamp()), "sid": grant.id}
    return Presented("refresh_token", client.client_id if client else "", grant, active, claims)


def _expired_access_token(validator: AccessTokenValidator, token: str) -> Presented | None:
    """A well-signed access token past its expiry is still ours (its grant may be revoked); anything
    that fails the signature is not."""
    try:
        decoded = jwt.decode(token, validator.get_jwks(), algorithms=[rules.ALGORITHM])
    except (JoseError, ValueError):  # not signed by us, or not a JWT at all
        return None
    claims = dict(decoded.claims)
    grant = _live_grant(claims.get("sid"), claims.get("sub"))
    return Presented("access_token", str(claims.get("client_id")), grant, False, claims)


class Revocation(RevocationEndpoint):
    """RFC 7009: a client revokes its own token; the grant behind it ends (the whole chain)."""

    CLIENT_AUTH_METHODS: ClassVar = ["client_secret_basic", "client_secret_post", "none"]

    def __init__(self, issuer: str) -> None:
        super().__init__()
        self.issuer = issuer

    def query_token(self, token_string: str, token_type_hint: str | None) -> Presented | None:
        return find_presented(self.issuer, token_string, token_type_hint)

    def revoke_token(self, token: Presented, request) -> None:
        if token.grant is not None:
            grant = token.grant
            wait(lambda db, rt: oauth_grants.revoke(db, rt, grant, reason=f"{token.kind}_revoked"))


class Introspection(IntrospectionEndpoint):
    """RFC 7662, for confidential clients: a client sees its own tokens; a first-party
    confidential client (the product's own API) may introspect any client's."""

    CLIENT_AUTH_METHODS = SECRET_ONLY

    def __init__(self, issuer: str) -> None:
        super().__init__()
        self.issuer = issuer

    def query_token(self, token_string: str, token_type_hint: str | None) -> Presented | None:
        return find_presented(self.issuer, token_string, token_type_hint)

    def check_permission(self, token: Presented, client: Client, request) -> bool:
        return token.check_client(client) or client.row.first_party

    def introspect_token(self, token: Presented) -> dict[str, Any]:
        keep = ("sub", "scope", "exp", "iat", "aud", "jti", "sid", "auth_time", *rules.TEAM_CLAIMS)
        payload = {name: token.claims[name] for name in keep if name in token.claims}
        payload.update(active=True, client_id=token.client_id, iss=self.issuer)
        if token.kind == "access_token":
            payload["token_type"] = "Bearer"
        return payload


class BearerProtector(ResourceProtector):
    """Authlib's resource protector, reading the request of the current call."""

    def acquire_token(self, scopes: str | list[str] | None = None):
        request = current().memo["oauth_request"]
        claims = self.validate_request(scopes=[scopes] if isinstance(scopes, str) else scopes, request=request)
        return AccessToken(claims)


class AccessToken:
    """A validated access token as Authlib's userinfo endpoint asks it: its client, its person, its scope."""

    def __init__(self, claims) -> None:
        self.claims = claims
        self.scope = claims.get("scope", "")

    def get_client(self) -> Client | None:
        client_id = str(self.claims.get("client_id"))
        row = wait(lambda db, rt: oidc_clients.by_client_id(db, client_id))
        return Client(row) if row else None

    def get_user(self) -> Subject | None:
        grant = _live_grant(self.claims.get("sid"), self.claims.get("sub"))
        return subject_of(grant) if grant else None


class UserInfo(UserInfoEndpoint):
    def generate_user_info(self, user: Subject, scope: str) -> dict[str, Any]:
        return user.claims(scope)


class EndSession(EndSessionEndpoint):
    """RP-initiated logout: the id_token_hint must be ours (its signature; an expired one is
    accepted, as the specification asks); redirection only to a registered post-logout URI."""

    def get_server_jwks(self) -> KeySet:
        return published_keys()

    def get_algorithms(self) -> list[str]:
        return [rules.ALGORITHM]

    def is_post_logout_redirect_uri_legitimate(self, request, post_logout_redirect_uri, client, logout_hint) -> bool:
        # without an id_token_hint, only once the person confirmed the logout on teamgate's own page
        return bool(current().memo.get("confirmed"))

    def end_session(self, end_session_request: EndSessionRequest) -> None:
        current().memo["ended"] = end_session_request  # the route ends the teamgate session after Authlib
