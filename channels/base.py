"""The one small interface every channel adapter implements, and the normalised events it produces.

An adapter verifies a webhook request, parses its body into normalised inbound messages, status
updates and platform events (a reaction, an edit, a follow: never answered), and sends text. Nothing of a platform's wire format leaves its adapter; the processor,
the inbox and the agent only see these types. Messaging windows live in channels/window.py.
"""

from __future__ import annotations

import json
import logging
import math
import reprlib
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, NamedTuple, Protocol, runtime_checkable

import httpx
import orjson

from core import metrics
from core.errors import InvalidInput, ParleyError

log = logging.getLogger(__name__)
# The columns an event's fields land in (channel_messages.external_id, contacts' external_id with the
# channel's prefix, name and phone).
MAX_ID, MAX_SENDER, MAX_NAME, MAX_PHONE, MAX_KIND = 200, 180, 200, 50, 40
MAX_JSON_DEPTH = 64  # platforms nest about 10 deep; far deeper is not a delivery (and breaks json later)
# Timestamps outside these years are a wrong unit or a wrong value, not a real time (platform_time).
EARLIEST, LATEST = datetime(2000, 1, 1, tzinfo=UTC).timestamp(), datetime(2100, 1, 1, tzinfo=UTC).timestamp()


@dataclass
class Inbound:
    external_id: str
    """The platform's id for this message or update: duplicates carry the same one."""
    sender: str
    """Stable customer id on the platform (never a phone number alone where a platform id exists)."""
    phone: str | None
    name: str | None
    kind: str
    text: str
    """What the agent reads (a caption, a button title, a location description, ...)."""
    sent_at: datetime
    answerable: bool = True
    reply_to: str = ""
    """Where a reply goes (a phone number, a chat id, a user id)."""
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class StatusUpdate:
    external_id: str
    status: str
    sent_at: datetime
    recipient: str | None
    error_code: int | None = None
    error: str | None = None
    tag: str = ""
    """What the sender attached to the message and the platform echoes back (WhatsApp's
    biz_opaque_callback_data): how a status finds a message whose id was never recorded."""


EventKind = Literal["reaction", "edit", "follow", "unfollow", "join", "leave", "started", "menu", "other"]
"""What a platform event is (channels/platform_events.py applies each):
reaction: an emoji on a message (`text`; "" takes it away); edit: a message's new text (`text`);
follow / unfollow: the customer followed (subscribed to) or unfollowed (blocked, unsubscribed) the account;
join / leave: the account was added to or removed from a group; started: the customer opened the chat
(Viber's conversation_started) without writing yet; menu: a menu item clicked (WeChat's CLICK, VIEW);
other: an event kept only as a record (WeChat's SCAN, LOCATION reports, ...)."""


@dataclass
class PlatformEvent:
    """Something a customer did on the platform that is not a message to answer: it changes a stored
    message or the contact's state on the channel, and never reaches the agent."""

    external_id: str
    """The platform's id for the event (deduplicated like a message's)."""
    sender: str
    kind: EventKind
    sent_at: datetime
    target: str = ""
    """The platform's id of the message a reaction or an edit is about."""
    text: str = ""
    """A reaction's emoji ("" removes the sender's reaction) or an edit's new text."""
    name: str | None = None
    phone: str | None = None
    reply_to: str = ""
    """Where a message to the customer goes (a welcome after a follow)."""
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class Unparsed:
    """One event of a signed delivery that could not be read: kept with the reason instead of being
    dropped (channels/unparsed.py stores it where an admin sees it), while the events beside it proceed."""

    raw: str
    """The event alone, as the platform sent it (JSON or XML text)."""
    error: str


class Parsed(NamedTuple):
    """What one delivery holds."""

    inbound: list[Inbound]
    statuses: list[StatusUpdate]
    unparsed: list[Unparsed]
    events: list[PlatformEvent]


Item = Inbound | StatusUpdate | PlatformEvent
"""What an adapter's reader finds in one event of a delivery."""


