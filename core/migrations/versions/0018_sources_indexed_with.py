"""knowledge_sources.indexed_with: the chunking format a source's chunks were made with.

Chunks are cut by knowledge/chunking.py; when that changes (issue 14 made it structure-aware: FAQ
questions, lists, tables), sources indexed before keep their old chunks until they are indexed again.
The app re-indexes stored files whose format is older than the current one at start (their bytes are
in the database); existing rows start as NULL, which is older than any format.

Revision ID: 0018
Revises: 0017
"""

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("knowledge_sources", sa.Column("indexed_with", sa.String(40), nullable=True))


def downgrade() -> None:
    op.drop_column("knowledge_sources", "indexed_with")
