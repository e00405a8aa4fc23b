"""knowledge_sources.encoding: the text encoding a text, Markdown or CSV source was read in.

Encodings are detected with charset-normalizer (knowledge/loaders/text.py) and shown by the sources
API, so an admin can see why a legacy file reads as it does. Existing rows start as NULL (unknown)
until the source is indexed again.

Revision ID: 0020
Revises: 0019
"""

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("knowledge_sources", sa.Column("encoding", sa.String(40), nullable=True))


def downgrade() -> None:
    op.drop_column("knowledge_sources", "encoding")
