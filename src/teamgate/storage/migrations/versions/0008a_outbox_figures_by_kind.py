"""outbox figures by kind: email and webhook apart

/metrics reports the outbox's depth, the age of its oldest waiting message and its failures
(migration 0004). Since 0008 the outbox also holds webhook deliveries, which were counted as
email; on PostgreSQL the figures cross teams, so they come from a definer function, and only a
new function can tell the two kinds apart: it returns one row per kind (`email` for every
email kind, `webhook`). Its return type changes, so it is dropped and made again under the same
name; `teamgate migrate` grants EXECUTE on it again. Nothing changes on SQLite.

Revision ID: 0008a
Revises: 0008
"""

from alembic import op

revision = "0008a"
down_revision = "0008"
branch_labels = None
depends_on = None

SIGNATURE = "teamgate_outbox_figures()"
WAITING = "status IN ('queued', 'sending')"
OLD = ("TABLE(waiting bigint, oldest timestamptz, failed bigint)",
       f"SELECT count(*) FILTER (WHERE {WAITING}), min(created_at) FILTER (WHERE {WAITING}), "
       "count(*) FILTER (WHERE status = 'failed') FROM public.outbox_messages")
BY_KIND = ("TABLE(kind text, waiting bigint, oldest timestamptz, failed bigint)",
           "SELECT CASE WHEN o.kind = 'webhook' THEN 'webhook' ELSE 'email' END, "
           f"count(*) FILTER (WHERE {WAITING}), min(created_at) FILTER (WHERE {WAITING}), "
           "count(*) FILTER (WHERE status = 'failed') FROM public.outbox_messages o GROUP BY 1")


def _replace(returns: str, body: str) -> None:
    op.execute(f"DROP FUNCTION {SIGNATURE}")
    op.execute(f"CREATE FUNCTION {SIGNATURE} RETURNS {returns} LANGUAGE sql STABLE SECURITY DEFINER "
               f"SET search_path = pg_catalog, pg_temp AS $fn$ {body} $fn$")
    op.execute(f"REVOKE ALL ON FUNCTION {SIGNATURE} FROM PUBLIC")


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _replace(*BY_KIND)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _replace(*OLD)
