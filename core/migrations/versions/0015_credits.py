"""Plans and credits: each tenant's plan, and credits used per tenant and month (core/credits.py).

Revision ID: 0015
Revises: 0014
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tenants") as batch:
        batch.add_column(sa.Column("plan", sa.String(30), nullable=False, server_default="free"))
    op.create_table(
        "credit_usage",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column(
            "tenant_id", sa.String(32), sa.ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("period", sa.String(7), nullable=False),
        sa.Column("used", sa.Integer, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("tenant_id", "period", name="uq_credit_usage_period"),
    )


def downgrade() -> None:
    op.drop_table("credit_usage")
    with op.batch_alter_table("tenants") as batch:
        batch.drop_column("plan")
