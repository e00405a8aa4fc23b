"""The outbox: every message the product sends to a customer goes through `Outbox.send`.

Agent replies (and an interceptor's, such as an opt-out confirmation), a person's inbox replies, the
inbox's own messages (a CSAT question, a welcome) and broadcasts alike. It owns
- the window rule (channels/window.py): free-form inside the window; outside it, what the purpose and the
  channel allow (a fallback template for the agent, Messenger's HUMAN_AGENT tag for a person, the
  broadcast's template) or nothing, with one wording of why;
- the send budget: every send takes a slot of its channel account's shared budget
  (channels/send_budget.py), unless the adapter's client paces the account itself (WhatsApp);
- error classification: sent, skipped, failed for good, or retry (the platform's SendError says which;
  an unexpected error is taken as retryable), counted in the sends metric;
- the record of what was sent: the `channel_messages` row status webhooks update, and for an inbox
  message its delivery state (`deliver`); a broadcast's batch is recorded in its own transaction (`record`).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from channels import channel_state
from channels.base import (
    Adapter,
    EchoesTags,
    PacesItself,
    SendError,
    SendsHumanText,
    SendsOutsideWindow,
    SendsRich,
    count_send,
)
from channels.http_pool import HttpPool
from channels.models import Channel, ChannelMessage
from channels.rate_limit import RateLimiter, departing
from channels.send_budget import SendBudgets
from channels.store import ChannelStore
from channels.window import POLICIES, last_customer_messages_at, may_send_free_form, window_closed
from core.db import Database, insert_ignoring_duplicates, new_id, utcnow
from crm.broadcasts.sending import Media, Outcome, Outgoing, Purpose, Template
from inbox.models import Conversation, Message
from inbox.store import InboxStore

__all__ = ["Media", "Outbox", "Outcome", "Outgoing", "Purpose", "Template", "forward"]
log = logging.getLogger(__name__)
T = TypeVar("T")
STATUS_RANK = {"pending": 0, "sent": 1, "failed": 1, "delivered": 2, "read": 3}


def forward(current: str, new: str) -> bool:
    """Statuses only move forward (sent -> delivered -> read); failed only overrides pending or sent."""
    if new == "failed":
        return current in ("pending", "sent")
    return STATUS_RANK.get(new, -1) > STATUS_RANK.get(current, -1)


class Outbox:
    def __init__(
        self,
        db: Database,
        channels: ChannelStore,
        inbox: InboxStore,
        adapters: dict[str, Adapter],
        budgets: SendBudgets | None = None,
        *,
        http: HttpPool,
    ) -> None:
        self._db = db
        self._http = http
        self._channels = channels
        self._inbox = inbox
        self.adapters = adapters
        self._budgets = budgets or SendBudgets()

    def run(self, sending: Coroutine[Any, Any, T]) -> T:
        """Run sends from a background job's thread on the loop holding the app's HTTP connections
        (channels/http_pool.HttpPool)."""
        return self._http.run_send(sending)

    def line(self, channel_id: str, tenant_id: str) -> ChannelLine:
        """The channel account opened for a run of sends (crm/broadcasts/sending.Outbox)."""
        return self.open(self._channels.get(channel_id, tenant_id))

    def open(self, channel: Channel) -> ChannelLine:
        adapter = self.adapters[channel.kind]
        if isinstance(adapter, PacesItself):
            rate, limiter = adapter.per_second(channel.config), None
        else:
            rate = int(channel.config.get("messages_per_second") or POLICIES[channel.kind].sends_per_second)
            limiter = self._budgets.limiter(f"channel:{channel.id}", rate)
        return ChannelLine(self._db, channel, adapter, self._channels.secrets(channel), limiter, rate)

    async def send(
        self,
        channel: Channel,
        to: str,
        outgoing: Outgoing,
        purpose: Purpose,
        *,
        last_customer: datetime | None,
    ) -> Outcome:
        """Send one message under the channel's rules and budget (`last_customer`: when the customer last
        wrote, which opened the window). Records nothing: see `deliver` and `ChannelLine.record`."""
        return await self.open(channel).send(to, outgoing, purpose, last_customer)

    def deliver(
        self,
        channel: Channel,
        conversation_id: str,
        message: Message,
        to: str,
        purpose: Purpose,
        last_customer: datetime | None,
    ) -> Outcome:
        """Send a stored inbox message from a background job and record what became of it: its delivery
        state in the inbox, and the channel record status webhooks update. A retryable failure raises
        SendError, so the job backs off and tries again (the message is stored: never produced twice)."""
        blocked = self._no_send_reason(channel, conversation_id)
        if blocked:  # e.g. the customer unfollowed since writing: the message stays in the inbox, unsent
            outcome = Outcome("skipped", reason=blocked)
        else:
            sending = self.send(
                channel, to, Outgoing(text=message.text), purpose, last_customer=last_customer
            )
            outcome = self.run(sending)
        tenant = channel.tenant_id
        if outcome.status == "retry":
            raise SendError(
                outcome.reason, code=outcome.code, retryable=True, retry_after=outcome.retry_after
            )
        if outcome.status == "sent":
            self._record(channel, conversation_id, message.id, outcome.external_id, "sent", None, None)
            self._inbox.update_meta(tenant, message.id, delivery="sent", external_id=outcome.external_id)
        elif outcome.status == "failed":
            self._inbox.update_meta(tenant, message.id, delivery="failed", delivery_error=outcome.reason)
            failed = f"failed:{message.id}"
            self._record(channel, conversation_id, message.id, failed, "failed", outcome.code, outcome.reason)
        else:
            self._inbox.update_meta(tenant, message.id, delivery="skipped", delivery_error=outcome.reason)
        return outcome

    def _no_send_reason(self, channel: Channel, conversation_id: str) -> str | None:
        """Why nothing may be sent in the conversation now (channels/channel_state.py), or None."""
        with self._db.session() as session:
            found = session.get(Conversation, conversation_id)
            if found is None:
                return None
            return channel_state.no_send_reason(session, channel.id, found.contact_id)

    def _record(
        self,
        channel: Channel,
        conversation: str,
        message_id: str,
        external_id: str,
        status: str,
        code: int | None,
        error: str | None,
    ) -> None:
        with self._db.session() as session:
            record = session.scalar(
                select(ChannelMessage).where(
                    ChannelMessage.channel_id == channel.id,
                    ChannelMessage.direction == "out",
                    ChannelMessage.external_id == external_id,
                )
            )
            if record is None:
                session.add(
                    ChannelMessage(
                        tenant_id=channel.tenant_id,
                        channel_id=channel.id,
                        conversation_id=conversation,
                        message_id=message_id,
                        direction="out",
                        external_id=external_id,
                        status=status,
                        error_code=code,
                        error=error,
                    )
                )
            else:  # a status webhook arrived first: keep whichever status is further along
                record.conversation_id, record.message_id = conversation, message_id
                if forward(record.status, status):
                    record.status = status


@dataclass
class ChannelLine:
    """One channel account opened for sending (crm/broadcasts/sending.Line): its secrets and its
    budget's limiter (None: the adapter paces itself) taken once for a run of sends."""

    db: Database
    channel: Channel
    adapter: Adapter
    secrets: dict[str, Any]
    limiter: RateLimiter | None
    rate: int

    @property
    def kind(self) -> str:
        return self.channel.kind

    @property
    def channel_id(self) -> str:
        return self.channel.id

    @property
    def batch_size(self) -> int:
        return max(1, min(50, self.rate // 8))  # about an eighth of a second of sends

    @property
    def broadcasts_per_month(self) -> int | None:
        return POLICIES[self.kind].broadcasts_per_month

    def window_open(self, last_customer: datetime | None, now: datetime) -> bool:
        return may_send_free_form(self.kind, last_customer, now)

    def window_closed(self) -> str:
        return window_closed(self.kind)

    def last_customer_messages_at(self, session: Session, contact_ids: Iterable[str]) -> dict[str, datetime]:
        return last_customer_messages_at(session, contact_ids, self.kind)

    async def send(
        self,
        to: str,
        outgoing: Outgoing,
        purpose: Purpose,
        last_customer: datetime | None,
        on_departure: Callable[[], None] | None = None,
    ) -> Outcome:
        """The window rule picks what goes (or nothing), the budget when, and the platform's answer what
        became of it. `on_departure` is called the moment the request leaves (channels/rate_limit.py)."""
        sending = self._choose(to, outgoing, purpose, last_customer)
        if isinstance(sending, Outcome):
            return sending
        # Whichever limiter paces this send (ours, or the adapter's own) marks the moment it leaves: a send
        # cancelled before then certainly never reached the platform and may go again.
        departing.set(on_departure)
        try:
            if self.limiter is not None:
                await self.limiter.wait()
            external_id = await sending()
        except SendError as exc:
            count_send(self.kind, exc)
            return Outcome(
                "retry" if exc.retryable else "failed",
                reason=exc.reason,
                code=exc.code,
                retry_after=exc.retry_after,
            )
        except Exception as exc:  # a bug or an unexpected answer: a failure to retry, not a crash
            log.exception("a %s send to %s failed", self.kind, to)
            error = SendError(f"unexpected error: {type(exc).__name__}: {exc}", retryable=True)
            count_send(self.kind, error)
            return Outcome("retry", reason=error.reason)
        if external_id is None:  # the channel has no fallback configured: nothing went out
            return Outcome("skipped", reason=window_closed(self.kind, fallback=True))
        count_send(self.kind, None)
        return Outcome("sent", external_id=external_id)

    def _choose(
        self, to: str, outgoing: Outgoing, purpose: Purpose, last_customer: datetime | None
    ) -> Callable[[], Awaitable[str | None]] | Outcome:
        """The send the rules allow now (a coroutine function), or the Outcome of sending nothing."""
        adapter, kind, now = self.adapter, self.kind, utcnow()
        config, secrets = self.channel.config, self.secrets
        tag = {"tag": outgoing.tag} if outgoing.tag and isinstance(adapter, EchoesTags) else {}
        template = outgoing.template
        if template is not None and not (outgoing.text or outgoing.media):
            if not isinstance(adapter, SendsRich):
                return Outcome("failed", reason=f"{kind} has no approved templates")
            return lambda: adapter.send_template(
                config, secrets, to, template.name, template.language, template.parameters, **tag
            )
        if may_send_free_form(kind, last_customer, now):
            media, text = outgoing.media, outgoing.text
            if media is not None and isinstance(adapter, SendsRich):
                return lambda: adapter.send_media(config, secrets, to, media.kind, media.link, text, **tag)
            if media is not None:  # a channel without media messages: the link goes with the text
                text = f"{text}\n\n{media.link}".strip()
            return lambda: adapter.send_text(config, secrets, to, text, **tag)
        if (
            purpose == "human"
            and isinstance(adapter, SendsHumanText)
            and may_send_free_form(kind, last_customer, now, by_human=True)
        ):
            return lambda: adapter.send_human_text(config, secrets, to, outgoing.text)
        if purpose == "reply" and isinstance(adapter, SendsOutsideWindow):  # the agent never goes free-form
            return lambda: adapter.send_outside_window(config, secrets, to)
        if template is not None and isinstance(adapter, SendsRich):
            return lambda: adapter.send_template(
                config, secrets, to, template.name, template.language, template.parameters, **tag
            )
        return Outcome(
            "skipped", reason=window_closed(kind, by_human=purpose == "human", fallback=purpose == "reply")
        )

    def record(self, session: Session, external_ids: list[str]) -> dict[str, str]:
        """Record a batch of sent messages in the caller's transaction (one statement), for their status
        webhooks to update; return the statuses webhooks already brought, further along than sent."""
        if not external_ids:
            return {}
        found = session.execute(
            select(ChannelMessage.external_id, ChannelMessage.status).where(
                ChannelMessage.channel_id == self.channel.id,
                ChannelMessage.direction == "out",
                ChannelMessage.external_id.in_(external_ids),
            )
        )
        early: dict[str, str] = {external: status for external, status in found}
        records = [
            {
                "id": new_id(),
                "tenant_id": self.channel.tenant_id,
                "channel_id": self.channel.id,
                "direction": "out",
                "external_id": external,
                "status": "sent",
            }
            for external in external_ids
            if external not in early
        ]
        if records:
            session.connection().execute(insert_ignoring_duplicates(session, ChannelMessage), records)
        return {external: status for external, status in early.items() if forward("sent", status)}
