"""The applications that sign people in with teamgate (DESIGN 13): made, listed and deleted by
an operator (CLI) or a system owner (admin API). Redirect URIs are compared exactly, so they are
checked here once, when registered."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from teamgate import errors
from teamgate.domain import oidc as rules
from teamgate.domain.ids import is_id, new_id
from teamgate.domain.text import name_problem
from teamgate.domain.tokens import hash_token, new_token, same
from teamgate.runtime import Runtime
from teamgate.services import audit
from teamgate.services.context import Actor
from teamgate.storage.models import OidcClient
from teamgate.storage.repositories import oidc as repo
from teamgate.storage.scope import act_for

CLIENT_ID_PREFIX = "tgc_"
SECRET_PREFIX = "tgcs_"


@dataclass(frozen=True)
class IssuedClient:
    client: OidcClient
    secret: str | None  # a confidential client's secret, shown once; None for a public client


def _require_admin(actor: Actor) -> None:
    if not (actor.kind == "system" or actor.is_system_owner):
        raise errors.Forbidden("Only a system owner (or an operator, with the CLI) manages OpenID Connect clients.")


def _uris(field: str, uris: list[str], *, required: bool) -> list[str]:
    if required and not uris:
        raise errors.ValidationFailed(field, "give at least one redirect URI")
    if len(uris) > rules.MAX_REDIRECT_URIS:
        raise errors.ValidationFailed(field, f"at most {rules.MAX_REDIRECT_URIS}")
    for uri in uris:
        if problem := rules.redirect_uri_problem(uri):
            raise errors.ValidationFailed(field, f"{uri[:100]!r} {problem}")
    return list(dict.fromkeys(uris))


async def create(db: AsyncSession, rt: Runtime, actor: Actor, *, name: str, redirect_uris: list[str],
                 public: bool = False, first_party: bool = False,
                 post_logout_redirect_uris: list[str] | None = None) -> IssuedClient:
    """Register a client. Raises Forbidden (not a system owner), ValidationFailed (name, URIs)."""
    _require_admin(actor)
    if problem := name_problem(name):
        raise errors.ValidationFailed("name", problem)
    redirects = _uris("redirectUris", redirect_uris, required=True)
    after_logout = _uris("postLogoutRedirectUris", post_logout_redirect_uris or [], required=False)
    secret = None if public else SECRET_PREFIX + new_token()
    if actor.user is not None:
        await act_for(db, user_id=actor.user.id)  # on PostgreSQL only a system owner's transaction may add one
    client = OidcClient(id=new_id("oidc"), client_id=CLIENT_ID_PREFIX + secrets.token_urlsafe(18), name=name.strip(),
                        secret_hash=hash_token(secret) if secret else None, first_party=first_party,
                        redirect_uris=redirects, post_logout_redirect_uris=after_logout, created_at=rt.clock.now())
    db.add(client)
    await db.flush()
    audit.record(db, rt, actor, "oidc_client.created", team_id=None, target_type="oidc_client", target_id=client.id,
                 clientId=client.client_id, public=public, firstParty=first_party, redirectUris=redirects)
    return IssuedClient(client=client, secret=secret)


async def listing(db: AsyncSession, actor: Actor) -> list[OidcClient]:
    _require_admin(actor)
    return await repo.clients(db)


async def delete(db: AsyncSession, rt: Runtime, actor: Actor, id_: str) -> None:
    """Delete a client: its grants, refresh tokens and consents end with it. Raises NotFound."""
    _require_admin(actor)
    if actor.user is not None:
        await act_for(db, user_id=actor.user.id)
    if not is_id(id_) or not await repo.delete_client(db, id_):
        raise errors.NotFound(f"No OpenID Connect client {id_[:60]}.")
    audit.record(db, rt, actor, "oidc_client.deleted", team_id=None, target_type="oidc_client", target_id=id_)


async def by_client_id(db: AsyncSession, client_id: str) -> OidcClient | None:
    if not client_id or len(client_id) > 64:
        return None
    return await repo.client_by_client_id(db, client_id)


async def by_pk(db: AsyncSession, id_: str) -> OidcClient | None:
    return await repo.client_by_id(db, id_)


def secret_matches(client: OidcClient, secret: str) -> bool:
    """A confidential client's secret, checked against its hash (public clients have none)."""
    return client.secret_hash is not None and 0 < len(secret) <= 128 and same(
        hash_token(secret).hex(), client.secret_hash.hex())


async def redirect_origins(db: AsyncSession, rt: Runtime) -> set[str]:
    """Where a product may send people back to: the registered clients' redirect origins and
    TEAMGATE_ALLOWED_REDIRECT_ORIGINS."""
    found = {rules.origin(uri) for client in await repo.clients(db) for uri in client.redirect_uris}
    return found | {o.lower() for o in rt.settings.allowed_redirect_origins}


async def redirect_url_problem(db: AsyncSession, rt: Runtime, url: str) -> str | None:
    """What is wrong with an invitation's redirectUrl, or None (DESIGN 13)."""
    if problem := rules.redirect_uri_problem(url):
        return problem
    if rules.origin(url) not in await redirect_origins(db, rt):
        return ("must be on a registered OpenID Connect client's redirect origin, or on an origin in "
                "TEAMGATE_ALLOWED_REDIRECT_ORIGINS")
    return None


async def continuation(db: AsyncSession, next_path: str) -> tuple[OidcClient, str] | None:
    """The client and redirect URI of the authorization request that a local `next` path
    continues (`/login?next=/oauth/authorize?...`), when both are registered: the sign-in page
    names the client and lets its form lead there."""
    target = rules.authorization_target(next_path)
    if target is None:
        return None
    client = await by_client_id(db, target[0])
    if client is None or target[1] not in client.redirect_uris:
        return None
    return client, target[1]
