"""channel_unparsed_events: what an admin's retry (or the retry after an upgrade) did to each event that
could not be read: the parser that last read it, how often and when it was retried, when it was resolved.

Revision ID: 0024
Revises: 0023
"""

import sqlalchemy as sa
from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("channel_unparsed_events") as table:
        table.add_column(sa.Column("parsed_by", sa.String(64), nullable=True))
        table.add_column(sa.Column("retries", sa.Integer(), nullable=False, server_default="0"))
        table.add_column(sa.Column("retried_at", TS, nullable=True))
        table.add_column(sa.Column("resolved_at", TS, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("channel_unparsed_events") as table:
        table.drop_column("resolved_at")
        table.drop_column("retried_at")
        table.drop_column("retries")
        table.drop_column("parsed_by")
