"""A contact's state on a channel: subscribed, unsubscribed, joined, left or started, and since when.

Set by platform events (channels/platform_events.py): a follow subscribes, an unfollow (LINE's block,
WeChat's and Viber's unsubscribe, Telegram's kicked bot) unsubscribes, and nothing is sent to an
unsubscribed contact (or to a group the account left) until they follow again.

Stored as one row per contact and channel in channel_messages with direction "state" (external_id: the
contact's id, status: the state, updated_at: when the platform said it), so no new table is needed: the
channel's unique key keeps it to one row, deleting the channel or erasing the contact's conversations
(channels/privacy.py) removes it, and nothing that reads inbound or outbound records ever sees it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from channels.models import Channel, ChannelMessage

State = Literal["subscribed", "unsubscribed", "joined", "left", "started"]
DIRECTION = "state"
NO_SEND: frozenset[str] = frozenset({"unsubscribed", "left"})
"""States in which nothing may be sent to the contact on the channel."""


def current(session: Session, channel_id: str, contact_id: str) -> ChannelMessage | None:
    """The contact's state row on the channel (`status` the state, `updated_at` since when), if any."""
    return session.scalar(
        select(ChannelMessage).where(
            ChannelMessage.channel_id == channel_id,
            ChannelMessage.direction == DIRECTION,
            ChannelMessage.external_id == contact_id,
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
            ChannelMessage(
                tenant_id=channel.tenant_id,
                channel_id=channel.id,
                conversation_id=conversation_id,
                direction=DIRECTION,
                external_id=contact_id,
                status=state,
                created_at=at,
                updated_at=at,
            )
        )
        session.flush()
        return None, True
    if at < row.updated_at:
        return row.status, False
    previous = row.status
    row.status, row.updated_at, row.conversation_id = state, at, conversation_id
    return previous, True


def no_send_reason(session: Session, channel_id: str, contact_id: str) -> str | None:
    """Why nothing may be sent to the contact on the channel now, or None when it may."""
    row = current(session, channel_id, contact_id)
    if row is None or row.status not in NO_SEND:
        return None
    if row.status == "unsubscribed":
        what = "the customer unfollowed or blocked the account"
    else:
        what = "the account left the group"
    return f"{what} on {row.updated_at.isoformat(timespec='seconds')}"
