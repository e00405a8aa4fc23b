"""Broadcasts: campaigns to segments of contacts, one row per recipient; contacts can opt out.

Revision ID: 0014
Revises: 0013
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.add_column("contacts", sa.Column("opted_out", sa.Boolean, nullable=False, server_default=sa.false()))
    op.create_table(
        "broadcasts",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column(
            "tenant_id", sa.String(32), sa.ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("channel_id", sa.String(32), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("audience", sa.JSON, nullable=False),
        sa.Column("content", sa.JSON, nullable=False),
        sa.Column("send_at", TS, nullable=True),
        sa.Column("timezone", sa.String(60), nullable=False),
        sa.Column("agent_enrol", sa.Boolean, nullable=False),
        sa.Column("follow_up_minutes", sa.Integer, nullable=False),
        sa.Column("audience_ready", sa.Boolean, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("started_at", TS, nullable=True),
        sa.Column("finished_at", TS, nullable=True),
    )
    op.create_index("ix_broadcasts_tenant_id", "broadcasts", ["tenant_id"])
    op.create_table(
        "broadcast_recipients",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column(
            "broadcast_id",
            sa.String(32),
            sa.ForeignKey("broadcasts.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("tenant_id", sa.String(32), nullable=False),
        sa.Column("channel_id", sa.String(32), nullable=False),
        sa.Column(
            "contact_id", sa.String(32), sa.ForeignKey("contacts.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("address", sa.String(200), nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("route", sa.String(20), nullable=True),
        sa.Column("due_at", TS, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("external_id", sa.String(200), nullable=True),
        sa.Column("error_code", sa.Integer, nullable=True),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("sent_at", TS, nullable=True),
        sa.Column("delivered_at", TS, nullable=True),
        sa.Column("read_at", TS, nullable=True),
        sa.Column("replied_at", TS, nullable=True),
        sa.UniqueConstraint("broadcast_id", "contact_id", name="uq_broadcast_recipients_contact"),
    )
    op.create_index(
        "ix_broadcast_recipients_due", "broadcast_recipients", ["broadcast_id", "status", "due_at"]
    )
    op.create_index("ix_broadcast_recipients_external", "broadcast_recipients", ["channel_id", "external_id"])
    op.create_index("ix_broadcast_recipients_address", "broadcast_recipients", ["channel_id", "address"])
    op.create_index("ix_broadcast_recipients_contact", "broadcast_recipients", ["contact_id"])


def downgrade() -> None:
    op.drop_table("broadcast_recipients")
    op.drop_table("broadcasts")
    op.drop_column("contacts", "opted_out")
