"""account mail: outbox rows that belong to no team

Password-reset and verification emails go to a person, not a team, so their outbox rows have no
team_id; the outbox's only policy (`team_rows`, team_id = the current team) could neither insert
nor update them. This policy lets them through. What it shows a transaction is a recipient and a
subject: the body, the only part with the link, is sealed with the secret key.

Revision ID: 0006
Revises: 0005
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("CREATE POLICY account_mail ON outbox_messages USING (team_id IS NULL AND invitation_id IS NULL) "
               "WITH CHECK (team_id IS NULL AND invitation_id IS NULL)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP POLICY account_mail ON outbox_messages")
