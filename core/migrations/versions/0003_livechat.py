"""Live-chat widget keys and visitor sessions.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "livechat_widgets",
        sa.Column(
            "tenant_id", sa.String(32), sa.ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column("widget_key", sa.String(64), nullable=False, unique=True),
        sa.Column("identity_secret", sa.String(128), nullable=False),
        sa.Column("require_identity", sa.Boolean, nullable=False),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_table(
        "livechat_visitors",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column(
            "tenant_id", sa.String(32), sa.ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column(
            "contact_id", sa.String(32), sa.ForeignKey("contacts.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column(
            "conversation_id",
            sa.String(32),
            sa.ForeignKey("conversations.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_index("ix_livechat_visitors_tenant_id", "livechat_visitors", ["tenant_id"])


def downgrade() -> None:
    op.drop_table("livechat_visitors")
    op.drop_table("livechat_widgets")
