"""Webhooks acknowledge after storing the raw delivery; a keyed background job ingests it.

- jobs.key: at most one queued job per key (a partial unique index), and the worker runs one job per key
  at a time, so a burst of deliveries to one channel becomes one ingest run, in order.
- channel_events.processed_at: set once a delivery's messages and statuses were ingested.
- channel_messages.event_id: the delivery that first brought an inbound message (duplicates bring none).

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

QUEUED = sa.text("status = 'queued'")


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("key", sa.String(200), nullable=True))
    op.create_index("ix_jobs_key", "jobs", ["key"])
    op.create_index(
        "uq_jobs_queued_key", "jobs", ["key"], unique=True, sqlite_where=QUEUED, postgresql_where=QUEUED
    )
    with op.batch_alter_table("channel_events") as batch:
        batch.add_column(sa.Column("processed_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_channel_events_pending", "channel_events", ["channel_id", "processed_at"])
    with op.batch_alter_table("channel_messages") as batch:
        batch.add_column(sa.Column("event_id", sa.String(32), nullable=True))
    op.create_index("ix_channel_messages_event_id", "channel_messages", ["event_id"])


def downgrade() -> None:
    op.drop_index("ix_channel_messages_event_id", "channel_messages")
    with op.batch_alter_table("channel_messages") as batch:
        batch.drop_column("event_id")
    op.drop_index("ix_channel_events_pending", "channel_events")
    with op.batch_alter_table("channel_events") as batch:
        batch.drop_column("processed_at")
    op.drop_index("uq_jobs_queued_key", "jobs")
    op.drop_index("ix_jobs_key", "jobs")
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("key")
