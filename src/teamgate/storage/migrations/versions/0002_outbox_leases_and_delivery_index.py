"""outbox leases and delivery index

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21 17:33:32.998899
"""

import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('invitations', schema=None) as batch_op:
        batch_op.create_index('ix_invitations_team_id_delivery_status_id', ['team_id', 'delivery_status', 'id'], unique=False)

    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('claim_id', sa.String(length=32), nullable=True))
        batch_op.create_index('ix_outbox_messages_status_id', ['status', 'id'], unique=False)

    # claimed (`sending`) rows whose lease ran out are due again, so the due index covers both
    op.drop_index('ix_outbox_messages_due', table_name='outbox_messages')
    op.create_index('ix_outbox_messages_due', 'outbox_messages', ['next_attempt_at'], unique=False,
                    postgresql_where=sa.text("status IN ('queued', 'sending')"),
                    sqlite_where=sa.text("status IN ('queued', 'sending')"))


def downgrade() -> None:
    op.drop_index('ix_outbox_messages_due', table_name='outbox_messages')
    op.create_index('ix_outbox_messages_due', 'outbox_messages', ['next_attempt_at'], unique=False,
                    postgresql_where=sa.text("status = 'queued'"), sqlite_where=sa.text("status = 'queued'"))
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_messages_status_id')
        batch_op.drop_column('claim_id')

    with op.batch_alter_table('invitations', schema=None) as batch_op:
        batch_op.drop_index('ix_invitations_team_id_delivery_status_id')

