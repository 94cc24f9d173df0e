"""narrower service role: clamped definer arguments, no self-made system owners, delivery reasons

1. Delivery errors become a reason code beside a fixed sentence (email/failures.py); the raw
   exception texts stored so far (mail server host and port, file paths) are replaced.
2. On PostgreSQL, the SECURITY DEFINER functions clamp their arguments inside the function, so
   a caller that can run any SQL as the service role (an injection, a compromised host) cannot
   widen them: the purge never reaches a live session or a recent delivery record, a claim takes a
   bounded batch under a bounded lease, the overdue list holds only what is overdue now, and an
   old `now` does not revive an ended session or a used-up account link. The database's own clock
   decides; the caller's may only make a function stricter (the claim tolerates a day of skew
   for queued messages, because the tests drive the dispatcher with a moved clock, but a message
   another dispatcher holds is taken back only once its lease has run out by the database's clock).
3. A trigger refuses to make a system owner unless the caller is the owner/migration role (the
   CLI) or no user exists yet (the one-time setup link). The UPDATE grant on `users` is narrowed
   to the columns the service writes by `teamgate migrate` (storage/roles.py), where the service
   role is known.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

CLAIM_MAX = 100  # the dispatcher asks for 20
CLAIM_LEASE_MAX = "1 hour"  # the dispatcher asks for 10 minutes
CLAIM_SKEW_MAX = "1 day"  # how far the caller's clock may run ahead of the database's
OVERDUE_MAX = 1000  # the upkeep asks for 500
OUTBOX_KEEP_MIN = "1 day"  # TEAMGATE_RETENTION_DAYS is at least this in practice

UNKNOWN = "The email could not be sent; the server log has the details."

DEFINER = ("CREATE OR REPLACE FUNCTION {name}({args}) RETURNS {returns} LANGUAGE sql {volatility} SECURITY DEFINER "
           "SET search_path = pg_catalog, pg_temp AS $fn$ {body} $fn$")


def _limit(argument: str, most: int) -> str:
    """A NULL limit would mean no limit, and a negative one an error: both become a count in 0..most."""
    return f"least(greatest(coalesce({argument}, 0), 0), {most})"


CLAMPED = {
    "teamgate_outbox_claim": (
        "p_now timestamptz, p_limit integer, p_claim text, p_lease_until timestamptz",
        "TABLE(id text, team_id text, invitation_id text, attempts integer, recipient text, subject text, body bytea)",
        "VOLATILE",
        f"""WITH due AS (
               SELECT id FROM public.outbox_messages
               WHERE (status = 'queued' AND next_attempt_at <= least(p_now, now() + interval '{CLAIM_SKEW_MAX}'))
                  OR (status = 'sending' AND next_attempt_at <= least(p_now, now()))
               ORDER BY next_attempt_at LIMIT {_limit('p_limit', CLAIM_MAX)} FOR UPDATE SKIP LOCKED)
           UPDATE public.outbox_messages o
              SET status = 'sending', claim_id = p_claim, attempts = o.attempts + 1,
                  next_attempt_at = least(coalesce(p_lease_until, now()), now() + interval '{CLAIM_LEASE_MAX}')
             FROM due WHERE o.id = due.id
           RETURNING o.id, o.team_id, o.invitation_id, o.attempts, o.recipient, o.subject, o.body"""),
    "teamgate_overdue_invitations": (
        "p_now timestamptz, p_limit integer", "TABLE(id text, team_id text)", "VOLATILE",
        ("SELECT id, team_id FROM public.invitations WHERE status = 'pending' AND expires_at <= least(p_now, now()) "
         f"ORDER BY expires_at LIMIT {_limit('p_limit', OVERDUE_MAX)} FOR UPDATE SKIP LOCKED")),
    "teamgate_purge": (
        "p_outbox_before timestamptz, p_sessions_before timestamptz", "TABLE(outbox bigint, sessions bigint)",
        "VOLATILE",
        f"""WITH o AS (DELETE FROM public.outbox_messages
                      WHERE status IN ('sent', 'cancelled') AND body IS NULL
                        AND created_at < least(p_outbox_before, now() - interval '{OUTBOX_KEEP_MIN}')
                      RETURNING 1),
                s AS (DELETE FROM public.sessions WHERE expires_at < least(p_sessions_before, now()) RETURNING 1)
           SELECT (SELECT count(*) FROM o), (SELECT count(*) FROM s)"""),
    "teamgate_session_by_hash": (
        "p_hash bytea, p_now timestamptz", "TABLE(id text, user_id text)", "STABLE",
        "SELECT id, user_id FROM public.sessions WHERE token_hash = p_hash AND expires_at > greatest(p_now, now())"),
    "teamgate_account_token_by_hash": (
        "p_hash bytea, p_now timestamptz", "TABLE(id text, user_id text)", "STABLE",
        ("SELECT id, user_id FROM public.account_tokens WHERE token_hash = p_hash AND used_at IS NULL "
         "AND expires_at > greatest(p_now, now())")),
}

# the bodies of 0003, 0004 and 0005, for downgrade
PREVIOUS = {
    "teamgate_outbox_claim": """WITH due AS (
               SELECT id FROM public.outbox_messages
               WHERE status IN ('queued', 'sending') AND next_attempt_at <= p_now
               ORDER BY next_attempt_at LIMIT p_limit FOR UPDATE SKIP LOCKED)
           UPDATE public.outbox_messages o
              SET status = 'sending', claim_id = p_claim, attempts = o.attempts + 1, next_attempt_at = p_lease_until
             FROM due WHERE o.id = due.id
           RETURNING o.id, o.team_id, o.invitation_id, o.attempts, o.recipient, o.subject, o.body""",
    "teamgate_overdue_invitations":
        "SELECT id, team_id FROM public.invitations WHERE status = 'pending' AND expires_at <= p_now "
        "ORDER BY expires_at LIMIT p_limit FOR UPDATE SKIP LOCKED",
    "teamgate_purge": """WITH o AS (DELETE FROM public.outbox_messages
                      WHERE status IN ('sent', 'cancelled') AND body IS NULL AND created_at < p_outbox_before
                      RETURNING 1),
                s AS (DELETE FROM public.sessions WHERE expires_at < p_sessions_before RETURNING 1)
           SELECT (SELECT count(*) FROM o), (SELECT count(*) FROM s)""",
    "teamgate_session_by_hash":
        "SELECT id, user_id FROM public.sessions WHERE token_hash = p_hash AND expires_at > p_now",
    "teamgate_account_token_by_hash":
        "SELECT id, user_id FROM public.account_tokens WHERE token_hash = p_hash AND used_at IS NULL "
        "AND expires_at > p_now",
}

# Invoker rights on purpose: current_user is whoever writes the row. The owner (BYPASSRLS, the
# CLI's role) may make system owners; anyone else only the first user (the setup link).
GUARD = """CREATE FUNCTION teamgate_guard_system_owner() RETURNS trigger LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
    IF NEW.is_system_owner AND (TG_OP = 'INSERT' OR NOT OLD.is_system_owner)
       AND NOT (SELECT rolsuper OR rolbypassrls FROM pg_catalog.pg_roles WHERE rolname = current_user) THEN
        IF TG_OP = 'UPDATE' OR public.teamgate_user_count() > 0 THEN
            RAISE EXCEPTION 'only an operator (teamgate users create --system-owner) can make a system owner'
                USING ERRCODE = 'insufficient_privilege';
        END IF;
    END IF;
    RETURN NEW;
