"""conversations.reply_lock_holder: the token of whoever holds the reply lease, so only they renew or
release it (a worker that stalled past its lease cannot renew or release the new holder's).

Revision ID: 0025
Revises: 0024
"""

import sqlalchemy as sa
from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("conversations") as batch:
        batch.add_column(sa.Column("reply_lock_holder", sa.String(32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("conversations") as batch:
        batch.drop_column("reply_lock_holder")