class Events:
    """Reads a delivery event by event, so that one event that cannot be read costs only itself.

    An adapter calls `read(event, reader)` for each event; the reader returns the event's messages,
    statuses and platform events, or raises. Whatever it raises, the event is kept raw as Unparsed with
    the reason: a signed delivery is the platform's, and a shape we did not foresee must neither fail the delivery (the
    platform would retry it for days, and the good events beside it would be lost) nor vanish."""

    def __init__(self) -> None:
        self.inbound: list[Inbound] = []
        self.statuses: list[StatusUpdate] = []
        self.unparsed: list[Unparsed] = []
        self.events: list[PlatformEvent] = []

    def read(self, event: Any, reader: Callable[[Any], Iterable[Item] | None], raw: str = "") -> None:
        """`raw`: the event's own text where it is not JSON (WeChat's XML)."""
        try:
            found = [self._fits(item) for item in reader(event) or ()]
        except Exception as exc:  # see the class docstring: any failure is this event's alone
            reason = exc.message if isinstance(exc, ParleyError) else f"{type(exc).__name__}: {exc}"
            self.unparsed.append(Unparsed(raw=raw or raw_text(event), error=reason[:1000]))
            log.warning("an event of a signed delivery could not be read: %s", reason)
            return
        for item in found:
            if isinstance(item, Inbound):
                self.inbound.append(item)
            elif isinstance(item, PlatformEvent):
                self.events.append(item)
            else:
                self.statuses.append(item)

    def _fits(self, item: Item) -> Item:
        """The columns an event lands in take it (checked here: PostgreSQL would refuse it later, in the
        ingest job, where the refusal would stop every later delivery of the channel)."""
        if not isinstance(item.external_id, str) or not 0 < len(item.external_id) <= MAX_ID:
            raise InvalidInput(f"an id must be 1 to {MAX_ID} characters")
        if isinstance(item, StatusUpdate):
            return item
        if isinstance(item, PlatformEvent):
            return _event_fits(item)
        if not all(isinstance(v, str) for v in (item.sender, item.kind, item.text, item.reply_to)):
            raise InvalidInput("a sender, kind, text or address that is not text")
        if len(item.sender) > MAX_SENDER:
            raise InvalidInput(f"a sender id longer than {MAX_SENDER} characters")
        if not isinstance(item.data, dict):
            raise InvalidInput("an event's data that is not an object")
        item.kind = item.kind[:MAX_KIND]
        # A display name is only shown: cut to its column. A phone number is not cut (that would be
        # another number): one that long is not a phone number, and the sender id still identifies them.
        item.name = item.name[:MAX_NAME] if isinstance(item.name, str) else None
        item.phone = item.phone if isinstance(item.phone, str) and len(item.phone) <= MAX_PHONE else None
        return item

    def parsed(self) -> Parsed:
        return Parsed(self.inbound, self.statuses, self.unparsed, self.events)


def _event_fits(event: PlatformEvent) -> PlatformEvent:
    """As Events._fits, for a platform event: the id it is deduplicated by, the sender it finds the contact
    by and the message id it points at fit their columns; a name or phone that does not is dropped."""
    if not all(isinstance(v, str) for v in (event.sender, event.target, event.text, event.reply_to)):
        raise InvalidInput("an event's sender, target, text or address that is not text")
    if not 0 < len(event.sender) <= MAX_SENDER:
        raise InvalidInput(f"an event's sender must be 1 to {MAX_SENDER} characters")
    if len(event.target) > MAX_ID:
        raise InvalidInput(f"an event about a message id longer than {MAX_ID} characters")
    if not isinstance(event.data, dict):
        raise InvalidInput("an event's data that is not an object")
    event.name = event.name[:MAX_NAME] if isinstance(event.name, str) else None
    event.phone = event.phone if isinstance(event.phone, str) and len(event.phone) <= MAX_PHONE else None
    return event


def raw_text(event: Any) -> str:
    """An event as JSON text, whatever it holds (a last resort for what JSON cannot write)."""
    try:
        return json.dumps(event, ensure_ascii=False, default=str)
    except (ValueError, TypeError, RecursionError):
        return reprlib.repr(event)


