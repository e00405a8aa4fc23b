"""Indexes that hand out the oldest queued work without sorting the whole queue.

- jobs (status, created_at) replaces jobs (status): the worker's claim reads the oldest claimable jobs in
  index order and stops after a few, instead of sorting every queued job on each claim (with 170,000
  queued after a webhook storm that sort cost 55 ms per job and was what held the backlog at ~18 answers a
  second).
- channel_events (channel_id, processed_at, received_at, id) replaces (channel_id, processed_at): the
  ingest run's "oldest waiting deliveries" query reads them in order for the same reason.

Revision ID: 0017
Revises: 0016
"""

from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_jobs_status_created_at", "jobs", ["status", "created_at"])
    op.drop_index("ix_jobs_status", "jobs")
    op.create_index(
        "ix_channel_events_pending_order",
        "channel_events",
        ["channel_id", "processed_at", "received_at", "id"],
    )
    op.drop_index("ix_channel_events_pending", "channel_events")


def downgrade() -> None:
    op.create_index("ix_channel_events_pending", "channel_events", ["channel_id", "processed_at"])
    op.drop_index("ix_channel_events_pending_order", "channel_events")
    op.create_index("ix_jobs_status", "jobs", ["status"])
    op.drop_index("ix_jobs_status_created_at", "jobs")
