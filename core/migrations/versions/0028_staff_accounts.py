"""staff accounts for the console: users (one tenant, one role), invitations by link, signed-in sessions
and failed sign-ins for throttling (core/staff/).

Revision ID: 0028
Revises: 0027
"""

import sqlalchemy as sa
from alembic import op

revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def _tenant() -> sa.Column[str]:
    return sa.Column(
        "tenant_id", sa.String(32), sa.ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False
    )


def upgrade() -> None:
    op.create_table(
        "staff_users",
        sa.Column("id", sa.String(32), primary_key=True),
        _tenant(),
        sa.Column("email", sa.String(254), nullable=False, unique=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("password_hash", sa.String(200), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("password_changed_at", TS, nullable=False),
    )
    op.create_index("ix_staff_users_tenant_id", "staff_users", ["tenant_id"])
    op.create_table(
        "staff_invitations",
        sa.Column("id", sa.String(32), primary_key=True),
        _tenant(),
        sa.Column("email", sa.String(254), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("invited_by", sa.String(100), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.Column("accepted_at", TS, nullable=True),
    )
    op.create_index("ix_staff_invitations_tenant_id", "staff_invitations", ["tenant_id"])
    op.create_index("ix_staff_invitations_email", "staff_invitations", ["email"])
    op.create_table(
        "staff_sessions",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column(
            "user_id", sa.String(32), sa.ForeignKey("staff_users.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("expires_at", TS, nullable=False),
    )
    op.create_index("ix_staff_sessions_user_id", "staff_sessions", ["user_id"])
    op.create_table(
        "staff_sign_in_failures",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("scope", sa.String(300), nullable=False),
        sa.Column("at", TS, nullable=False),
    )
    op.create_index("ix_staff_sign_in_failures_scope_at", "staff_sign_in_failures", ["scope", "at"])


def downgrade() -> None:
    op.drop_table("staff_sign_in_failures")
    op.drop_table("staff_sessions")
    op.drop_table("staff_invitations")
    op.drop_table("staff_users")
