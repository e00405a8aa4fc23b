"""Contact lists: static lists with members, and condition lists.

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "contact_lists",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column(
            "tenant_id", sa.String(32), sa.ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("conditions", sa.JSON, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.UniqueConstraint("tenant_id", "name", name="uq_contact_lists_name"),
    )
    op.create_index("ix_contact_lists_tenant_id", "contact_lists", ["tenant_id"])
    op.create_table(
        "contact_list_members",
        sa.Column(
            "list_id",
            sa.String(32),
            sa.ForeignKey("contact_lists.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column(
            "contact_id", sa.String(32), sa.ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column("added_at", TS, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("contact_list_members")
    op.drop_table("contact_lists")
