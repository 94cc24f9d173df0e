"""whole-row lookups for the API key, the session, the server key and its person (issue 17, phase 2)

Every authenticated request began with a definer lookup that found an id and set the scope, then
read the rows it found under row-level security in a statement of its own (a setting made by
`set_config` inside a statement is not reliably seen by that statement's own row policies). These
functions return the rows themselves, so the request's first statement is its last lookup; the
scope is set inside the function, for the request's later statements, and only when something
was found. They look up only by a secret's hash (or an exact external id) and return only the
rows the caller would read next under its new scope anyway:

- `teamgate_api_key_facts(hash)`: the live key and its team; scope `teamgate.team_id`.
- `teamgate_session_facts(hash, now)`: the live session and its user; scope `teamgate.user_id`.
  The account is held (FOR SHARE) before the session is read, in a statement of its own inside the
  function: an account takeover (which holds it exclusively, then deletes the sessions) either
  waits for the request to end, or ends first, and then the session read, which takes a fresh
  snapshot (the function is VOLATILE), finds its session gone. The same lock order as before, so
  the two cannot deadlock. `now` is clamped by the database's clock as in 0007.
- `teamgate_server_key_facts(hash)`: the live server key; scope `teamgate.server_key_id`.
- `teamgate_user_facts_by_external_id(external_id)`: the person a server key acts for (DESIGN 12),
  by the exact id the product knows them by; scope `teamgate.user_id`. (Before, the id from
  `teamgate_user_by_external_id`, then the scope, then the row: three statements.)

They return the tables' row types, so a column added to one of these tables later is returned
without changing them. PL/pgSQL, so the scope is set only after a row was found (a condition in
one SQL statement has no order the planner must keep). EXECUTE is granted by `teamgate migrate`.

Revision ID: 0013
Revises: 0012
"""

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

DEFINERS = {
    "teamgate_api_key_facts(bytea)": (
        "p_hash bytea", "TABLE(api_key public.api_keys, team public.teams)",
        """BEGIN
    SELECT * INTO api_key FROM public.api_keys WHERE secret_hash = p_hash AND revoked_at IS NULL;
    IF FOUND THEN
        SELECT * INTO team FROM public.teams WHERE id = api_key.team_id;
        PERFORM set_config('teamgate.team_id', api_key.team_id, true);
        RETURN NEXT;
    END IF;
END"""),
    "teamgate_session_facts(bytea, timestamptz)": (
        "p_hash bytea, p_now timestamptz", "TABLE(found_session public.sessions, account public.users)",
        """BEGIN
    PERFORM 1 FROM public.users u
      WHERE u.id = (SELECT s.user_id FROM public.sessions s WHERE s.token_hash = p_hash) FOR SHARE;
    SELECT * INTO found_session FROM public.sessions
     WHERE token_hash = p_hash AND expires_at > greatest(p_now, now());
    IF FOUND THEN
        SELECT * INTO account FROM public.users WHERE id = found_session.user_id;  -- held above: still there
        PERFORM set_config('teamgate.user_id', found_session.user_id, true);
        RETURN NEXT;
    END IF;
END"""),
    "teamgate_server_key_facts(bytea)": (
        "p_hash bytea", "SETOF public.server_keys",
        """DECLARE
    found_key public.server_keys;
BEGIN
    SELECT * INTO found_key FROM public.server_keys WHERE secret_hash = p_hash AND revoked_at IS NULL;
    IF FOUND THEN
        PERFORM set_config('teamgate.server_key_id', found_key.id, true);
        RETURN NEXT found_key;
    END IF;
END"""),
    "teamgate_user_facts_by_external_id(text)": (
        "p_external_id text", "SETOF public.users",
        """DECLARE
    found_user public.users;
BEGIN
    SELECT * INTO found_user FROM public.users WHERE external_id = p_external_id;
    IF FOUND THEN
        PERFORM set_config('teamgate.user_id', found_user.id, true);
        RETURN NEXT found_user;
    END IF;
END"""),
}


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for signature, (args, returns, body) in DEFINERS.items():
        name = signature.split("(")[0]
        # ROWS 1: each finds one row or none. The default estimate (1,000 rows) made the statement
        # that unpacks the rows look like a cross join of billions, and PostgreSQL compiled it with
        # JIT on every call: 200 ms where it takes a tenth of a millisecond
        op.execute(f"CREATE FUNCTION {name}({args}) RETURNS {returns} LANGUAGE plpgsql VOLATILE SECURITY DEFINER "
                   f"ROWS 1 SET search_path = pg_catalog, pg_temp AS $fn$ {body} $fn$")
        op.execute(f"REVOKE ALL ON FUNCTION {signature} FROM PUBLIC")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for signature in DEFINERS:
        op.execute(f"DROP FUNCTION {signature}")
