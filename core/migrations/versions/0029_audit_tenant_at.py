"""audit log by tenant and time: a tenant's entries newest first, page by page (the console's audit log,
GET /v1/audit), walk this index instead of sorting the tenant's entries or scanning other tenants'.

Revision ID: 0029
Revises: 0028
"""

from alembic import op

revision = "0029"
down_revision = "0028"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_audit_events_tenant_at", "audit_events", ["tenant_id", "at", "id"])


def downgrade() -> None:
    op.drop_index("ix_audit_events_tenant_at", table_name="audit_events")
