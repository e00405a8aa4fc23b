"""What customers do with a broadcast, recorded on its recipient row: the platform's statuses (delivered,
read, failed) and replies. A reply counts for the latest broadcast sent to that customer on that channel
if it comes within REPLY_WINDOW of delivery. STOP (or 取消訂閱, 退訂, ...) opts the contact out of
broadcasts. Both run inside the ingest transaction of the webhook delivery (channels/processing.py)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from channels.base import Inbound, StatusUpdate
from channels.broadcast_sender import TAG_PREFIX
from channels.models import Channel
from channels.processing import forward
from core.audit import CUSTOMER, AuditLog
from crm.broadcasts.models import Recipient
from crm.models import Contact, Conversation

REPLY_WINDOW = timedelta(days=3)
STOP_WORDS = {"stop", "unsubscribe", "stop all", "opt out", "取消訂閱", "退訂", "停止", "取消订阅", "退订"}


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
    """Replies to broadcasts, and STOP (audited as the customer's own change)."""

    def __init__(self, audit: AuditLog) -> None:
        self._audit = audit

    def __call__(
        self, session: Session, channel: Channel, message: Inbound, conversation: Conversation
    ) -> None:
        if message.text.strip().lower().rstrip(".!。！") in STOP_WORDS:
            self._opt_out(session, conversation)
        record_reply(session, channel, message)

    def _opt_out(self, session: Session, conversation: Conversation) -> None:
        contact = session.get(Contact, conversation.contact_id)
        if contact is None or contact.opted_out:
            return
        contact.opted_out = True
        self._audit.record(
            session,
            conversation.tenant_id,
            CUSTOMER,
            "contact.update",
            "contact",
            contact.id,
            {"opted_out": False},
            {"opted_out": True},
        )


def record_reply(session: Session, channel: Channel, message: Inbound) -> None:
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
        return
    delivered = latest.delivered_at or latest.read_at or latest.sent_at
    if delivered is not None and timedelta(0) <= message.sent_at - delivered <= REPLY_WINDOW:
        latest.replied_at = message.sent_at
