"""webhooks: endpoints, and outbox messages of kind `webhook` (DESIGN section 11)

An endpoint belongs to a team and holds its signing secret sealed (the outbox cipher), with the
previous secret beside it until its overlap ends. A webhook delivery is an outbox message: the
same claim, lease, retry and purge as email, so one dispatcher loop sends both. For a webhook
message `recipient` is the endpoint's id and `subject` the event type; the new columns say which
endpoint (deleting it deletes its deliveries), the event id (the `webhook-id` header, the same on
every retry) and the last HTTP status the receiver answered.

On PostgreSQL `webhook_endpoints` is walled like every team table, and the claim function also
returns each message's kind and event id. Its return type changes, so it is dropped and made
again, with the clamps of 0007 kept; `teamgate migrate` grants EXECUTE on it again.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

CLAIM_MAX = 100
CLAIM_LEASE_MAX = "1 hour"
CLAIM_SKEW_MAX = "1 day"
CLAIM_ARGS = "p_now timestamptz, p_limit integer, p_claim text, p_lease_until timestamptz"
CLAIM_SIGNATURE = "teamgate_outbox_claim(timestamptz, integer, text, timestamptz)"
COLUMNS = ("o.id, o.team_id, o.invitation_id, o.attempts, o.recipient, o.subject, o.body")
RETURNS = "TABLE(id text, team_id text, invitation_id text, attempts integer, recipient text, subject text, body bytea"


def _claim(returns: str, returning: str) -> str:
    limit = f"least(greatest(coalesce(p_limit, 0), 0), {CLAIM_MAX})"
    return f"""CREATE FUNCTION teamgate_outbox_claim({CLAIM_ARGS}) RETURNS {returns} LANGUAGE sql VOLATILE
        SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
        WITH due AS (
               SELECT id FROM public.outbox_messages
               WHERE (status = 'queued' AND next_attempt_at <= least(p_now, now() + interval '{CLAIM_SKEW_MAX}'))
                  OR (status = 'sending' AND next_attempt_at <= least(p_now, now()))
               ORDER BY next_attempt_at LIMIT {limit} FOR UPDATE SKIP LOCKED)
           UPDATE public.outbox_messages o
              SET status = 'sending', claim_id = p_claim, attempts = o.attempts + 1,
                  next_attempt_at = least(coalesce(p_lease_until, now()), now() + interval '{CLAIM_LEASE_MAX}')
             FROM due WHERE o.id = due.id
           RETURNING {returning} $fn$"""


def _replace_claim(returns: str, returning: str) -> None:
    op.execute(f"DROP FUNCTION {CLAIM_SIGNATURE}")
    op.execute(_claim(returns, returning))
    op.execute(f"REVOKE ALL ON FUNCTION {CLAIM_SIGNATURE} FROM PUBLIC")


def upgrade() -> None:
    op.create_table(
        "webhook_endpoints",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("team_id", sa.String(40), nullable=False),
        sa.Column("url", sa.String(2048), nullable=False),
        sa.Column("description", sa.String(500), nullable=False),
        sa.Column("events", sa.JSON(), nullable=False),
        sa.Column("secret", sa.LargeBinary(), nullable=False),
        sa.Column("previous_secret", sa.LargeBinary(), nullable=True),
        sa.Column("previous_secret_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("failing_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["team_id"], ["teams.id"], name="fk_webhook_endpoints_team_id_teams",
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_webhook_endpoints"),
    )
    op.create_index("ix_webhook_endpoints_team_id_id", "webhook_endpoints", ["team_id", "id"])
    with op.batch_alter_table("outbox_messages") as batch_op:
        batch_op.add_column(sa.Column("webhook_endpoint_id", sa.String(40), nullable=True))
        batch_op.add_column(sa.Column("event_id", sa.String(40), nullable=True))
        batch_op.add_column(sa.Column("last_response_status", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("last_response_excerpt", sa.String(200), nullable=True))
        batch_op.create_foreign_key("fk_outbox_messages_webhook_endpoint_id_webhook_endpoints", "webhook_endpoints",
                                    ["webhook_endpoint_id"], ["id"], ondelete="CASCADE")
        batch_op.create_index("ix_outbox_messages_webhook_endpoint_id_id", ["webhook_endpoint_id", "id"])
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("ALTER TABLE webhook_endpoints ENABLE ROW LEVEL SECURITY")
    op.execute("ALTER TABLE webhook_endpoints FORCE ROW LEVEL SECURITY")
    op.execute("CREATE POLICY team_rows ON webhook_endpoints USING (team_id = teamgate_team()) "
               "WITH CHECK (team_id = teamgate_team())")
    _replace_claim(RETURNS + ", kind text, event_id text)", COLUMNS + ", o.kind, o.event_id")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _replace_claim(RETURNS + ")", COLUMNS)
    op.execute("DELETE FROM outbox_messages WHERE webhook_endpoint_id IS NOT NULL")
    with op.batch_alter_table("outbox_messages") as batch_op:
        batch_op.drop_index("ix_outbox_messages_webhook_endpoint_id_id")
        batch_op.drop_constraint("fk_outbox_messages_webhook_endpoint_id_webhook_endpoints", type_="foreignkey")
        batch_op.drop_column("last_response_excerpt")
        batch_op.drop_column("last_response_status")
        batch_op.drop_column("event_id")
        batch_op.drop_column("webhook_endpoint_id")
    op.drop_index("ix_webhook_endpoints_team_id_id", table_name="webhook_endpoints")
    op.drop_table("webhook_endpoints")