END $fn$"""


def upgrade() -> None:
    with op.batch_alter_table("invitations") as batch_op:
        batch_op.add_column(sa.Column("delivery_last_error_code", sa.String(32), nullable=True))
    with op.batch_alter_table("outbox_messages") as batch_op:
        batch_op.add_column(sa.Column("last_error_code", sa.String(32), nullable=True))
    # what was stored so far is raw exception text: replace it, it may name the mail server
    op.execute(sa.text("UPDATE invitations SET delivery_last_error = :m, delivery_last_error_code = 'unknown' "
                       "WHERE delivery_last_error IS NOT NULL").bindparams(m=UNKNOWN))
    op.execute(sa.text("UPDATE outbox_messages SET last_error = :m, last_error_code = 'unknown' "
                       "WHERE last_error IS NOT NULL").bindparams(m=UNKNOWN))
    if op.get_bind().dialect.name != "postgresql":
        return
    for name, (args, returns, volatility, body) in CLAMPED.items():
        op.execute(DEFINER.format(name=name, args=args, returns=returns, volatility=volatility, body=body))
    op.execute(GUARD)
    op.execute("REVOKE ALL ON FUNCTION teamgate_guard_system_owner() FROM PUBLIC")
    op.execute("CREATE TRIGGER guard_system_owner BEFORE INSERT OR UPDATE OF is_system_owner ON users "
               "FOR EACH ROW EXECUTE FUNCTION teamgate_guard_system_owner()")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER guard_system_owner ON users")
        op.execute("DROP FUNCTION teamgate_guard_system_owner()")
        for name, (args, returns, volatility, _) in CLAMPED.items():
            op.execute(DEFINER.format(name=name, args=args, returns=returns, volatility=volatility,
                                      body=PREVIOUS[name]))
    with op.batch_alter_table("outbox_messages") as batch_op:
        batch_op.drop_column("last_error_code")
    with op.batch_alter_table("invitations") as batch_op:
        batch_op.drop_column("delivery_last_error_code")
