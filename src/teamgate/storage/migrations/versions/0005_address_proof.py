"""address proof: verified addresses, link tokens, account tokens

An invitation gets a second secret, the link token (returned to its creator), beside the mail
token (only in the email); the token lookup finds either. A user records when the address was
proven. Account tokens are the single-use links of password reset and email verification; like
sessions they belong to one user, and their lookup by hash crosses users through a definer.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

from teamgate.storage.types import UTCDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

INVITATION_BY_TOKEN = ("CREATE OR REPLACE FUNCTION teamgate_invitation_by_token(p_hash bytea) "
                       "RETURNS TABLE(id text, team_id text) LANGUAGE sql STABLE SECURITY DEFINER "
                       "SET search_path = pg_catalog, pg_temp AS $fn$ "
                       "SELECT id, team_id FROM public.invitations WHERE {match} $fn$")
ACCOUNT_TOKEN_BY_HASH = (
    "CREATE FUNCTION teamgate_account_token_by_hash(p_hash bytea, p_now timestamptz) "
    "RETURNS TABLE(id text, user_id text) LANGUAGE sql STABLE SECURITY DEFINER "
    "SET search_path = pg_catalog, pg_temp AS $fn$ "
    "SELECT id, user_id FROM public.account_tokens WHERE token_hash = p_hash AND used_at IS NULL "
    "AND expires_at > p_now $fn$")


def upgrade() -> None:
    with op.batch_alter_table("users") as batch_op:
        batch_op.add_column(sa.Column("email_verified_at", UTCDateTime(timezone=True), nullable=True))
    with op.batch_alter_table("invitations") as batch_op:
        batch_op.add_column(sa.Column("link_token_hash", sa.LargeBinary(32), nullable=True))
        batch_op.create_unique_constraint("uq_invitations_link_token_hash", ["link_token_hash"])
    op.create_table(
        "account_tokens",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("user_id", sa.String(40), sa.ForeignKey("users.id", ondelete="CASCADE",
                                                          name="fk_account_tokens_user_id_users"), nullable=False),
        sa.Column("purpose", sa.String(16), nullable=False),
        sa.Column("token_hash", sa.LargeBinary(32), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("used_at", UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_account_tokens"),
        sa.UniqueConstraint("token_hash", name="uq_account_tokens_token_hash"),
    )
    op.create_index("ix_account_tokens_user_id", "account_tokens", ["user_id"])
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(INVITATION_BY_TOKEN.format(match="token_hash = p_hash OR link_token_hash = p_hash"))
    op.execute("ALTER TABLE account_tokens ENABLE ROW LEVEL SECURITY")
    op.execute("ALTER TABLE account_tokens FORCE ROW LEVEL SECURITY")
    op.execute("CREATE POLICY my_account_tokens ON account_tokens USING (user_id = teamgate_user()) "
               "WITH CHECK (user_id = teamgate_user())")
    op.execute(ACCOUNT_TOKEN_BY_HASH)
    op.execute("REVOKE ALL ON FUNCTION teamgate_account_token_by_hash(bytea, timestamptz) FROM PUBLIC")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION teamgate_account_token_by_hash(bytea, timestamptz)")
        op.execute(INVITATION_BY_TOKEN.format(match="token_hash = p_hash"))
    op.drop_index("ix_account_tokens_user_id", table_name="account_tokens")
    op.drop_table("account_tokens")
    with op.batch_alter_table("invitations") as batch_op:
        batch_op.drop_constraint("uq_invitations_link_token_hash", type_="unique")
        batch_op.drop_column("link_token_hash")
    with op.batch_alter_table("users") as batch_op:
        batch_op.drop_column("email_verified_at")
