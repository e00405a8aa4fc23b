"""Platform events applied in the ingest transaction: none is a customer message, none reaches the agent.

A reaction attaches to the message it is about (ours or the customer's), in that message's meta under
`reactions`, one per person; an empty emoji takes theirs away. An edit gives the customer's stored
message its new text and keeps the earlier text in `edits`; it is not answered again (a reply not sent yet
reads the new text). A follow, unfollow, join, leave or chat opening sets the contact's state on the
channel (channels/channel_state.py); an unfollow or a leave also opts the contact out of broadcasts, the
way STOP does (channels/opt_out.py), and the next follow undoes what the unfollow did. A follow may get
the channel's welcome message (config `welcome_message`, off unless set), sent like any automated
inbox message (channels/processing.py's run_human_reply, through the outbox: the channel's window
applies). Opening a Viber chat (`started`) gets it too, in the webhook's answer, and it is recorded here as sent; the subscribe
that may follow gets no second one (channels/welcome.py).

Each event's claim row in channel_messages (made on arrival, for deduplication) records what it was
(`status`: the event's kind), the message it changed, or why it changed nothing (`error`).
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from channels import channel_state
from channels.base import PlatformEvent
from channels.models import Channel, ChannelMessage
from channels.opt_out import set_opted_out
from channels.welcome import Settings, language_of, welcome_text
from core.audit import AuditLog
from crm.models import Contact
from inbox.models import Conversation, Message
from inbox.store import ContactInfo, InboxStore

log = logging.getLogger(__name__)
STATES: dict[str, channel_state.State] = {
    "follow": "subscribed",
    "unfollow": "unsubscribed",
    "join": "joined",
    "leave": "left",
    "started": "started",
}
MAX_EDITS = 20  # earlier texts kept per message (Messenger allows 5 edits; Telegram has no limit)
RECENT = 500  # messages searched for one a reaction or an edit names by the platform's own id


class PlatformEvents:
    def __init__(self, inbox: InboxStore, audit: AuditLog, settings: Settings) -> None:
        self._inbox = inbox
        self._audit = audit
        self._settings = settings

    def apply(
        self, session: Session, channel: Channel, event: PlatformEvent, row: ChannelMessage
    ) -> Message | None:
        """Apply one event (its claim `row` is updated to record it); returns a welcome message stored for
        sending, if the event earned one."""
        row.status = event.kind
        if event.kind in ("reaction", "edit"):
            target = self._target(session, channel, event)
            if target is None:
                row.error = f"the message {event.target!r} is not known on this channel"
                return None
            row.conversation_id, row.message_id = target.conversation_id, target.id
            # Locked and read again: the reply job merges its own keys into the same meta (inbox/store.py)
            session.refresh(target, with_for_update=True)
            if event.kind == "reaction":
                _react(target, event)
            elif target.role == "customer":  # only a customer's own message can be theirs to edit
                _edit(target, event)
            return None
        if event.kind in STATES:
            return self._change_state(session, channel, event, row)
        return None  # a menu click or another event: the claim row is its record

    # --- reactions and edits ------------------------------------------------------------------------
    def _target(self, session: Session, channel: Channel, event: PlatformEvent) -> Message | None:
        """The stored message an event names: by the id we recorded for it (a customer's message as
        received, ours as sent), else by the platform's own id kept in its meta (Telegram's chat:message)."""
        if not event.target:
            return None
        found = session.scalar(
            select(ChannelMessage.message_id)
            .where(
                ChannelMessage.channel_id == channel.id,
                # Either direction, named so the channel's unique key (channel, direction, external id)
                # finds the row instead of scanning the channel's records.
                ChannelMessage.direction.in_(("in", "out")),
                ChannelMessage.external_id == event.target,
                ChannelMessage.message_id.is_not(None),
            )
            .limit(1)
        )
        if found is not None:
            return session.scalar(
                select(Message).where(Message.id == found, Message.tenant_id == channel.tenant_id)
            )
        conversations = (
            select(Conversation.id)
            .join(Contact, Contact.id == Conversation.contact_id)
            .where(
                Contact.tenant_id == channel.tenant_id,
                Contact.external_id == f"{channel.kind}:{event.sender}",
                Conversation.channel == channel.kind,
            )
        )
        recent = session.scalars(
            select(Message)
            .where(Message.conversation_id.in_(conversations), Message.role == "customer")
            .order_by(Message.created_at.desc())
            .limit(RECENT)
        )
        return next((m for m in recent if m.meta.get("platform_id") == event.target), None)

    # --- the contact's state on the channel ---------------------------------------------------------
    def _change_state(
        self, session: Session, channel: Channel, event: PlatformEvent, row: ChannelMessage
    ) -> Message | None:
        external_id = f"{channel.kind}:{event.sender}"
        if event.kind in ("unfollow", "leave"):  # someone we never knew leaving: nothing to record
            contact = session.scalar(
                select(Contact).where(
                    Contact.tenant_id == channel.tenant_id, Contact.external_id == external_id
                )
            )
            conversation = (
                None
                if contact is None
                else self._inbox.conversation_for(
                    session, channel.tenant_id, ContactInfo(external_id=external_id), channel.kind
                )
            )
        else:
            info = ContactInfo(external_id=external_id, name=event.name, phone=event.phone)
            conversation = self._inbox.conversation_for(session, channel.tenant_id, info, channel.kind)
            contact = session.get(Contact, conversation.contact_id)
        if contact is None or conversation is None:
            row.error = "a contact not known here"
            return None
        row.conversation_id = conversation.id
        state = STATES[event.kind]
        previous, changed = channel_state.record(
            session, channel, contact.id, conversation.id, state, event.sent_at
        )
        if changed and event.kind == "started":  # each opening was answered with the welcome: record it
            self._welcome(session, channel, conversation, event, sent=True)
            return None
        if not changed or previous == state:
            return None  # older than what is known, or a repeat: nothing else changes
        if state in channel_state.NO_SEND:
            set_opted_out(session, self._audit, contact, True)
        elif previous in channel_state.NO_SEND:  # back after an unfollow: undo what it did
            set_opted_out(session, self._audit, contact, False)
        if event.kind == "follow" and previous != "started":  # welcomed when they opened the chat
            return self._welcome(session, channel, conversation, event, sent=False)
        return None

    def _welcome(
        self,
        session: Session,
        channel: Channel,
        conversation: Conversation,
        event: PlatformEvent,
        *,
        sent: bool,
    ) -> Message | None:
        """The welcome stored in the conversation: pending, returned for the caller to queue its send; or
        recorded as sent already, in the webhook's answer (Viber's conversation_started)."""
        text = welcome_text(channel, self._settings(channel.tenant_id), language_of(event.data))
        if text is None:
            return None
        meta: dict[str, Any] = {
            "route": "welcome",
            "delivery": "sent" if sent else "pending",
            "channel_id": channel.id,
            "to": event.reply_to or event.sender,
            # A follow opens the window a free-form message may be sent in (WeChat: 48 hours).
            "window_from": event.sent_at.isoformat(),
        }
        if sent:
            meta["sent_in"] = "webhook answer"
        message = Message(
            tenant_id=channel.tenant_id, conversation_id=conversation.id, role="agent", text=text, meta=meta
        )
        session.add(message)
        session.flush()
        return None if sent else message


def _react(message: Message, event: PlatformEvent) -> None:
    reactions: dict[str, Any] = dict(message.meta.get("reactions") or {})
    earlier = reactions.get(event.sender)
    if isinstance(earlier, dict) and str(earlier.get("at", "")) > event.sent_at.isoformat():
        return  # a later reaction of theirs is already here (deliveries out of order)
    if event.text:
        reactions[event.sender] = {"emoji": event.text, "at": event.sent_at.isoformat()}
    else:
        reactions.pop(event.sender, None)
    message.meta = {**message.meta, "reactions": reactions}


def _edit(message: Message, event: PlatformEvent) -> None:
    at = event.sent_at.isoformat()
    if str(message.meta.get("edited_at", "")) > at:
        return  # a later edit is already applied
    edits = [*(message.meta.get("edits") or []), {"text": message.text, "replaced_at": at}][-MAX_EDITS:]
    message.meta = {**message.meta, "edits": edits, "edited_at": at}
    message.text = event.text
