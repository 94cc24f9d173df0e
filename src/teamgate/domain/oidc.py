"""The rules of teamgate's OpenID Connect provider (DESIGN 13) that need no database or framework:
which scopes exist and what each reveals, what a redirect URI may be, how long things live.

The protocol itself (authorization codes, PKCE, refresh rotation, token and ID-token formats) is
Authlib's and joserfc's; these are only teamgate's choices around it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

OPENID, PROFILE, EMAIL, TEAMS, OFFLINE_ACCESS = "openid", "profile", "email", "teams", "offline_access"
SCOPES = (OPENID, PROFILE, EMAIL, TEAMS, OFFLINE_ACCESS)
# what each scope adds to the ID token and userinfo (`sub` is always there)
SCOPE_CLAIMS = {PROFILE: ("name", "given_name", "family_name"), EMAIL: ("email", "email_verified"), TEAMS: ("teams",)}
TEAM_CLAIMS = ("team_id", "team_role", "team_permissions")
SCOPE_DESCRIPTIONS = {  # what the consent page says each scope shares
    OPENID: "Your teamgate account id",
    PROFILE: "Your name",
    EMAIL: "Your email address, and whether it is verified",
    TEAMS: "The teams you belong to, with your role and permissions in each",
    OFFLINE_ACCESS: "Staying signed in after you leave (a refresh token)",
}

ALGORITHM = "RS256"
TOKEN_LIFETIME = timedelta(minutes=10)  # access tokens (RFC 9068 JWTs) and ID tokens
CODE_LIFETIME = timedelta(minutes=5)  # RFC 6749 4.1.2: short; it is exchanged by the client's server at once
# a retired signing key stays in the JWKS while tokens it signed may still be presented, plus
# a margin for clocks that disagree by a little
KEY_OVERLAP = TOKEN_LIFETIME + timedelta(minutes=5)
KEY_BITS = 2048
MAX_REDIRECT_URIS = 20
AUTHORIZE_PATH = "/oauth/authorize"


@dataclass(frozen=True)
class TeamClaim:
    """One membership as the claims show it."""

    id: str
    name: str
    role: str
    permissions: tuple[str, ...]

    def as_claim(self) -> dict[str, object]:
        return {"id": self.id, "name": self.name, "role": self.role, "permissions": list(self.permissions)}


def granted_scopes(requested: str | None) -> list[str]:
    """The requested scopes this provider knows, each once, in the order asked; others are
    ignored (RFC 6749 3.3 lets the server grant less than asked)."""
    seen: list[str] = []
    for scope in (requested or "").split():
        if scope in SCOPES and scope not in seen:
            seen.append(scope)
    return seen


def person_claims(*, sub: str, first_name: str, last_name: str, email: str, email_verified: bool,
                  scopes: list[str] | tuple[str, ...], teams: list[TeamClaim], team: TeamClaim | None) -> dict:
    """The claims about a person that `scopes` allow, for the ID token and userinfo: the standard
    profile and email claims, `teams` (every membership), and the `team_*` claims of the team the
    authorization asked for (None: not asked, or no longer a member: then there are none)."""
    claims: dict[str, object] = {"sub": sub}
    if PROFILE in scopes:
        claims.update(name=f"{first_name} {last_name}".strip(), given_name=first_name, family_name=last_name)
    if EMAIL in scopes:
        claims.update(email=email, email_verified=email_verified)
    if TEAMS in scopes:
        claims["teams"] = [t.as_claim() for t in teams]
    if team is not None:
        claims.update(team_claims(team))
    return claims


def team_claims(team: TeamClaim | None) -> dict[str, object]:
    """`team_id`, `team_role`, `team_permissions` (DESIGN 13) of the authorized team, if any."""
    if team is None:
        return {}
    return {"team_id": team.id, "team_role": team.role, "team_permissions": list(team.permissions)}


def origin(url: str) -> str:
    """`scheme://host[:port]`, lower-cased, as browsers compare origins."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def _loopback(host: str | None) -> bool:
    return host in {"localhost", "127.0.0.1", "::1"} or (host or "").startswith("127.")


def redirect_uri_problem(uri: str) -> str | None:
    """What is wrong with a redirect URI to register, or None. Absolute https (plain http only on
    this machine: loopback, for development and native apps, RFC 8252 7.3), no fragment and no
    user info (RFC 6749 3.1.2); compared exactly when used, so no wildcards either."""
    if len(uri) > 2000 or not uri.isprintable() or any(c.isspace() for c in uri):
        return "must be a URL of at most 2000 characters, without spaces"
    try:
        parts = urlsplit(uri)
        parts.port  # noqa: B018 (a bad port raises here)
    except ValueError:
        return "is not a valid URL"
    if parts.scheme not in {"https", "http"} or not parts.hostname:
        return "must be an absolute https URL"
    if parts.scheme == "http" and not _loopback(parts.hostname):
        return "must use https (plain http only for localhost or 127.0.0.1)"
    if parts.fragment or "#" in uri:
        return "must not have a fragment"
    if parts.username or parts.password:
        return "must not carry a user name or password"
    if "*" in uri:
        return "must be the exact address (no wildcards)"
    return None


def origin_problem(value: str) -> str | None:
    """What is wrong with an allowed-redirect origin (`https://app.example`), or None."""
    if redirect_uri_problem(value) is not None or origin(value) != value.lower().rstrip("/"):
        return "must be an origin such as https://app.example (scheme, host and port only)"
    return None


def authorization_target(path: str) -> tuple[str, str] | None:
    """(client_id, redirect_uri) of an authorization request that a local path continues
    (`/oauth/authorize?client_id=...&redirect_uri=...`), or None for any other path."""
    parts = urlsplit(path)
    if parts.path != AUTHORIZE_PATH or parts.scheme or parts.netloc:
        return None
    query = parse_qs(parts.query)
    client_ids, redirect_uris = query.get("client_id", []), query.get("redirect_uri", [])
    if len(client_ids) != 1 or len(redirect_uris) != 1:
        return None
    return client_ids[0], redirect_uris[0]


def looks_like_jwt(token: str) -> bool:
    """Access tokens are JWTs (three dot-separated parts); refresh tokens are random strings."""
    return token.count(".") == 2
