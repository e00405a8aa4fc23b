"""knowledge_sources.quarantined / quarantined_count: passages of a source kept out of the index because
they carry instructions (knowledge/quarantine.py), with the reason, shown to the admin by the sources API.

Existing rows start with none listed (NULL, count 0) until the source is indexed again; their chunks are
still screened when retrieved (agent/guardrails.py clean_passages).

Revision ID: 0022
Revises: 0021
"""

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("knowledge_sources", sa.Column("quarantined", sa.JSON(), nullable=True))
    op.add_column(
        "knowledge_sources",
        sa.Column("quarantined_count", sa.Integer(), nullable=False, server_default="0"),
    )


def downgrade() -> None:
    op.drop_column("knowledge_sources", "quarantined_count")
    op.drop_column("knowledge_sources", "quarantined")
