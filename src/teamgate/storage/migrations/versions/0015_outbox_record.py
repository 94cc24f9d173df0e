"""the dispatcher records a batch's sent emails, and its delivered webhooks, across teams in one statement each

`teamgate_outbox_record(claim, ids, now)` is what the dispatcher did per team within each team's
walls (repositories/outbox.py `finish_many` then `mirror_sent`), for a whole batch at once: the
emails among `ids` that this claim still holds (`sending` under `claim`: a claim id is a fresh
128-bit secret of the dispatcher that took them) become `sent` with their bodies erased, and their
invitations show them sent with the message's attempts. Webhook deliveries are not touched (they
keep the response columns of their own record), nor any row another claim holds or that is no
longer `sending`. It returns the rows it recorded, so events are emitted only for those, with
one fact per row to spare a read per team: the `events` lists of the team's enabled webhook
endpoints (NULL when it has none), from which the caller decides (domain/webhooks.wants) whether
an `invitation.delivered` is wanted; the event itself is then queued within the team's walls, in
the same transaction. Like the claim it acts for no team: it is the one step that crosses them.

`teamgate_outbox_record_delivered(claim, ids, statuses, excerpts, now)` does the same for the
webhook deliveries a batch delivered (one answer each: the receiver's status and the start of its
body, kept as the per-team record kept them), and returns, with each delivery recorded, its
endpoint's `failing_since`: the caller clears a streak (domain/webhooks) only where there is one,
within that team's walls.

Revision ID: 0015
Revises: 0014
"""

from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

SIGNATURE = "teamgate_outbox_record(text, text[], timestamptz)"
DELIVERED_SIGNATURE = "teamgate_outbox_record_delivered(text, text[], integer[], text[], timestamptz)"
EXCERPT = 200  # outbox_messages.last_response_excerpt's width
RECORD = """CREATE FUNCTION teamgate_outbox_record(p_claim text, p_ids text[], p_now timestamptz)
    RETURNS TABLE(id text, team_id text, invitation_id text, endpoint_events jsonb)
    LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
    WITH done AS (
           UPDATE public.outbox_messages o
              SET status = 'sent', sent_at = p_now, body = NULL, last_error = NULL, last_error_code = NULL
            WHERE o.id = ANY(p_ids) AND o.claim_id = p_claim AND o.status = 'sending' AND o.kind <> 'webhook'
           RETURNING o.id, o.team_id, o.invitation_id, o.attempts),
         -- max: two messages of one invitation may be in one batch (a resend while the first was in hand)
         latest AS (
           SELECT d.invitation_id, d.team_id, max(d.attempts) AS attempts FROM done d
            WHERE d.invitation_id IS NOT NULL GROUP BY d.invitation_id, d.team_id),
         mirrored AS (
           UPDATE public.invitations i
              SET delivery_status = 'sent', delivery_attempts = l.attempts, delivery_last_error = NULL,
                  delivery_last_error_code = NULL, delivery_sent_at = p_now
             FROM latest l WHERE i.id = l.invitation_id AND i.team_id = l.team_id
           RETURNING i.id)
    SELECT d.id, d.team_id, d.invitation_id,
           (SELECT jsonb_agg(e.events::jsonb) FROM public.webhook_endpoints e
             WHERE e.team_id = d.team_id AND e.disabled_at IS NULL)
      FROM done d $fn$"""

DELIVERED = f"""CREATE FUNCTION teamgate_outbox_record_delivered(p_claim text, p_ids text[], p_statuses integer[],
                                                          p_excerpts text[], p_now timestamptz)
    RETURNS TABLE(id text, team_id text, endpoint_id text, failing_since timestamptz)
    LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
    WITH answered AS (SELECT * FROM unnest(p_ids, p_statuses, p_excerpts) AS a(id, status, excerpt)),
         done AS (
           UPDATE public.outbox_messages o
              SET status = 'sent', sent_at = p_now, body = NULL, last_error = NULL, last_error_code = NULL,
                  last_response_status = a.status, last_response_excerpt = left(a.excerpt, {EXCERPT})
             FROM answered a
            WHERE o.id = a.id AND o.claim_id = p_claim AND o.status = 'sending' AND o.kind = 'webhook'
           RETURNING o.id, o.team_id, o.webhook_endpoint_id)
    SELECT d.id, d.team_id, d.webhook_endpoint_id, e.failing_since
      FROM done d LEFT JOIN public.webhook_endpoints e ON e.id = d.webhook_endpoint_id $fn$"""


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return  # SQLite has no walls to cross: the repository records with ordinary statements
    for made, signature in ((RECORD, SIGNATURE), (DELIVERED, DELIVERED_SIGNATURE)):
        op.execute(made)
        op.execute(f"REVOKE ALL ON FUNCTION {signature} FROM PUBLIC")  # `teamgate migrate` grants it to the service


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for signature in (SIGNATURE, DELIVERED_SIGNATURE):
            op.execute(f"DROP FUNCTION {signature}")
