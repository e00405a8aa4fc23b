"""channel_contact_states: a contact's state on a channel (subscribed, unsubscribed, joined, left, started)
and the platform's time for it (channels/channel_state.py), one row per contact and channel.

The state was kept as rows with direction 'state' in channel_messages (external_id: the contact's id,
status: the state, updated_at: the platform's time); they move here, keeping their ids, and leave
channel_messages, which then holds messages only. A row whose contact no longer exists (deleted without
erasure, which left the row behind) names no one and is dropped rather than moved.

Revision ID: 0021
Revises: 0020
"""

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)

MOVE_IN = sa.text(
    "INSERT INTO channel_contact_states"
    " (id, tenant_id, channel_id, contact_id, conversation_id, state, changed_at, created_at)"
    " SELECT m.id, m.tenant_id, m.channel_id, c.id, m.conversation_id, m.status, m.updated_at, m.created_at"
    " FROM channel_messages m JOIN contacts c ON c.id = m.external_id AND c.tenant_id = m.tenant_id"
    " WHERE m.direction = 'state'"
)
MOVE_BACK = sa.text(
    "INSERT INTO channel_messages"
    " (id, tenant_id, channel_id, conversation_id, direction, external_id, status, created_at, updated_at)"
    " SELECT id, tenant_id, channel_id, conversation_id, 'state', contact_id, state, created_at, changed_at"
    " FROM channel_contact_states"
)


def upgrade() -> None:
    op.create_table(
        "channel_contact_states",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column(
            "tenant_id", sa.String(32), sa.ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column(
            "channel_id", sa.String(32), sa.ForeignKey("channels.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column(
            "contact_id", sa.String(32), sa.ForeignKey("contacts.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("conversation_id", sa.String(32), nullable=True),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("changed_at", TS, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.UniqueConstraint("channel_id", "contact_id", name="uq_channel_contact_states_contact"),
    )
    op.create_index("ix_channel_contact_states_contact_id", "channel_contact_states", ["contact_id"])
    op.execute(MOVE_IN)
    op.execute("DELETE FROM channel_messages WHERE direction = 'state'")


def downgrade() -> None:
    op.execute(MOVE_BACK)
    op.drop_table("channel_contact_states")
