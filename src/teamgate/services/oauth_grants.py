"""Grants of the OpenID Connect provider (DESIGN 13): the authorization code a sign-in starts
with, the refresh-token chain it may grow, and the claims about the person.

Codes and refresh tokens are 256-bit, stored only as SHA-256, and spent by one conditional
update each, so of two concurrent uses exactly one wins. Presenting a spent one is taken as
theft (RFC 9700 4.14.2, RFC 6749 4.1.2): the whole grant is revoked, and with it every refresh
token and access token it issued. Claims are read afresh at every token: a person who left a
team has no claims of it at the next refresh."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from teamgate.domain import oidc as rules
from teamgate.domain.ids import is_id, new_id
from teamgate.domain.tokens import hash_token
from teamgate.runtime import Runtime
from teamgate.services import audit
from teamgate.services.context import Actor
from teamgate.storage.models import OAuthConsent, OAuthGrant, OAuthRefreshToken, OidcClient, User
from teamgate.storage.repositories import accounts as accounts_repo
from teamgate.storage.repositories import oidc as repo
from teamgate.storage.repositories import teams as teams_repo
from teamgate.storage.scope import act_for

log = logging.getLogger("teamgate.oidc")


@dataclass
class Person:
    """The signed-in person as the tokens describe them, read when the tokens are made."""

    user: User
    teams: list[rules.TeamClaim]
    team: rules.TeamClaim | None  # the authorized team, while they are still a member
    auth_time: datetime
    grant_id: str | None = None

    def claims(self, scopes: list[str] | tuple[str, ...]) -> dict:
        return rules.person_claims(sub=self.user.id, first_name=self.user.first_name, last_name=self.user.last_name,
                                   email=self.user.email, email_verified=self.user.email_verified, scopes=scopes,
                                   teams=self.teams, team=self.team)


async def memberships(db: AsyncSession, rt: Runtime, user_id: str) -> list[rules.TeamClaim]:
    """Every team of the person, with role and permissions (the transaction acts for them)."""
    claims = []
    for team, membership in await teams_repo.teams_of_user(db, user_id):
        role = rt.catalog.get(membership.role)
        claims.append(rules.TeamClaim(id=team.id, name=team.name, role=membership.role,
                                      permissions=tuple(sorted(role.permissions)) if role else ()))
    return claims


async def membership(db: AsyncSession, rt: Runtime, user_id: str, team_id: str | None) -> rules.TeamClaim | None:
    """The person's membership of one team as claims, or None when they are not (or no longer) in it."""
    if not team_id or not is_id(team_id):
        return None
    return next((t for t in await memberships(db, rt, user_id) if t.id == team_id), None)


async def person(db: AsyncSession, rt: Runtime, grant: OAuthGrant) -> Person | None:
    """The person of a grant, with claims as of now; None if the account is gone."""
    await act_for(db, user_id=grant.user_id)
    user = await accounts_repo.user_by_id(db, grant.user_id)
    if user is None:
        return None
    teams = await memberships(db, rt, user.id)
    team = next((t for t in teams if t.id == grant.team_id), None) if grant.team_id else None
    return Person(user=user, teams=teams, team=team, auth_time=grant.auth_time, grant_id=grant.id)


async def start(db: AsyncSession, rt: Runtime, *, code: str, client: OidcClient, user: User, auth_time: datetime,
                redirect_uri: str, scope: str, nonce: str | None, code_challenge: str | None,
                code_challenge_method: str | None, team_id: str | None) -> None:
    """A new grant for an authorization the person gave, opened by `code` (stored as its hash)."""
    now = rt.clock.now()
    await act_for(db, user_id=user.id)
    db.add(OAuthGrant(id=new_id("grt"), client_id=client.id, user_id=user.id, team_id=team_id, scope=scope,
                      redirect_uri=redirect_uri, nonce=nonce, code_challenge=code_challenge,
                      code_challenge_method=code_challenge_method, code_hash=hash_token(code),
                      code_expires_at=now + rules.CODE_LIFETIME, auth_time=auth_time, created_at=now))
    await db.flush()


async def _revoke_for_reuse(db: AsyncSession, rt: Runtime, grant: OAuthGrant, what: str) -> None:
    if await repo.revoke_grant(db, grant.id, rt.clock.now()):
        log.warning("oidc.reuse_detected", extra={"what": what, "grant": grant.id, "client": grant.client_id})
        audit.record(db, rt, Actor.system(), "oauth_grant.revoked", team_id=None, target_type="oauth_grant",
                     target_id=grant.id, reason=f"{what}_reused", userId=grant.user_id)


