"""CRM: contacts' built-in fields, tags, owner and notes; custom attribute definitions; the audit log.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
NEW_CONTACT_COLUMNS = (
    ("first_name", sa.String(100)),
    ("last_name", sa.String(100)),
    ("country", sa.String(60)),
    ("company", sa.String(200)),
    ("job_title", sa.String(200)),
    ("owner", sa.String(200)),
    ("tags", sa.JSON),
    ("last_contacted_at", TS),
)


def tenant_fk() -> sa.Column[str]:
    return sa.Column(
        "tenant_id", sa.String(32), sa.ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False
    )


def upgrade() -> None:
    with op.batch_alter_table("contacts") as batch:
        for name, kind in NEW_CONTACT_COLUMNS:
            batch.add_column(sa.Column(name, kind, nullable=True))
    op.create_table(
        "contact_notes",
        sa.Column("id", sa.String(32), primary_key=True),
        tenant_fk(),
        sa.Column(
            "contact_id", sa.String(32), sa.ForeignKey("contacts.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("author", sa.String(100), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_index("ix_contact_notes_contact_id", "contact_notes", ["contact_id"])
    op.create_table(
        "attribute_definitions",
        sa.Column("id", sa.String(32), primary_key=True),
        tenant_fk(),
        sa.Column("key", sa.String(40), nullable=False),
        sa.Column("label", sa.String(100), nullable=False),
        sa.Column("type", sa.String(20), nullable=False),
        sa.Column("options", sa.JSON, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.UniqueConstraint("tenant_id", "key", name="uq_attribute_definitions_key"),
    )
    op.create_index("ix_attribute_definitions_tenant_id", "attribute_definitions", ["tenant_id"])
    op.create_table(
        "audit_events",
        sa.Column("id", sa.String(32), primary_key=True),
        tenant_fk(),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("action", sa.String(60), nullable=False),
        sa.Column("entity", sa.String(40), nullable=False),
        sa.Column("entity_id", sa.String(64), nullable=False),
        sa.Column("before", sa.JSON, nullable=True),
        sa.Column("after", sa.JSON, nullable=True),
        sa.Column("at", TS, nullable=False),
    )
    op.create_index("ix_audit_events_entity", "audit_events", ["tenant_id", "entity", "entity_id"])
    op.create_index("ix_audit_events_at", "audit_events", ["at"])


def downgrade() -> None:
    for table in ("audit_events", "attribute_definitions", "contact_notes"):
        op.drop_table(table)
    with op.batch_alter_table("contacts") as batch:
        for name, _ in NEW_CONTACT_COLUMNS:
            batch.drop_column(name)
