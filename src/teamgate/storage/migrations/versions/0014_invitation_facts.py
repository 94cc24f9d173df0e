"""invitation facts: everything a token's use needs, in one round trip (issue 17, phase 2)

`teamgate_invitation_facts(hash, lock)` is the whole read of validate, accept and decline. For
the invitation behind a mail or link token it returns, in one row:

- the invitation, its team, the API key that sent it and the sender's membership, as whole rows
  of their tables' types (the caller names the columns it maps, so a column added later needs no
  new function), the same rows the service would read under the team's walls;
- the account holding the invited address, if any: its id and whether its address was proven
  (what accept and validate decide on; the rest of the account stays behind its own wall);

and it scopes the caller's transaction to the invitation's team (`set_config(..., true)`), so the
statements after it write within that team's walls. With `lock` (accept, decline) the invitation
row is locked first, so of concurrent uses of one token the later ones wait and then read it
closed. PL/pgSQL, not SQL like the older lookups: it must lock or not on an argument and set the
scope only when it found something, and its plans are kept for the connection.

Revision ID: 0014
Revises: 0013
"""

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

SIGNATURE = "teamgate_invitation_facts(bytea, boolean)"
# ROWS 1: one row or none (as in 0013: the default estimate of 1,000 turned JIT on for every call)
# the two reads differ only in the lock; written once each so each keeps its own cached plan
FIND = ("SELECT i.id, i.team_id INTO v_id, v_team FROM public.invitations i "
        "WHERE i.token_hash = p_hash OR i.link_token_hash = p_hash")
FUNCTION = f"""
CREATE FUNCTION teamgate_invitation_facts(p_hash bytea, p_lock boolean)
RETURNS TABLE(invitation public.invitations, team public.teams, api_key public.api_keys,
              membership public.memberships, account_id text, account_verified boolean)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER ROWS 1 SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    v_id text;
    v_team text;
BEGIN
    IF p_lock THEN
        {FIND} FOR UPDATE OF i;
    ELSE
        {FIND};
    END IF;
    IF v_id IS NULL THEN
        RETURN;
    END IF;
    PERFORM set_config('teamgate.team_id', v_team, true);
    RETURN QUERY
        SELECT i, t, k, m, u.id::text, u.email_verified_at IS NOT NULL
          FROM public.invitations i
          JOIN public.teams t ON t.id = i.team_id
          LEFT JOIN public.api_keys k ON k.id = i.invited_by_api_key_id
          LEFT JOIN public.memberships m ON m.team_id = i.team_id AND m.user_id = i.invited_by_user_id
          LEFT JOIN public.users u ON u.email_normalized = i.email_normalized
         WHERE i.id = v_id;
END
$fn$
"""


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(FUNCTION)
    op.execute(f"REVOKE ALL ON FUNCTION {SIGNATURE} FROM PUBLIC")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP FUNCTION {SIGNATURE}")
