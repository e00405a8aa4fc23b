"""A contact's state on a channel: subscribed, unsubscribed, joined, left or started, and since when.

Set by platform events (channels/platform_events.py): a follow subscribes, an unfollow (LINE's block,
WeChat's and Viber's unsubscribe, Telegram's kicked bot) unsubscribes, and nothing is sent to an
unsubscribed contact (or to a group the account left) until they follow again.

Stored in channel_contact_states, one row per contact and channel (migration 0021; it was a row in
channel_messages before). Deleting the channel or the contact removes it, and so does erasing the
contact (channels/privacy.py).
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from channels.models import Channel, ChannelContactState

State = Literal["subscribed", "unsubscribed", "joined", "left", "started"]
NO_SEND: frozenset[str] = frozenset({"unsubscribed", "left"})
"""States in which nothing may be sent to the contact on the channel."""


def current(session: Session, channel_id: str, contact_id: str) -> ChannelContactState | None:
    """The contact's state on the channel (`state`, and `changed_at` since when), if any."""
    return session.scalar(
        select(ChannelContactState).where(
            ChannelContactState.channel_id == channel_id, ChannelContactState.contact_id == contact_id
        )
    )


def record(
    session: Session, channel: Channel, contact_id: str, conversation_id: str, state: State, at: datetime
) -> tuple[str | None, bool]:
    """Set the contact's state as of `at`: (the state it replaces, None when none was known; whether it
    was set). A state the platform reported earlier than the stored one (deliveries out of order) is
    not."""
    row = current(session, channel.id, contact_id)
    if row is None:
        session.add(
            ChannelContactState(
                tenant_id=channel.tenant_id,
                channel_id=channel.id,
                contact_id=contact_id,
                conversation_id=conversation_id,
                state=state,
                changed_at=at,
            )
        )
        session.flush()
        return None, True
    if at < row.changed_at:
        return row.state, False
    previous = row.state
    row.state, row.changed_at, row.conversation_id = state, at, conversation_id
    return previous, True


def no_send_reason(session: Session, channel_id: str, contact_id: str) -> str | None:
    """Why nothing may be sent to the contact on the channel now, or None when it may."""
    row = current(session, channel_id, contact_id)
    if row is None or row.state not in NO_SEND:
        return None
    if row.state == "unsubscribed":
        what = "the customer unfollowed or blocked the account"
    else:
        what = "the account left the group"
    return f"{what} on {row.changed_at.isoformat(timespec='seconds')}"
