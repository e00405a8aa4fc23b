"""What customers do with a broadcast, recorded on its recipient row: the platform's statuses (delivered,
read, failed) and replies. A reply counts for the latest broadcast sent to that customer on that channel
if it comes within REPLY_WINDOW of delivery (STOP and START are channels/opt_out.py's). Both run inside the
ingest transaction of the webhook delivery (channels/processing.py)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from channels import opt_out
from channels.base import Inbound, StatusUpdate
from channels.models import Channel
from channels.outbox import forward
from core.audit import AuditLog
from crm.broadcasts.models import TAG_PREFIX, Broadcast, Content, Recipient
from crm.broadcasts.personalise import render
from crm.models import Contact
from inbox.models import Conversation, Message

REPLY_WINDOW = timedelta(days=3)
CLOCK_SLACK = timedelta(minutes=1)


def record_status(session: Session, channel: Channel, status: StatusUpdate) -> None:
    recipient = session.scalar(
        select(Recipient).where(
            Recipient.channel_id == channel.id, Recipient.external_id == status.external_id
        )
    )
    if recipient is None and status.tag.startswith(TAG_PREFIX):
        recipient = _found_by_tag(session, channel, status)
    if recipient is None or not forward(recipient.status, status.status):
        return
    recipient.status = status.status
    if status.status in ("delivered", "read") and recipient.delivered_at is None:
        recipient.delivered_at = status.sent_at  # a skipped "delivered" is implied by "read"
    if status.status == "read":
        recipient.read_at = status.sent_at
    if status.status == "failed":
        recipient.error_code, recipient.error = status.error_code, status.error or "failed on the platform"


def _found_by_tag(session: Session, channel: Channel, status: StatusUpdate) -> Recipient | None:
    """A status for a message whose send was never recorded (the sender died between sending and
    recording): the platform has it, so the row is sent after all, and now has its id."""
    recipient = session.get(Recipient, status.tag.removeprefix(TAG_PREFIX))
    if (
        recipient is None
        or recipient.channel_id != channel.id
        or recipient.status not in ("sending", "uncertain")
    ):
        return None
    recipient.external_id, recipient.sent_at, recipient.error = status.external_id, status.sent_at, None
    recipient.status = "sent"
    return recipient


class ReplyRecorder:
    """Replies to broadcasts, and STOP / START (channels/opt_out.py)."""

    def __init__(self, audit: AuditLog) -> None:
        self._audit = audit

    def __call__(
        self,
        session: Session,
        channel: Channel,
        message: Inbound,
        conversation: Conversation,
        record: Message,
    ) -> None:
        opt_out.apply(session, self._audit, conversation, message.text)
        answered = record_reply(session, channel, message)
        if answered is not None:  # the agent reads the reply with the broadcast before it
            shown = {"id": answered.broadcast_id, "text": _as_sent(session, answered)}
            record.meta = {**record.meta, "broadcast": shown}


def record_reply(session: Session, channel: Channel, message: Inbound) -> Recipient | None:
    """The broadcast this message answers, if any (its row now marked replied)."""
    addresses = {message.sender, message.reply_to} - {""}
    latest = session.scalar(
        select(Recipient)
        .where(
            Recipient.channel_id == channel.id,
            Recipient.address.in_(addresses),
            Recipient.status.in_(("sent", "delivered", "read")),
        )
        .order_by(Recipient.sent_at.desc())
        .limit(1)
    )
    if latest is None or latest.replied_at is not None:
        return None
    delivered = latest.delivered_at or latest.read_at or latest.sent_at
    # Platforms stamp messages to the second and their clocks are not ours: a minute of slack before.
    if delivered is None or not -CLOCK_SLACK <= message.sent_at - delivered <= REPLY_WINDOW:
        return None
    latest.replied_at = message.sent_at
    return latest


def _as_sent(session: Session, recipient: Recipient) -> str:
    """The broadcast as this customer received it (a template's text is Meta's: its name and values)."""
    broadcast = session.get(Broadcast, recipient.broadcast_id)
    contact = session.get(Contact, recipient.contact_id)
    if broadcast is None or contact is None:
        return ""
    content = Content.model_validate(broadcast.content)
    if recipient.route == "template" and content.template:
        values = [render(v, contact) for v in content.template.variables]
        return f"[WhatsApp template {content.template.name}: {', '.join(values)}]"
    text = render(content.text, contact) if content.text else ""
    return f"{text}\n\n{content.media.link}".strip() if content.media else text