async def redeem_code(db: AsyncSession, rt: Runtime, code: str, client: OidcClient) -> OAuthGrant | None:
    """The grant behind an authorization code, spending the code. None when the code is unknown,
    another client's, expired or revoked; a code used before revokes its grant."""
    if not 0 < len(code) <= 128:
        return None
    grant = await repo.grant_by_code(db, hash_token(code))
    if grant is None or grant.client_id != client.id:  # another client's code is not burnt by it
        return None
    if not await repo.use_code(db, grant.id, rt.clock.now()):
        await _revoke_for_reuse(db, rt, grant, "code")
        return None
    if grant.revoked_at is not None or grant.code_expires_at <= rt.clock.now():
        return None
    return grant


async def keep_refresh_token(db: AsyncSession, rt: Runtime, token: str, *, grant_id: str, user_id: str) -> None:
    """Store a refresh token just issued for a grant (its hash)."""
    now = rt.clock.now()
    await act_for(db, user_id=user_id)
    db.add(OAuthRefreshToken(id=new_id("rtk"), grant_id=grant_id, user_id=user_id, token_hash=hash_token(token),
                             created_at=now, expires_at=now + timedelta(days=rt.settings.oidc_refresh_token_days)))
    await db.flush()


async def redeem_refresh_token(db: AsyncSession, rt: Runtime, token: str, client: OidcClient) -> OAuthGrant | None:
    """The live grant behind a refresh token, spending the token (rotation: the caller issues
    the next). None when unknown, another client's, expired or revoked; a token used before
    revokes its grant, and so every token of the chain, the new ones included."""
    found = await find_refresh_token(db, token)
    if found is None or found[1].client_id != client.id:
        return None
    row, grant = found
    if not await repo.use_refresh_token(db, row.id, rt.clock.now()):
        await _revoke_for_reuse(db, rt, grant, "refresh_token")
        return None
    if grant.revoked_at is not None or row.expires_at <= rt.clock.now():
        return None
    return grant


async def find_refresh_token(db: AsyncSession, token: str) -> tuple[OAuthRefreshToken, OAuthGrant] | None:
    """A refresh token and its grant, spent or not (introspection and revocation look; they do not spend)."""
    if not 0 < len(token) <= 128:
        return None
    return await repo.refresh_token_by_hash(db, hash_token(token))


def refresh_token_active(rt: Runtime, row: OAuthRefreshToken, grant: OAuthGrant) -> bool:
    return row.used_at is None and grant.revoked_at is None and row.expires_at > rt.clock.now()


async def live_grant(db: AsyncSession, grant_id: str, user_id: str) -> OAuthGrant | None:
    """A grant that has not been revoked (an access token's `sid` names it)."""
    if not is_id(grant_id) or not is_id(user_id):
        return None
    await act_for(db, user_id=user_id)
    grant = await repo.grant_by_id(db, grant_id)
    return grant if grant is not None and grant.revoked_at is None and grant.user_id == user_id else None


async def revoke(db: AsyncSession, rt: Runtime, grant: OAuthGrant, *, reason: str) -> None:
    """End a grant: its refresh tokens stop working, and its access tokens read as inactive."""
    await act_for(db, user_id=grant.user_id)
    if await repo.revoke_grant(db, grant.id, rt.clock.now()):
        audit.record(db, rt, Actor.system(), "oauth_grant.revoked", team_id=None, target_type="oauth_grant",
                     target_id=grant.id, reason=reason, userId=grant.user_id)


async def revoke_all(db: AsyncSession, rt: Runtime, user_id: str) -> int:
    """End every grant of a person (an account taken over by its mailbox's owner)."""
    await act_for(db, user_id=user_id)
    return await repo.revoke_grants_of(db, user_id, rt.clock.now())


async def needs_consent(db: AsyncSession, user: User, client: OidcClient, scopes: list[str]) -> bool:
    """Whether to ask the person before `client` learns `scopes` (first-party clients never ask)."""
    if client.first_party:
        return False
    await act_for(db, user_id=user.id)
    given = await repo.consent(db, user.id, client.id)
    return given is None or not set(scopes) <= set(given.scopes)


async def remember_consent(db: AsyncSession, rt: Runtime, user: User, client: OidcClient, scopes: list[str]) -> None:
    await act_for(db, user_id=user.id)
    given = await repo.consent(db, user.id, client.id)
    if given is None:
        db.add(OAuthConsent(user_id=user.id, client_id=client.id, scopes=sorted(scopes), granted_at=rt.clock.now()))
    else:
        given.scopes, given.granted_at = sorted(set(given.scopes) | set(scopes)), rt.clock.now()
    await db.flush()
