"""The two PostgreSQL roles: the owner that migrations run as, and the service's role, which
logs in, owns nothing, and cannot bypass row-level security."""

from __future__ import annotations

import re

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
DEFINER_FUNCTIONS = [
    "teamgate_invitation_by_token(bytea)", "teamgate_api_key_by_hash(bytea)",
    "teamgate_session_by_hash(bytea, timestamptz)", "teamgate_user_by_email(text)", "teamgate_is_system_owner(text)",
    "teamgate_user_count()", "teamgate_outbox_claim(timestamptz, integer, text, timestamptz)",
    "teamgate_overdue_invitations(timestamptz, integer)", "teamgate_purge(timestamptz, timestamptz)",
    "teamgate_outbox_figures()", "teamgate_account_token_by_hash(bytea, timestamptz)",
    "teamgate_oauth_grant_by_code(bytea)", "teamgate_oauth_refresh_token_by_hash(bytea)",
    "teamgate_oauth_purge(timestamptz)",
    "teamgate_join_link_by_token(bytea)", "teamgate_invitations_to_remind(timestamptz, double precision, integer)",
    "teamgate_server_key_by_hash(bytea)", "teamgate_user_by_external_id(text)",
    "teamgate_idempotency_purge(timestamptz)",
    "teamgate_invitation_facts(bytea, boolean)",
    "teamgate_api_key_facts(bytea)", "teamgate_session_facts(bytea, timestamptz)", "teamgate_server_key_facts(bytea)",
    "teamgate_user_facts_by_external_id(text)",
    "teamgate_outbox_record(text, text[], timestamptz)",
    "teamgate_outbox_record_delivered(text, text[], integer[], text[], timestamptz)",
]
# The only columns of `users` the service changes (names, password, proof of the address). Not
# is_system_owner, id or the address: with UPDATE on the whole table, a service role that sets
# its own user as the scope could make that user a system owner through the `me` policy.
# external_id: an existing account is linked to its person in a product on the product's word.
USER_COLUMNS_UPDATED = ("first_name", "last_name", "password_hash", "email_verified_at", "external_id")
# Server keys are made and revoked by operators (the owner role) only: the service reads the one it
# was called with and records when it was last used, so a service role turned hostile cannot mint one.
SERVER_KEY_COLUMNS_UPDATED = ("last_used_at",)
# What the service never changes in the OpenID Connect provider's installation-wide tables: a
# client is made or deleted, never edited; a signing key is added on first need, and only the
# operator (`teamgate oidc keys rotate`, as the owner) retires one. (Row-level security says the
# same; these make it `permission denied` at the door.)
NOT_GRANTED = {"oidc_clients": "UPDATE", "oidc_signing_keys": "UPDATE, DELETE"}


class UnsafeRole(RuntimeError):
    """The service would connect with a role that row-level security does not bind."""


async def _execute_formatted(conn: AsyncConnection, template: str, *values: str) -> None:
    """Let PostgreSQL quote identifiers (%I) and literals (%L) into a statement, then run it."""
    placeholders = ", ".join(f"CAST(:v{i} AS text)" for i in range(len(values)))
    statement = await conn.scalar(text(f"SELECT format('{template}', {placeholders})"),
                                  {f"v{i}": v for i, v in enumerate(values)})
    await conn.execute(text(statement))


async def ensure_service_role(conn: AsyncConnection, service_url: str) -> str | None:
    """Create or update the service's role named in its URL, and grant it what it needs and no more.
    Returns the role's name, or None when the service connects as the owner itself."""
    url = make_url(service_url)
    owner = await conn.scalar(text("SELECT current_user"))
    role = url.username
    if not role or role == owner:
        return None
    if not IDENTIFIER.match(role):
        raise ValueError(f"unusual role name {role!r}; use letters, digits and underscores")
    owner_ok = await conn.scalar(text("SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = current_user"))
    if not owner_ok:
        raise UnsafeRole(f"the migration role {owner!r} needs BYPASSRLS (or superuser): the tables force row-level "
                         f"security, and teamgate's lookup functions run as their owner")
    exists = await conn.scalar(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role})
    verb = "ALTER" if exists else "CREATE"
    if url.password:
        await _execute_formatted(conn, f"{verb} ROLE %I LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE "
                                       "PASSWORD %L", role, url.password)
    else:
        await _execute_formatted(conn, f"{verb} ROLE %I LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE", role)
    await _execute_formatted(conn, "GRANT USAGE ON SCHEMA public TO %I", role)
    await _execute_formatted(conn, "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO %I", role)
    await _execute_formatted(conn, "REVOKE INSERT, UPDATE, DELETE ON alembic_version FROM %I", role)
    await _execute_formatted(conn, "REVOKE UPDATE ON users FROM %I", role)  # then only these columns:
    await _execute_formatted(conn, f"GRANT UPDATE ({', '.join(USER_COLUMNS_UPDATED)}) ON users TO %I", role)
    for table, privileges in NOT_GRANTED.items():
        await _execute_formatted(conn, f"REVOKE {privileges} ON {table} FROM %I", role)
    await _execute_formatted(conn, "REVOKE INSERT, UPDATE, DELETE ON server_keys FROM %I", role)
    await _execute_formatted(conn, f"GRANT UPDATE ({', '.join(SERVER_KEY_COLUMNS_UPDATED)}) ON server_keys TO %I",
                             role)
    for function in DEFINER_FUNCTIONS:
        await _execute_formatted(conn, f"GRANT EXECUTE ON FUNCTION {function} TO %I", role)
    return role


async def refuse_privileged_role(engine: AsyncEngine) -> None:
    """At start-up: the service must not run as a superuser, a BYPASSRLS role or the tables' owner."""
    async with engine.connect() as conn:
        row = (await conn.execute(text(
            "SELECT r.rolname, r.rolsuper, r.rolbypassrls, "
            "       EXISTS (SELECT 1 FROM pg_tables t WHERE t.schemaname = 'public' AND t.tableowner = r.rolname) "
            "FROM pg_roles r WHERE r.rolname = current_user"))).one()
    name, superuser, bypass, owns = row
    problem = ("a superuser" if superuser else "allowed to bypass row-level security" if bypass
               else "the owner of teamgate's tables" if owns else None)
    if problem:
        raise UnsafeRole(
            f"teamgate connects to PostgreSQL as {name!r}, which is {problem}, so row-level security would not "
            f"separate teams. Give TEAMGATE_DATABASE_URL a role of its own (for example teamgate_service) and "
            f"TEAMGATE_MIGRATION_DATABASE_URL the owner; `teamgate migrate` then creates the role and its grants. "
            f"For a development database only, TEAMGATE_DEVELOPMENT=true lets it run anyway.")
