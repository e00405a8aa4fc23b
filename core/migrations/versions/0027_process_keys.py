"""process_keys: each running process's key fingerprints and whether it generated them, so a process
whose generated keys differ from a live one's refuses to start (core/process_keys.py).

Revision ID: 0027
Revises: 0026
"""

import sqlalchemy as sa
from alembic import op

revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "process_keys",
        sa.Column("id", sa.String(100), primary_key=True),
        sa.Column("admin_key_fingerprint", sa.String(64), nullable=False),
        sa.Column("admin_key_generated", sa.Boolean(), nullable=False),
        sa.Column("secret_key_fingerprint", sa.String(64), nullable=False),
        sa.Column("secret_key_generated", sa.Boolean(), nullable=False),
        sa.Column("started_at", TS, nullable=False),
        sa.Column("beat_at", TS, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("process_keys")
