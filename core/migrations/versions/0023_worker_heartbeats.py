"""worker_heartbeats: each running worker and when it last said it was alive (core/liveness.py), for
/readyz; and an index on channel_events.received_at for the retention sweep (core/retention.py).

Revision ID: 0023
Revises: 0022
"""

import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "worker_heartbeats",
        sa.Column("id", sa.String(100), primary_key=True),
        sa.Column("kinds", sa.JSON(), nullable=True),
        sa.Column("started_at", TS, nullable=False),
        sa.Column("beat_at", TS, nullable=False),
    )
    op.create_index("ix_channel_events_received_at", "channel_events", ["received_at"])


def downgrade() -> None:
    op.drop_index("ix_channel_events_received_at", "channel_events")
    op.drop_table("worker_heartbeats")
