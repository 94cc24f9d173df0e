"""Row-level security: the second wall between teams (PostgreSQL only)

Every team-scoped table shows and accepts only the rows of the transaction's team
(`teamgate.team_id`); users and sessions only the transaction's user (`teamgate.user_id`), plus
the teammates of the current team. FORCE applies the policies to the tables' owner as well.
Lookups that must cross teams go through SECURITY DEFINER functions with a pinned search_path
that return only what their step needs; EXECUTE on them is granted by `teamgate migrate`.

Revision ID: 0003
Revises: 0002
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TEAM_TABLES = ["memberships", "tasks", "task_assignments", "invitations", "api_keys", "audit_events",
               "outbox_messages"]
USER_TABLES = ["users", "sessions"]
RLS_TABLES = ["teams", *TEAM_TABLES, *USER_TABLES]

HELPERS = [
    "CREATE FUNCTION teamgate_team() RETURNS text LANGUAGE sql STABLE "
    "AS $$ SELECT nullif(current_setting('teamgate.team_id', true), '') $$",
    "CREATE FUNCTION teamgate_user() RETURNS text LANGUAGE sql STABLE "
    "AS $$ SELECT nullif(current_setting('teamgate.user_id', true), '') $$",
]

# (name, table, clause); every team-scoped table also gets `team_rows` on its team_id
POLICIES = [
    ("team_rows", "teams", "USING (id = teamgate_team()) WITH CHECK (id = teamgate_team())"),
    ("my_teams", "teams", "FOR SELECT USING (EXISTS (SELECT 1 FROM memberships m "
                          "WHERE m.team_id = teams.id AND m.user_id = teamgate_user()))"),
    ("my_memberships", "memberships", "FOR SELECT USING (user_id = teamgate_user())"),
    ("system_events", "audit_events", "FOR INSERT WITH CHECK (team_id IS NULL)"),
    ("me", "users", "USING (id = teamgate_user()) WITH CHECK (id = teamgate_user())"),
    ("teammates", "users", "FOR SELECT USING (EXISTS (SELECT 1 FROM memberships m "
                           "WHERE m.user_id = users.id AND m.team_id = teamgate_team()))"),
    ("my_sessions", "sessions", "USING (user_id = teamgate_user()) WITH CHECK (user_id = teamgate_user())"),
]

# name -> (arguments, returns, body). Each is SECURITY DEFINER with search_path pinned.
DEFINERS = {
    "teamgate_invitation_by_token": ("p_hash bytea", "TABLE(id text, team_id text)",
                                     "SELECT id, team_id FROM public.invitations WHERE token_hash = p_hash"),
    "teamgate_api_key_by_hash": ("p_hash bytea", "TABLE(id text, team_id text)",
                                 "SELECT id, team_id FROM public.api_keys WHERE secret_hash = p_hash "
                                 "AND revoked_at IS NULL"),
    "teamgate_session_by_hash": ("p_hash bytea, p_now timestamptz", "TABLE(id text, user_id text)",
                                 "SELECT id, user_id FROM public.sessions WHERE token_hash = p_hash "
                                 "AND expires_at > p_now"),
    "teamgate_user_by_email": ("p_email text", "TABLE(id text)",
                               "SELECT id FROM public.users WHERE email_normalized = p_email"),
    "teamgate_is_system_owner": ("p_user text", "boolean",
                                 "SELECT coalesce((SELECT is_system_owner FROM public.users WHERE id = p_user), false)"),
    "teamgate_user_count": ("", "bigint", "SELECT count(*) FROM public.users"),
    "teamgate_outbox_claim": (
        "p_now timestamptz, p_limit integer, p_claim text, p_lease_until timestamptz",
        "TABLE(id text, team_id text, invitation_id text, attempts integer, recipient text, subject text, body bytea)",
        """WITH due AS (
               SELECT id FROM public.outbox_messages
               WHERE status IN ('queued', 'sending') AND next_attempt_at <= p_now
               ORDER BY next_attempt_at LIMIT p_limit FOR UPDATE SKIP LOCKED)
           UPDATE public.outbox_messages o
              SET status = 'sending', claim_id = p_claim, attempts = o.attempts + 1, next_attempt_at = p_lease_until
             FROM due WHERE o.id = due.id
           RETURNING o.id, o.team_id, o.invitation_id, o.attempts, o.recipient, o.subject, o.body"""),
}


def signature(name: str) -> str:
    args = DEFINERS[name][0]
    return f"{name}({', '.join(a.split()[1] for a in args.split(', ')) if args else ''})"


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for statement in HELPERS:
        op.execute(statement)
    for table in RLS_TABLES:
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
    for table in TEAM_TABLES:
        op.execute(f"CREATE POLICY team_rows ON {table} USING (team_id = teamgate_team()) "
                   f"WITH CHECK (team_id = teamgate_team())")
    for name, table, clause in POLICIES:
        op.execute(f"CREATE POLICY {name} ON {table} {clause}")
    for name, (args, returns, body) in DEFINERS.items():
        volatility = "VOLATILE" if "UPDATE" in body else "STABLE"
        op.execute(f"CREATE FUNCTION {name}({args}) RETURNS {returns} LANGUAGE sql {volatility} SECURITY DEFINER "
                   f"SET search_path = pg_catalog, pg_temp AS $fn$ {body} $fn$")
        op.execute(f"REVOKE ALL ON FUNCTION {signature(name)} FROM PUBLIC")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for name in DEFINERS:
        op.execute(f"DROP FUNCTION {signature(name)}")
    for name, table, _ in POLICIES:
        op.execute(f"DROP POLICY {name} ON {table}")
    for table in TEAM_TABLES:
        op.execute(f"DROP POLICY team_rows ON {table}")
    for table in RLS_TABLES:
        op.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
    op.execute("DROP FUNCTION teamgate_team()")
    op.execute("DROP FUNCTION teamgate_user()")
