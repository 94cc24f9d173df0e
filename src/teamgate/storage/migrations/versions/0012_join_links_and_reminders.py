"""join links, join requests, invitation reminders (DESIGN 14)

A join link belongs to a team and is found by its token's hash; a join request is a use of one
that waits for the person's address to be verified or for someone to approve it. Both are walled
like every team table on PostgreSQL. Two lookups must cross teams, so they are definer functions
like those of 0003 and 0004, clamped like those of 0007:

- `teamgate_join_link_by_token(hash)`: the link's id and team id (a 256-bit token finds one link);
- `teamgate_invitations_to_remind(now, window_seconds, limit)`: ids and team ids of the pending
  invitations whose reminder is due, by the caller's clock or the database's, whichever is
  earlier (a caller's clock running ahead cannot send reminders early), locked (skipping those another
  worker holds) until the caller's transaction ends; the caller reminds each within its team's
  walls with a conditional update, so each lifetime gets one reminder however many workers run.

A person reads their own join requests across teams (`my_join_requests`, as `my_memberships`):
when they verify their address, the requests that waited for it go on.

Invitations record when their reminder went out (`reminded_at`).

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

from teamgate.storage.types import UTCDateTime

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

REMIND_MAX = 1000  # the upkeep asks for 500
WINDOW_MAX_SECONDS = 30 * 86400  # no invitation lives longer than 30 days
TEAM_TABLES = ("join_links", "join_requests")
OPEN_REQUEST = "status IN ('unverified', 'pending')"


def _clamp(argument: str, most: int) -> str:
    return f"least(greatest(coalesce({argument}, 0), 0), {most})"


WINDOW = _clamp("p_window_seconds", WINDOW_MAX_SECONDS)
DEFINERS = {
    "teamgate_join_link_by_token(bytea)": (
        "p_hash bytea", "TABLE(id text, team_id text)", "STABLE",
        "SELECT id, team_id FROM public.join_links WHERE token_hash = p_hash"),
    "teamgate_invitations_to_remind(timestamptz, double precision, integer)": (
        "p_now timestamptz, p_window_seconds double precision, p_limit integer", "TABLE(id text, team_id text)",
        "VOLATILE",
        f"""SELECT id, team_id FROM public.invitations
           WHERE status = 'pending' AND last_sent_at IS NOT NULL
             AND (reminded_at IS NULL OR reminded_at < last_sent_at)
             AND expires_at > least(p_now, now())
             AND expires_at <= least(p_now, now()) + make_interval(secs => {WINDOW})
             AND lifetime_seconds > {WINDOW}
           ORDER BY expires_at LIMIT {_clamp('p_limit', REMIND_MAX)} FOR UPDATE SKIP LOCKED"""),
}


def upgrade() -> None:
    op.create_table(
        "join_links",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("team_id", sa.String(40), nullable=False),
        sa.Column("role", sa.String(64), nullable=False),
        sa.Column("token_hash", sa.LargeBinary(32), nullable=False),
        sa.Column("max_uses", sa.Integer(), nullable=True),
        sa.Column("uses", sa.Integer(), nullable=False),
        sa.Column("expires_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("allowed_domains", sa.JSON(), nullable=False),
        sa.Column("requires_approval", sa.Boolean(), nullable=False),
        sa.Column("created_by_user_id", sa.String(40), nullable=True),
        sa.Column("created_by_api_key_id", sa.String(40), nullable=True),
        sa.Column("creator_name", sa.String(200), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["team_id"], ["teams.id"], name="fk_join_links_team_id_teams", ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["created_by_user_id"], ["users.id"], name="fk_join_links_created_by_user_id_users",
                                ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["created_by_api_key_id"], ["api_keys.id"],
                                name="fk_join_links_created_by_api_key_id_api_keys", ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name="pk_join_links"),
        sa.UniqueConstraint("token_hash", name="uq_join_links_token_hash"),
    )
    op.create_index("ix_join_links_team_id_id", "join_links", ["team_id", "id"])
    op.create_table(
        "join_requests",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("team_id", sa.String(40), nullable=False),
        sa.Column("join_link_id", sa.String(40), nullable=False),
        sa.Column("user_id", sa.String(40), nullable=False),
        sa.Column("email", sa.String(254), nullable=False),
        sa.Column("first_name", sa.String(100), nullable=False),
        sa.Column("last_name", sa.String(100), nullable=False),
        sa.Column("role", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("decided_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("decided_by_user_id", sa.String(40), nullable=True),
        sa.Column("decided_by_api_key_id", sa.String(40), nullable=True),
        sa.Column("decider_name", sa.String(200), nullable=True),
        sa.ForeignKeyConstraint(["team_id"], ["teams.id"], name="fk_join_requests_team_id_teams", ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["join_link_id"], ["join_links.id"], name="fk_join_requests_join_link_id_join_links",
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_join_requests_user_id_users", ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["decided_by_user_id"], ["users.id"],
                                name="fk_join_requests_decided_by_user_id_users", ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["decided_by_api_key_id"], ["api_keys.id"],
                                name="fk_join_requests_decided_by_api_key_id_api_keys", ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name="pk_join_requests"),
    )
    op.create_index("ix_join_requests_team_id_status_id", "join_requests", ["team_id", "status", "id"])
    op.create_index("ix_join_requests_user_id", "join_requests", ["user_id"])
    op.create_index("uq_join_requests_open_team_user", "join_requests", ["team_id", "user_id"], unique=True,
                    postgresql_where=sa.text(OPEN_REQUEST), sqlite_where=sa.text(OPEN_REQUEST))
    with op.batch_alter_table("invitations") as batch_op:
        batch_op.add_column(sa.Column("reminded_at", UTCDateTime(timezone=True), nullable=True))
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in TEAM_TABLES:
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        op.execute(f"CREATE POLICY team_rows ON {table} USING (team_id = teamgate_team()) "
                   "WITH CHECK (team_id = teamgate_team())")
    op.execute("CREATE POLICY my_join_requests ON join_requests FOR SELECT USING (user_id = teamgate_user())")
    for signature, (args, returns, volatility, body) in DEFINERS.items():
        name = signature.split("(")[0]
        op.execute(f"CREATE FUNCTION {name}({args}) RETURNS {returns} LANGUAGE sql {volatility} SECURITY DEFINER "
                   f"SET search_path = pg_catalog, pg_temp AS $fn$ {body} $fn$")
        op.execute(f"REVOKE ALL ON FUNCTION {signature} FROM PUBLIC")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for signature in DEFINERS:
            op.execute(f"DROP FUNCTION {signature}")
    with op.batch_alter_table("invitations") as batch_op:
        batch_op.drop_column("reminded_at")
    op.drop_index("uq_join_requests_open_team_user", table_name="join_requests")
    op.drop_index("ix_join_requests_user_id", table_name="join_requests")
    op.drop_index("ix_join_requests_team_id_status_id", table_name="join_requests")
    op.drop_table("join_requests")
    op.drop_index("ix_join_links_team_id_id", table_name="join_links")
    op.drop_table("join_links")
