"""What a broadcast's sender asks of the outbox, and what goes between them.

The outbox (channels/outbox.py) sends every message of the product; the broadcast sender
(crm/broadcasts/sender.py) reaches it through these Protocols, since crm may not import channels. The
outbox's own types are defined here for the same reason: it imports them, never the other way round.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol, TypeVar

from sqlalchemy.orm import Session

T = TypeVar("T")
Purpose = Literal["reply", "human", "automated", "broadcast"]
"""Why a message goes, which decides what the window allows:
reply: the agent's answer to a customer message (or an interceptor's, such as an opt-out confirmation);
  outside the window, the channel's fallback template if it has one.
human: what a person wrote in the inbox; the longer human-agent window where the platform has one.
automated: the inbox's own message (a CSAT question, a welcome after a follow): inside the window only.
broadcast: free-form inside the window; outside it, only the broadcast's template."""


@dataclass(frozen=True)
class Template:
    name: str
    language: str
    parameters: list[str]


@dataclass(frozen=True)
class Media:
    kind: str
    link: str


@dataclass(frozen=True)
class Outgoing:
    """One message to send: free-form text (with media, as its caption), or an approved template."""

    text: str = ""
    media: Media | None = None
    template: Template | None = None
    """An approved template (WhatsApp), which may go outside the window."""
    tag: str = ""
    """Echoed back in the message's status webhooks where the platform does (channels/base.EchoesTags)."""


@dataclass(frozen=True)
class Outcome:
    """What became of a send."""

    status: Literal["sent", "skipped", "failed", "retry"]
    """sent; skipped (a rule forbade it, nothing went out); failed (the platform refused it for good);
    retry (the platform refused it for now, or did not answer: trying again later may help)."""
    external_id: str = ""
    """The platform's id for what was sent."""
    reason: str = ""
    code: int | None = None
    """The platform's error code."""
    retry_after: float | None = None
    """Seconds to wait before trying again, when the platform says."""


class Line(Protocol):
    """One channel account opened for a run of sends (its secrets and send budget taken once)."""

    @property
    def kind(self) -> str: ...

    @property
    def channel_id(self) -> str: ...

    @property
    def batch_size(self) -> int:
        """How many sends to have on the wire at once: about an eighth of a second of the account's ceiling."""
        ...

    @property
    def broadcasts_per_month(self) -> int | None:
        """At most this many broadcasts per follower per calendar month (WeChat), or None."""
        ...

    def window_open(self, last_customer: datetime | None, now: datetime) -> bool:
        """May a broadcast go free-form to a customer who last wrote at `last_customer`?"""
        ...

    def window_closed(self) -> str:
        """The reason a broadcast is skipped outside the window without a template."""
        ...

    def last_customer_messages_at(self, session: Session, contact_ids: Iterable[str]) -> dict[str, datetime]:
        """When each contact last wrote on this channel (contacts who never did are left out)."""
        ...

    async def send(
        self,
        to: str,
        outgoing: Outgoing,
        purpose: Purpose,
        last_customer: datetime | None,
        on_departure: Callable[[], None] | None = None,
    ) -> Outcome:
        """Send under the channel's rules and budget; `on_departure` is called the moment the request leaves."""
        ...

    def record(self, session: Session, external_ids: list[str]) -> dict[str, str]:
        """Record sent messages in the caller's transaction; the statuses their webhooks already brought,
        where these are further along than sent."""
        ...


class Outbox(Protocol):
    def line(self, channel_id: str, tenant_id: str) -> Line:
        """The channel account, opened for sending; NotFound when the channel was deleted."""
        ...

    def run(self, sending: Coroutine[Any, Any, T]) -> T:
        """Run sends from a background job's thread, on the event loop that holds its HTTP connections."""
        ...
