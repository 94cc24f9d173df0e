"""account mail: outbox rows that belong to no team

Password-reset and verification emails go to a person, not a team, so their outbox rows have no
team_id (and no invitation); the outbox's only policy (`team_rows`, team_id = the current team)
could neither insert nor update them. These policies let them through without showing them to
any team: they may be written from any transaction (a team-scoped one too: an invitation's
accept sends a verification link), but read and updated only by a transaction that acts for no
team (the request that wrote them, the dispatcher recording a delivery). What such a row holds
is a recipient and a subject; the body, the only part with the link, is sealed with the secret key.

Revision ID: 0006
Revises: 0005
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

ACCOUNT_MAIL = "team_id IS NULL AND invitation_id IS NULL"
OUT_OF_TEAMS = f"{ACCOUNT_MAIL} AND teamgate_team() IS NULL"
POLICIES = {
    "account_mail_insert": f"FOR INSERT WITH CHECK ({ACCOUNT_MAIL})",
    "account_mail_select": f"FOR SELECT USING ({OUT_OF_TEAMS})",
    "account_mail_update": f"FOR UPDATE USING ({OUT_OF_TEAMS}) WITH CHECK ({ACCOUNT_MAIL})",
}


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for name, clause in POLICIES.items():
        op.execute(f"CREATE POLICY {name} ON outbox_messages {clause}")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for name in POLICIES:
            op.execute(f"DROP POLICY {name} ON outbox_messages")
