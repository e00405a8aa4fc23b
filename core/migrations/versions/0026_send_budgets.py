"""send_budgets: one send-rate budget per number shared by every process (channels/send_budget.py).

Revision ID: 0026
Revises: 0025
"""

import sqlalchemy as sa
from alembic import op

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "send_budgets",
        sa.Column("id", sa.String(200), primary_key=True),
        sa.Column("next_free", sa.Double(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("send_budgets")
