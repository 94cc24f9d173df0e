"""server keys and external identities (DESIGN section 12)

A product that signs its own people in talks to teamgate with a server key (`tgs_...`), made by
an operator and stored hashed, and names its people by their id in the product: `users.external_id`,
unique. An audit event made through a server key records the key beside the person it acted for.

On PostgreSQL `server_keys` belongs to no team and no user: a transaction sees only the key it
authenticated with (`teamgate.server_key_id`, set from the definer lookup by hash, as a session's
user is). The service role may read that row and move its `last_used_at`, nothing else (the
grants are narrowed by `teamgate migrate`, storage/roles.py): only an operator (the owner role,
through the CLI) makes or revokes server keys. The person behind an external id is found through a
definer function too, one id at a time, as an address is (`teamgate_user_by_email`).

Revision ID: 0009
Revises: 0008a
"""

import sqlalchemy as sa
from alembic import op

from teamgate.storage.types import UTCDateTime

revision = "0009"
down_revision = "0008a"
branch_labels = None
depends_on = None

HELPER = ("CREATE FUNCTION teamgate_server_key() RETURNS text LANGUAGE sql STABLE "
          "AS $$ SELECT nullif(current_setting('teamgate.server_key_id', true), '') $$")
DEFINERS = {
    "teamgate_server_key_by_hash(bytea)": (
        "p_hash bytea", "TABLE(id text)",
        "SELECT id FROM public.server_keys WHERE secret_hash = p_hash AND revoked_at IS NULL"),
    "teamgate_user_by_external_id(text)": (
        "p_external_id text", "TABLE(id text)",
        "SELECT id FROM public.users WHERE external_id = p_external_id"),
}


def upgrade() -> None:
    op.create_table(
        "server_keys",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("prefix", sa.String(16), nullable=False),
        sa.Column("secret_hash", sa.LargeBinary(32), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_server_keys"),
        sa.UniqueConstraint("secret_hash", name="uq_server_keys_secret_hash"),
    )
    with op.batch_alter_table("users") as batch_op:
        batch_op.add_column(sa.Column("external_id", sa.String(255), nullable=True))
        batch_op.create_unique_constraint("uq_users_external_id", ["external_id"])
    with op.batch_alter_table("audit_events") as batch_op:
        batch_op.add_column(sa.Column("actor_server_key_id", sa.String(40), nullable=True))
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(HELPER)
    op.execute("ALTER TABLE server_keys ENABLE ROW LEVEL SECURITY")
    op.execute("ALTER TABLE server_keys FORCE ROW LEVEL SECURITY")
    op.execute("CREATE POLICY this_key ON server_keys USING (id = teamgate_server_key()) "
               "WITH CHECK (id = teamgate_server_key())")
    for signature, (args, returns, body) in DEFINERS.items():
        name = signature.split("(")[0]
        op.execute(f"CREATE FUNCTION {name}({args}) RETURNS {returns} LANGUAGE sql STABLE SECURITY DEFINER "
                   f"SET search_path = pg_catalog, pg_temp AS $fn$ {body} $fn$")
        op.execute(f"REVOKE ALL ON FUNCTION {signature} FROM PUBLIC")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for signature in DEFINERS:
            op.execute(f"DROP FUNCTION {signature}")
        op.execute("DROP POLICY this_key ON server_keys")
    op.drop_table("server_keys")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION teamgate_server_key()")
    with op.batch_alter_table("audit_events") as batch_op:
        batch_op.drop_column("actor_server_key_id")
    with op.batch_alter_table("users") as batch_op:
        batch_op.drop_constraint("uq_users_external_id", type_="unique")
        batch_op.drop_column("external_id")