def platform_time(value: Any, *, millis: bool = False) -> datetime:
    """A platform's timestamp (seconds since the epoch, or milliseconds with `millis`) as UTC.

    A value in the other unit than promised (WeChat's CreateTime in milliseconds gave the year 50098) is
    read in that unit; a missing, non-numeric or impossible one is taken as now, so a wrong clock never
    costs the message."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return datetime.now(UTC)
    try:
        number = float(value)
    except (ValueError, OverflowError):
        return datetime.now(UTC)
    if not math.isfinite(number):
        return datetime.now(UTC)
    seconds = number / 1000 if millis else number
    for candidate in (seconds, seconds / 1000, seconds * 1000):  # as promised, then the other unit
        if EARLIEST <= candidate <= LATEST:
            return datetime.fromtimestamp(candidate, UTC)
    return datetime.now(UTC)


def json_body(raw: bytes) -> dict[str, Any]:
    """The JSON object a webhook posted, or InvalidInput (a 4xx) naming what is wrong.

    orjson first: it parses a delivery in about a third of the standard library's time, on the request
    path of every webhook. What it refuses but json accepts (integers beyond 64 bits, NaN) gets a second
    look from json, so no body is refused that was accepted before. A body nested deeper than
    MAX_JSON_DEPTH is refused: no platform sends one, and its events could not be stored as JSON."""
    try:
        payload = orjson.loads(raw)
    except orjson.JSONDecodeError:
        try:
            payload = json.loads(raw)
        except RecursionError as exc:
            raise InvalidInput(_too_deep(), code="too_deep") from exc
        except ValueError as exc:
            raise InvalidInput("the body is not JSON", code="bad_json") from exc
    if not isinstance(payload, dict):
        raise InvalidInput("the body is not a JSON object", code="bad_json")
    # Counting brackets is a few microseconds; only a body with that many of them is walked.
    if raw.count(b"{") + raw.count(b"[") > MAX_JSON_DEPTH and _deeper_than(payload, MAX_JSON_DEPTH):
        raise InvalidInput(_too_deep(), code="too_deep")
    return payload


def _too_deep() -> str:
    return f"the body nests deeper than {MAX_JSON_DEPTH} levels: not a platform's delivery"


def _deeper_than(value: Any, limit: int) -> bool:
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is None:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


def response_json(response: httpx.Response) -> dict[str, Any]:
    """A platform's answer to a send as a JSON object; {} when it is none (an empty body, a proxy's page).

    Send paths decide by the HTTP status first, then by this: a message the platform accepted is never
    sent again because its answer could not be read."""
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def object_at(body: Mapping[str, Any], key: str) -> dict[str, Any]:
    """body[key] when it is a JSON object, else {} (for reading platforms' answers defensively)."""
    value = body.get(key)
    return value if isinstance(value, dict) else {}


def int_at(body: Mapping[str, Any], key: str, default: int) -> int:
    """body[key] when it is an integer, else `default`."""
    value = body.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def sent_without_id(kind: str) -> str:
    """The id recorded for a message a platform accepted (2xx) without saying its id: it was sent, under
    an id nobody knows. Unique, so it never collides with another send's record; a status webhook cannot
    find it, which is the one thing lost."""
    log.warning("%s accepted a message without returning its id; recorded as sent", kind)
    return f"{kind}:sent-unknown-id:{uuid.uuid4().hex}"


class SendError(Exception):
    """A platform refused a message; `retryable` says whether backing off and trying again can help."""

    def __init__(
        self,
        reason: str,
        *,
        code: int | None = None,
        retryable: bool = False,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code
        self.retryable = retryable
        self.retry_after = retry_after
        """Seconds to wait before trying this message again, when the platform (or its client) knows."""


def count_send(kind: str, error: SendError | None) -> None:
    """Record a send attempt in the sends metric (core/metrics.py): sent, or failed / retry (the platform
    may take it later) with the platform's error code."""
    if error is None:
        metrics.count_send(kind, "sent")
    else:
        metrics.count_send(kind, "retry" if error.retryable else "failed", error.code)


class Adapter(Protocol):
    kind: str
    signs_url: bool  # the signature covers the URL the platform called (Twilio, WeChat's query)

    def verify(
        self, headers: Mapping[str, str], raw: bytes, secrets: Mapping[str, Any], url: str = ""
    ) -> None:
        """Raise Unauthorized unless the request really comes from the platform (`url`: as the platform called it)."""
        ...

    def parse(self, raw: bytes) -> Parsed:
        """Normalised events of one delivery, each read on its own (an event that cannot be read is
        Unparsed); raise InvalidInput for a body that is not the platform's at all."""
        ...

    async def send_text(
        self, config: Mapping[str, Any], secrets: Mapping[str, Any], to: str, text: str
    ) -> str:
        """Send a text; return the platform's id for it; raise SendError."""
        ...


# --- what some adapters can do besides send_text (the outbox asks with isinstance) ---------------------
@runtime_checkable
class SendsHumanText(Protocol):
    """A person's message may go after the free-form window, up to the policy's human-agent window
    (Messenger's and Instagram's HUMAN_AGENT tag). Never used for an automated message."""

    async def send_human_text(
        self, config: Mapping[str, Any], secrets: Mapping[str, Any], to: str, text: str
    ) -> str: ...


@runtime_checkable
class SendsOutsideWindow(Protocol):
    """Outside the window the channel's own fallback (WhatsApp's configured template) may answer."""

    async def send_outside_window(
        self, config: Mapping[str, Any], secrets: Mapping[str, Any], to: str
    ) -> str | None:
        """The fallback's id, or None when the channel has none configured (nothing was sent)."""
        ...


@runtime_checkable
class SendsRich(Protocol):
    """Media with a caption and approved templates (WhatsApp); `tag` as in EchoesTags."""

    async def send_media(
        self,
        config: Mapping[str, Any],
        secrets: Mapping[str, Any],
        to: str,
        kind: str,
        link: str,
        caption: str,
        tag: str = "",
    ) -> str: ...

    async def send_template(
        self,
        config: Mapping[str, Any],
        secrets: Mapping[str, Any],
        to: str,
        name: str,
        language: str,
        parameters: list[str],
        tag: str = "",
    ) -> str: ...


@runtime_checkable
class EchoesTags(Protocol):
    """Every send method takes a `tag` the platform echoes in the message's status webhooks (WhatsApp's
    biz_opaque_callback_data): how a status finds a message whose id a crash lost."""

    async def send_text(
        self, config: Mapping[str, Any], secrets: Mapping[str, Any], to: str, text: str, tag: str = ""
    ) -> str: ...

    echoes_tags: bool


@runtime_checkable
class PacesItself(Protocol):
    """The adapter's client keeps each account under its throughput (WhatsApp's, shared through
    channels/send_budget.py): the outbox adds no limiter of its own."""

    def per_second(self, config: Mapping[str, Any]) -> int:
        """The account's ceiling (the channel's own setting, else the adapter's default)."""
        ...


@runtime_checkable
class SignsNonce(Protocol):
    """The signature does not cover the body (WeChat's query signature): each signed nonce is claimed
    once, so a captured request cannot be replayed with another body."""

    def signed_nonce(self, url: str) -> tuple[int, str]: ...
