"""The OpenID Connect provider's rows: clients, signing keys, grants (with their codes), refresh
tokens and consents.

Clients and keys belong to the installation, not to a team or person. Grants, refresh tokens and
consents belong to a person: a code or refresh token is presented before anyone is known, so on
PostgreSQL its lookup crosses users through a definer function and scopes the rest of the
transaction to the row's user (as a session cookie's lookup does)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from teamgate.storage.db import rowcount
from teamgate.storage.models import OAuthConsent, OAuthGrant, OAuthRefreshToken, OidcClient, OidcSigningKey
from teamgate.storage.scope import act_for_found, enforced

_GRANT_BY_CODE = "SELECT id, user_id FROM teamgate_oauth_grant_by_code(:h)"
_REFRESH_TOKEN_BY_HASH = "SELECT id, user_id FROM teamgate_oauth_refresh_token_by_hash(:h)"


# --- clients ---------------------------------------------------------------------------------

async def client_by_client_id(db: AsyncSession, client_id: str) -> OidcClient | None:
    return await db.scalar(select(OidcClient).where(OidcClient.client_id == client_id))


async def client_by_id(db: AsyncSession, id_: str) -> OidcClient | None:
    return await db.get(OidcClient, id_)


async def clients(db: AsyncSession) -> list[OidcClient]:
    return list(await db.scalars(select(OidcClient).order_by(OidcClient.created_at, OidcClient.id)))


async def delete_client(db: AsyncSession, id_: str) -> bool:
    """Delete a client (its grants, refresh tokens and consents go with it). False if none."""
    result = await db.execute(delete(OidcClient).where(OidcClient.id == id_)
                              .execution_options(synchronize_session=False))
    return rowcount(result) == 1


# --- signing keys ----------------------------------------------------------------------------

async def active_key(db: AsyncSession) -> OidcSigningKey | None:
    return await db.scalar(select(OidcSigningKey).where(OidcSigningKey.active.is_(True)))


async def published_keys(db: AsyncSession, retired_after: datetime) -> list[OidcSigningKey]:
    """The active key and those retired after `retired_after`, newest first."""
    return list(await db.scalars(
        select(OidcSigningKey).where(OidcSigningKey.active.is_(True) | (OidcSigningKey.retired_at > retired_after))
        .order_by(OidcSigningKey.created_at.desc(), OidcSigningKey.id.desc())))


async def retire_active_key(db: AsyncSession, now: datetime) -> int:
    result = await db.execute(update(OidcSigningKey).where(OidcSigningKey.active.is_(True))
                              .values(active=False, retired_at=now).execution_options(synchronize_session=False))
    return rowcount(result)


# --- grants and their codes ------------------------------------------------------------------

async def grant_by_code(db: AsyncSession, code_hash: bytes) -> OAuthGrant | None:
    """The grant an authorization code belongs to, used or not, with the transaction scoped to its user."""
    if not await act_for_found(db, _GRANT_BY_CODE, {"h": code_hash}, scope="user_id"):
        return None
    return await db.scalar(select(OAuthGrant).where(OAuthGrant.code_hash == code_hash)
                           .execution_options(populate_existing=True))


async def use_code(db: AsyncSession, grant_id: str, now: datetime) -> bool:
    """Spend a grant's code: one conditional update, so of two concurrent exchanges exactly one
    wins (on PostgreSQL the second waits for the first's row lock, then matches nothing)."""
    result = await db.execute(update(OAuthGrant).where(OAuthGrant.id == grant_id, OAuthGrant.code_used_at.is_(None))
                              .values(code_used_at=now).execution_options(synchronize_session=False))
    return rowcount(result) == 1


async def grant_by_id(db: AsyncSession, grant_id: str) -> OAuthGrant | None:
    """A grant of the user the transaction acts for."""
    return await db.scalar(select(OAuthGrant).where(OAuthGrant.id == grant_id)
                           .execution_options(populate_existing=True))


async def revoke_grant(db: AsyncSession, grant_id: str, now: datetime) -> bool:
    result = await db.execute(update(OAuthGrant).where(OAuthGrant.id == grant_id, OAuthGrant.revoked_at.is_(None))
                              .values(revoked_at=now).execution_options(synchronize_session=False))
    return rowcount(result) == 1


async def revoke_grants_of(db: AsyncSession, user_id: str, now: datetime) -> int:
    result = await db.execute(update(OAuthGrant).where(OAuthGrant.user_id == user_id, OAuthGrant.revoked_at.is_(None))
                              .values(revoked_at=now).execution_options(synchronize_session=False))
    return rowcount(result)


# --- refresh tokens --------------------------------------------------------------------------

async def refresh_token_by_hash(db: AsyncSession, token_hash: bytes) -> tuple[OAuthRefreshToken, OAuthGrant] | None:
    """A refresh token, used or not, and its grant, with the transaction scoped to their user."""
    if not await act_for_found(db, _REFRESH_TOKEN_BY_HASH, {"h": token_hash}, scope="user_id"):
        return None
    row = (await db.execute(
        select(OAuthRefreshToken, OAuthGrant).join(OAuthGrant, OAuthGrant.id == OAuthRefreshToken.grant_id)
        .where(OAuthRefreshToken.token_hash == token_hash).execution_options(populate_existing=True))).first()
    return (row[0], row[1]) if row else None


async def use_refresh_token(db: AsyncSession, token_id: str, now: datetime) -> bool:
    """Spend a refresh token (rotation): one conditional update, as for codes."""
    result = await db.execute(update(OAuthRefreshToken)
                              .where(OAuthRefreshToken.id == token_id, OAuthRefreshToken.used_at.is_(None))
                              .values(used_at=now).execution_options(synchronize_session=False))
    return rowcount(result) == 1


# --- consents --------------------------------------------------------------------------------

async def consent(db: AsyncSession, user_id: str, client_pk: str) -> OAuthConsent | None:
    return await db.get(OAuthConsent, (user_id, client_pk))


# --- upkeep ----------------------------------------------------------------------------------

async def purge(db: AsyncSession, before: datetime) -> tuple[int, int]:
    """Delete refresh tokens that ended before `before`, and grants a day older than that with no
    live refresh token. Returns the two counts. (Crosses users: a definer on PostgreSQL.)"""
    if enforced(db):
        row = (await db.execute(text("SELECT refresh_tokens, grants FROM teamgate_oauth_purge(:b)"),
                                {"b": before})).one()
        return row[0], row[1]
    tokens = await db.execute(delete(OAuthRefreshToken).where(OAuthRefreshToken.expires_at < before))
    live = select(OAuthRefreshToken.id).where(
        OAuthRefreshToken.grant_id == OAuthGrant.id, OAuthRefreshToken.used_at.is_(None),
        OAuthRefreshToken.expires_at >= before, OAuthGrant.revoked_at.is_(None))
    grants = await db.execute(delete(OAuthGrant).where(OAuthGrant.created_at < before - timedelta(days=1),
                                                       ~live.exists()))
    return rowcount(tokens), rowcount(grants)
