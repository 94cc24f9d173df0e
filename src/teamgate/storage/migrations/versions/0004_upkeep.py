"""upkeep: overdue invitations, purging, outbox figures

The dispatcher's periodic job marks overdue pending invitations expired and purges erased
outbox rows and ended sessions; /metrics reports the outbox's depth. Those steps cross teams,
so on PostgreSQL they go through SECURITY DEFINER functions (like those of 0003) that return
or change only what the step needs.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

# name -> (arguments, returns, body); each SECURITY DEFINER with search_path pinned
DEFINERS = {
    # ids of overdue pending invitations, locked (skipping those another job holds) until the
    # caller's transaction ends; the caller expires each within its own team's scope
    "teamgate_overdue_invitations": (
        "p_now timestamptz, p_limit integer", "TABLE(id text, team_id text)",
        "SELECT id, team_id FROM public.invitations WHERE status = 'pending' AND expires_at <= p_now "
        "ORDER BY expires_at LIMIT p_limit FOR UPDATE SKIP LOCKED"),
    "teamgate_purge": (
        "p_outbox_before timestamptz, p_sessions_before timestamptz", "TABLE(outbox bigint, sessions bigint)",
        """WITH o AS (DELETE FROM public.outbox_messages
                      WHERE status IN ('sent', 'cancelled') AND body IS NULL AND created_at < p_outbox_before
                      RETURNING 1),
                s AS (DELETE FROM public.sessions WHERE expires_at < p_sessions_before RETURNING 1)
           SELECT (SELECT count(*) FROM o), (SELECT count(*) FROM s)"""),
    "teamgate_outbox_figures": (
        "", "TABLE(waiting bigint, oldest timestamptz, failed bigint)",
        "SELECT count(*) FILTER (WHERE status IN ('queued', 'sending')), "
        "min(created_at) FILTER (WHERE status IN ('queued', 'sending')), "
        "count(*) FILTER (WHERE status = 'failed') FROM public.outbox_messages"),
}


def signature(name: str) -> str:
    args = DEFINERS[name][0]
    return f"{name}({', '.join(a.split()[1] for a in args.split(', ')) if args else ''})"


def upgrade() -> None:
    with op.batch_alter_table("invitations") as batch_op:
        batch_op.create_index("ix_invitations_pending_expires_at", ["expires_at"], unique=False,
                              postgresql_where=sa.text("status = 'pending'"),
                              sqlite_where=sa.text("status = 'pending'"))
    if op.get_bind().dialect.name != "postgresql":
        return
    for name, (args, returns, body) in DEFINERS.items():
        volatility = "STABLE" if body.lstrip().startswith("SELECT count") else "VOLATILE"
        op.execute(f"CREATE FUNCTION {name}({args}) RETURNS {returns} LANGUAGE sql {volatility} SECURITY DEFINER "
                   f"SET search_path = pg_catalog, pg_temp AS $fn$ {body} $fn$")
        op.execute(f"REVOKE ALL ON FUNCTION {signature(name)} FROM PUBLIC")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for name in DEFINERS:
            op.execute(f"DROP FUNCTION {signature(name)}")
    with op.batch_alter_table("invitations") as batch_op:
        batch_op.drop_index("ix_invitations_pending_expires_at")
