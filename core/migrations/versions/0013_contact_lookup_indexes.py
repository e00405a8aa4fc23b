"""Indexes for finding a tenant's contact by email or phone (de-duplication on create and import).

Revision ID: 0013
Revises: 0012
"""

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_contacts_tenant_email", "contacts", ["tenant_id", "email"])
    op.create_index("ix_contacts_tenant_phone", "contacts", ["tenant_id", "phone"])


def downgrade() -> None:
    op.drop_index("ix_contacts_tenant_phone", "contacts")
    op.drop_index("ix_contacts_tenant_email", "contacts")
