"""What the channels keep about a contact's conversations, removed when the contact is erased (crm/privacy.py):
the per-message delivery records and the raw webhook deliveries that brought their messages (a raw delivery
holds the sender's number, name and words). A delivery that also carried another customer's message goes
too: the raw copy is only a record of receipt; the other customer's messages stay in their conversation. So
do the events of those deliveries that could not be read (channels/unparsed.py), which may hold their words,
and the contact's state on each channel (channels/channel_state.py: when they followed or blocked us)."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from channels.models import ChannelContactState, ChannelEvent, ChannelMessage, UnparsedEvent


def erase_channel_records(session: Session, tenant_id: str, contact_id: str, conversations: list[str]) -> int:
    rows = ChannelMessage.conversation_id.in_(conversations) & (ChannelMessage.tenant_id == tenant_id)
    events = [e for e in session.scalars(select(ChannelMessage.event_id).where(rows)) if e]
    session.execute(delete(UnparsedEvent).where(UnparsedEvent.delivery_id.in_(events)))
    session.execute(delete(ChannelEvent).where(ChannelEvent.id.in_(events)))
    removed = session.execute(delete(ChannelMessage).where(rows)).rowcount  # type: ignore[attr-defined]
    states = session.execute(
        delete(ChannelContactState).where(
            ChannelContactState.tenant_id == tenant_id, ChannelContactState.contact_id == contact_id
        )
    ).rowcount  # type: ignore[attr-defined]
    return int(removed) + int(states) + len(events)
