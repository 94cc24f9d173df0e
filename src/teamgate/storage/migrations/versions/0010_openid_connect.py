"""openid connect: clients, signing keys, grants with their codes, refresh tokens, consents

DESIGN 13. None of these tables belongs to a team; on PostgreSQL each still gets row-level
security, so the service role can do with each only what its step needs:

- `oidc_clients` are readable by every transaction (a client is looked up before anyone is
  known), and made or deleted only in a transaction acting for a system owner (the admin API);
  the operator's CLI connects as the owner. The service role has no UPDATE on them
  (storage/roles.py).
- `oidc_signing_keys` are readable and may be added (the first key is made on first need), never
  changed or deleted by the service: only the operator retires a key (`teamgate oidc keys rotate`).
- `oauth_grants`, `oauth_refresh_tokens` and `oauth_consents` belong to a person, like sessions:
  visible and writable only in a transaction acting for that user. A code or refresh token is
  presented before anyone is known, so its lookup by hash crosses users through a definer
  function that returns only the row's id and user, as the session lookup does.
- `teamgate_oauth_purge` deletes what upkeep no longer needs: refresh tokens past their end and
  grants a day old with no live refresh token, by the database's clock.

Invitations get `redirect_url`: where the person continues after accepting on /invite.

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

from teamgate.storage.types import UTCDateTime

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

PERSONAL = ["oauth_grants", "oauth_refresh_tokens", "oauth_consents"]
GLOBAL = ["oidc_clients", "oidc_signing_keys"]
POLICIES = [
    ("clients_readable", "oidc_clients", "FOR SELECT USING (true)"),
    ("clients_added_by_system_owners", "oidc_clients",
     "FOR INSERT WITH CHECK (teamgate_is_system_owner(teamgate_user()))"),
    ("clients_deleted_by_system_owners", "oidc_clients",
     "FOR DELETE USING (teamgate_is_system_owner(teamgate_user()))"),
    ("keys_readable", "oidc_signing_keys", "FOR SELECT USING (true)"),
    ("keys_added", "oidc_signing_keys", "FOR INSERT WITH CHECK (true)"),
    *[(f"my_{table}", table, "USING (user_id = teamgate_user()) WITH CHECK (user_id = teamgate_user())")
      for table in PERSONAL],
]
DEFINERS = {
    "teamgate_oauth_grant_by_code(bytea)": (
        "p_hash bytea", "TABLE(id text, user_id text)", "STABLE",
        "SELECT id, user_id FROM public.oauth_grants WHERE code_hash = p_hash"),
    "teamgate_oauth_refresh_token_by_hash(bytea)": (
        "p_hash bytea", "TABLE(id text, user_id text)", "STABLE",
        "SELECT id, user_id FROM public.oauth_refresh_tokens WHERE token_hash = p_hash"),
    "teamgate_oauth_purge(timestamptz)": (
        "p_before timestamptz", "TABLE(refresh_tokens bigint, grants bigint)", "VOLATILE",
        """WITH r AS (DELETE FROM public.oauth_refresh_tokens WHERE expires_at < least(p_before, now()) RETURNING 1),
                g AS (DELETE FROM public.oauth_grants g
                      WHERE g.created_at < least(p_before, now()) - interval '1 day'
                        AND NOT EXISTS (SELECT 1 FROM public.oauth_refresh_tokens t
                                        WHERE t.grant_id = g.id AND t.used_at IS NULL AND t.expires_at >= now()
                                          AND g.revoked_at IS NULL)
                      RETURNING 1)
           SELECT (SELECT count(*) FROM r), (SELECT count(*) FROM g)"""),
}


def _when(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, UTCDateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "oidc_clients",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("client_id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("secret_hash", sa.LargeBinary(32), nullable=True),
        sa.Column("first_party", sa.Boolean(), nullable=False),
        sa.Column("redirect_uris", sa.JSON(), nullable=False),
        sa.Column("post_logout_redirect_uris", sa.JSON(), nullable=False),
        _when("created_at"),
        sa.PrimaryKeyConstraint("id", name="pk_oidc_clients"),
        sa.UniqueConstraint("client_id", name="uq_oidc_clients_client_id"),
    )
    op.create_table(
        "oidc_signing_keys",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("private_key", sa.LargeBinary(), nullable=False),
        sa.Column("public_jwk", sa.JSON(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        _when("created_at"),
        _when("retired_at", nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_oidc_signing_keys"),
    )
    op.create_index("uq_oidc_signing_keys_one_active", "oidc_signing_keys", ["active"], unique=True,
                    postgresql_where=sa.text("active"), sqlite_where=sa.text("active"))
    op.create_table(
        "oauth_grants",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("client_id", sa.String(40), nullable=False),
        sa.Column("user_id", sa.String(40), nullable=False),
        sa.Column("team_id", sa.String(40), nullable=True),
        sa.Column("scope", sa.String(300), nullable=False),
        sa.Column("redirect_uri", sa.String(2048), nullable=False),
        sa.Column("nonce", sa.String(255), nullable=True),
        sa.Column("code_challenge", sa.String(128), nullable=True),
        sa.Column("code_challenge_method", sa.String(8), nullable=True),
        sa.Column("code_hash", sa.LargeBinary(32), nullable=False),
        _when("code_expires_at"),
        _when("code_used_at", nullable=True),
        _when("auth_time"),
        _when("created_at"),
        _when("revoked_at", nullable=True),
        sa.ForeignKeyConstraint(["client_id"], ["oidc_clients.id"], name="fk_oauth_grants_client_id_oidc_clients",
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_oauth_grants_user_id_users", ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["team_id"], ["teams.id"], name="fk_oauth_grants_team_id_teams", ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name="pk_oauth_grants"),
        sa.UniqueConstraint("code_hash", name="uq_oauth_grants_code_hash"),
    )
    op.create_index("ix_oauth_grants_user_id", "oauth_grants", ["user_id"])
    op.create_index("ix_oauth_grants_client_id", "oauth_grants", ["client_id"])
    op.create_table(
        "oauth_refresh_tokens",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("grant_id", sa.String(40), nullable=False),
        sa.Column("user_id", sa.String(40), nullable=False),
        sa.Column("token_hash", sa.LargeBinary(32), nullable=False),
        _when("created_at"),
        _when("expires_at"),
        _when("used_at", nullable=True),
        sa.ForeignKeyConstraint(["grant_id"], ["oauth_grants.id"],
                                name="fk_oauth_refresh_tokens_grant_id_oauth_grants", ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_oauth_refresh_tokens_user_id_users",
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_oauth_refresh_tokens"),
        sa.UniqueConstraint("token_hash", name="uq_oauth_refresh_tokens_token_hash"),
    )
    op.create_index("ix_oauth_refresh_tokens_grant_id", "oauth_refresh_tokens", ["grant_id"])
    op.create_table(
        "oauth_consents",
        sa.Column("user_id", sa.String(40), nullable=False),
        sa.Column("client_id", sa.String(40), nullable=False),
        sa.Column("scopes", sa.JSON(), nullable=False),
        _when("granted_at"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_oauth_consents_user_id_users", ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["client_id"], ["oidc_clients.id"], name="fk_oauth_consents_client_id_oidc_clients",
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id", "client_id", name="pk_oauth_consents"),
    )
    with op.batch_alter_table("invitations") as batch_op:
        batch_op.add_column(sa.Column("redirect_url", sa.String(2048), nullable=True))
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in [*GLOBAL, *PERSONAL]:
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
    for name, table, clause in POLICIES:
        op.execute(f"CREATE POLICY {name} ON {table} {clause}")
    for signature, (args, returns, volatility, body) in DEFINERS.items():
        op.execute(f"CREATE FUNCTION {signature.split('(')[0]}({args}) RETURNS {returns} LANGUAGE sql {volatility} "
                   f"SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$ {body} $fn$")
        op.execute(f"REVOKE ALL ON FUNCTION {signature} FROM PUBLIC")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for signature in DEFINERS:
            op.execute(f"DROP FUNCTION {signature}")
    with op.batch_alter_table("invitations") as batch_op:
        batch_op.drop_column("redirect_url")
    op.drop_table("oauth_consents")
    op.drop_index("ix_oauth_refresh_tokens_grant_id", table_name="oauth_refresh_tokens")
    op.drop_table("oauth_refresh_tokens")
    op.drop_index("ix_oauth_grants_client_id", table_name="oauth_grants")
    op.drop_index("ix_oauth_grants_user_id", table_name="oauth_grants")
    op.drop_table("oauth_grants")
    op.drop_index("uq_oidc_signing_keys_one_active", table_name="oidc_signing_keys")
    op.drop_table("oidc_signing_keys")
    op.drop_table("oidc_clients")
