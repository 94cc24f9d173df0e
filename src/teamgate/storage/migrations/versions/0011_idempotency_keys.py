"""idempotency keys: the first answer to a request sent with an Idempotency-Key (DESIGN 14)

One row per caller and key: an API key's rows belong to its team, a person's rows (sessions) to
the person, whichever team they acted in, and a server key's rows (acting for a person in a team)
to that team. On PostgreSQL the table is walled like the others: a
row is seen and written only by a transaction acting for its team or for its person. Rows expire
after 24 hours; the upkeep purges them across callers through a definer function that removes
only what has expired by the database's own clock.

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

PURGE = "teamgate_idempotency_purge(timestamptz)"


def upgrade() -> None:
    op.create_table(
        "idempotency_keys",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("caller", sa.String(128), nullable=False),
        sa.Column("team_id", sa.String(40), nullable=True),
        sa.Column("user_id", sa.String(40), nullable=True),
        sa.Column("key_hash", sa.LargeBinary(32), nullable=False),
        sa.Column("fingerprint", sa.LargeBinary(32), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("media_type", sa.String(100), nullable=False),
        sa.Column("response", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("(team_id IS NULL) <> (user_id IS NULL)", name="ck_idempotency_keys_one_wall"),
        sa.ForeignKeyConstraint(["team_id"], ["teams.id"], name="fk_idempotency_keys_team_id_teams",
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_idempotency_keys_user_id_users",
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_idempotency_keys"),
        sa.UniqueConstraint("caller", "key_hash", name="uq_idempotency_keys_caller_key_hash"),
    )
    op.create_index("ix_idempotency_keys_expires_at", "idempotency_keys", ["expires_at"])
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("ALTER TABLE idempotency_keys ENABLE ROW LEVEL SECURITY")
    op.execute("ALTER TABLE idempotency_keys FORCE ROW LEVEL SECURITY")
    op.execute("CREATE POLICY caller_rows ON idempotency_keys "
               "USING (team_id = teamgate_team() OR user_id = teamgate_user()) "
               "WITH CHECK (team_id = teamgate_team() OR user_id = teamgate_user())")
    op.execute(f"""CREATE FUNCTION {PURGE.replace('(timestamptz)', '(p_before timestamptz)')} RETURNS bigint
        LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
        WITH gone AS (DELETE FROM public.idempotency_keys WHERE expires_at <= least(p_before, now()) RETURNING 1)
        SELECT count(*) FROM gone $fn$""")
    op.execute(f"REVOKE ALL ON FUNCTION {PURGE} FROM PUBLIC")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP FUNCTION {PURGE}")
    op.drop_index("ix_idempotency_keys_expires_at", table_name="idempotency_keys")
    op.drop_table("idempotency_keys")
