"""The inbox: who owns a conversation, and internal notes on conversations.

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("conversations") as batch:
        batch.add_column(sa.Column("assignee", sa.String(200), nullable=True))
    op.create_index("ix_conversations_status", "conversations", ["tenant_id", "status"])
    op.create_table(
        "conversation_notes",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column(
            "tenant_id", sa.String(32), sa.ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column(
            "conversation_id",
            sa.String(32),
            sa.ForeignKey("conversations.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("author", sa.String(100), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_conversation_notes_conversation_id", "conversation_notes", ["conversation_id"])


def downgrade() -> None:
    op.drop_table("conversation_notes")
    op.drop_index("ix_conversations_status", "conversations")
    with op.batch_alter_table("conversations") as batch:
        batch.drop_column("assignee")
