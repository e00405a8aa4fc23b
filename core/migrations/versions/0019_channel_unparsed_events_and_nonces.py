"""channel_unparsed_events: events of signed deliveries that could not be read, kept raw with the reason
(channels/unparsed.py); channel_signed_nonces: WeChat's signed (timestamp, nonce) pairs, so a replayed
pair with another body is refused (channels/replay.py).

Revision ID: 0019
Revises: 0018
"""

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "channel_unparsed_events",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column(
            "tenant_id", sa.String(32), sa.ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column(
            "channel_id", sa.String(32), sa.ForeignKey("channels.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("delivery_id", sa.String(32), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("raw", sa.Text, nullable=False),
        sa.Column("error", sa.Text, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.UniqueConstraint("channel_id", "digest", name="uq_channel_unparsed_events_digest"),
    )
    op.create_index(
        "ix_channel_unparsed_events_tenant",
        "channel_unparsed_events",
        ["tenant_id", "channel_id", "created_at"],
    )
    op.create_table(
        "channel_signed_nonces",
        sa.Column(
            "channel_id", sa.String(32), sa.ForeignKey("channels.id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column("signed_at", sa.BigInteger, primary_key=True),
        sa.Column("nonce", sa.String(64), primary_key=True),
        sa.Column("digest", sa.String(64), nullable=False),
    )
    op.create_index("ix_channel_signed_nonces_signed_at", "channel_signed_nonces", ["signed_at"])


def downgrade() -> None:
    op.drop_table("channel_signed_nonces")
    op.drop_table("channel_unparsed_events")
