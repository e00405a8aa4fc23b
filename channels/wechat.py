"""WeChat Official Account adapter (XML).

Requests are signed in the query string: signature = sha1 of the sorted token, timestamp and nonce.
The body is not signed, so a delivery is refused when its timestamp is outside a window
(PARLEY_WECHAT_SIGNATURE_WINDOW_SECONDS) or its (timestamp, nonce) came before with another body.
The GET handshake echoes `echostr`. WeChat waits 5 s for a passive reply; Parley always answers
"success" at once and sends the agent's reply asynchronously through the customer-service message
API, which allows replies within 48 hours of the customer's last message (5 per message).
"""

from __future__ import annotations

import hashlib
import threading
import time
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from channels.base import (
    EventKind,
    Events,
    Inbound,
    Parsed,
    PlatformEvent,
    SendError,
    int_at,
    platform_time,
    response_json,
)
from channels.http_pool import HttpPool
from channels.models import Channel
from core.errors import Forbidden, InvalidInput, Unauthorized
from core.signatures import matches

ERRORS = {
    45015: "more than 48 hours since the customer's last message",
    45047: "more than 5 replies to one message",
    43004: "the customer does not follow the account",
    40003: "invalid openid",
}
TOKEN_ERRORS = (40001, 42001, 40014)  # expired or invalid access token: fetch a new one and retry
MAX_NONCE = 64  # channel_signed_nonces.nonce (WeChat's are about 10 digits)
# WeChat's events (MsgType "event") as the events every platform shares; any other (SCAN, LOCATION,
# TEMPLATESENDJOBFINISH, ...) is kept as "other". None is a message to answer.
EVENTS: dict[str, EventKind] = {
    "subscribe": "follow",
    "unsubscribe": "unfollow",
    "CLICK": "menu",
    "VIEW": "menu",
}


def check_signature(token: str, query: Mapping[str, str]) -> None:
    parts = sorted([token, query.get("timestamp", ""), query.get("nonce", "")])
    expected = hashlib.sha1("".join(parts).encode()).hexdigest()
    if not matches(query.get("signature"), expected):
        raise Unauthorized("bad or missing WeChat signature")


def handshake(token: str, query: Mapping[str, str]) -> str:
    try:
        check_signature(token, query)
    except Unauthorized as exc:
        raise Forbidden("WeChat server verification failed: wrong token") from exc
    return query.get("echostr", "")


def _query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def _text(root: ET.Element, name: str) -> str:
    node = root.find(name)
    return (node.text or "") if node is not None else ""


def parse_xml(raw: bytes) -> Parsed:
    """A delivery holds one message: read on its own all the same (see channels/base.py's Events)."""
    try:
        root = ET.fromstring(raw)
    except ET.ParseError as exc:
        raise InvalidInput("the body is not WeChat XML", code="bad_xml") from exc
    if root.tag != "xml" or not _text(root, "FromUserName"):
        raise InvalidInput("not a WeChat message (FromUserName missing)")
    events = Events()
    events.read(root, _read_message, raw=raw.decode("utf-8", "replace"))
    return events.parsed()


def _read_message(root: ET.Element) -> list[Inbound | PlatformEvent]:
    sender = _text(root, "FromUserName")
    created = _text(root, "CreateTime")
    when = platform_time(created)  # seconds, though some deliveries carry milliseconds
    kind = _text(root, "MsgType")
    if kind == "event":
        return [_event(root, sender, created, when)]
    external_id = _text(root, "MsgId") or f"{sender}:{created}:{kind}"
    data: dict[str, Any] = {}
    if kind == "text":
        text, answerable = _text(root, "Content"), True
    elif kind in ("image", "voice", "video", "shortvideo"):
        data["media_id"] = _text(root, "MediaId")
        recognition = _text(root, "Recognition")  # voice-to-text, when enabled
        text, answerable = recognition or f"[{kind}]", True
    elif kind == "location":
        text, answerable = (
            f"[location] {_text(root, 'Label')} ({_text(root, 'Location_X')}, {_text(root, 'Location_Y')})",
            True,
        )
    elif kind == "link":
        text, answerable = f"[link] {_text(root, 'Title')} {_text(root, 'Url')}", True
    else:
        text, answerable = "[unsupported message]", False
    return [
        Inbound(
            external_id=external_id,
            sender=sender,
            phone=None,
            name=None,
            kind=kind,
            text=text,
            sent_at=when,
            answerable=answerable and bool(text.strip()),
            reply_to=sender,
            data=data,
        )
    ]


def _event(root: ET.Element, sender: str, created: str, when: datetime) -> PlatformEvent:
    """An event pushed by WeChat: events carry no MsgId; the sender, time and event name identify one
    (WeChat's own advice for deduplicating them)."""
    event = _text(root, "Event")
    key = _text(root, "EventKey")  # the menu item's key, or "qrscene_..." for a follow by QR code
    return PlatformEvent(
        external_id=f"{sender}:{created}:event:{event}"[:200],
        sender=sender,
        kind=EVENTS.get(event, "other"),
        sent_at=when,
        reply_to=sender,
        data={"event": event, "event_key": key} if key else {"event": event},
    )


class WeChatAdapter:
    kind = "wechat"
    signs_url = True

    def __init__(self, api_base: str, window_seconds: int = 300, *, http: HttpPool) -> None:
        self._base = api_base.rstrip("/")
        self._http = http
        self._window = window_seconds
        self._tokens: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()

    def verify(
        self, headers: Mapping[str, str], raw: bytes, secrets: Mapping[str, Any], url: str = ""
    ) -> None:
        query = _query(url)
        check_signature(str(secrets["token"]), query)
        # The signature covers the timestamp but not the body: an old signed triple must not carry a new
        # body, so the timestamp must be recent (and the nonce new: signed_nonce, channels/replay.py).
        stamp = query.get("timestamp", "")
        if not stamp.isdigit():
            raise Unauthorized("WeChat timestamp missing or not a number")
        drift = abs(time.time() - int(stamp))
        if drift > self._window:
            raise Unauthorized(
                f"WeChat timestamp is {int(drift)} s away from now, outside the accepted {self._window} s: "
                "a replayed or delayed request"
            )

    def signed_nonce(self, url: str) -> tuple[int, str]:
        """The signed (timestamp, nonce) of a verified request, which must not come again with another body."""
        query = _query(url)
        nonce = query.get("nonce", "")
        if not 0 < len(nonce) <= MAX_NONCE:
            raise Unauthorized(f"WeChat nonce missing or longer than {MAX_NONCE} characters")
        return int(query["timestamp"]), nonce

    def parse(self, raw: bytes) -> Parsed:
        return parse_xml(raw)

    def forget(self, channel: Channel) -> None:
        """Drop a deleted (or changed) channel's access token: the next send fetches one with its credentials."""
        with self._lock:
            self._tokens.pop(str(channel.config.get("app_id")), None)

    async def _access_token(
        self, config: Mapping[str, Any], secrets: Mapping[str, Any], refresh: bool = False
    ) -> str:
        app_id = str(config["app_id"])
        with self._lock:
            cached = self._tokens.get(app_id)
        if cached and cached[1] > time.time() and not refresh:
            return cached[0]
        response = await self._http.client().get(
            f"{self._base}/cgi-bin/token",
            params={"grant_type": "client_credential", "appid": app_id, "secret": secrets["app_secret"]},
        )
        body = response.json()
        if "access_token" not in body:
            raise SendError(
                f"WeChat refused the app credentials: {body.get('errmsg')} (errcode {body.get('errcode')})",
                code=body.get("errcode"),
            )
        with self._lock:
            self._tokens[app_id] = (
                body["access_token"],
                time.time() + int(body.get("expires_in", 7200)) - 300,
            )
        return str(body["access_token"])

    async def send_text(
        self, config: Mapping[str, Any], secrets: Mapping[str, Any], to: str, text: str
    ) -> str:
        payload = {"touser": to, "msgtype": "text", "text": {"content": text[:2000]}}
        for attempt in range(2):
            token = await self._access_token(config, secrets, refresh=attempt > 0)
            try:
                response = await self._http.client().post(
                    f"{self._base}/cgi-bin/message/custom/send",
                    params={"access_token": token},
                    json=payload,
                )
            except httpx.HTTPError as exc:
                raise SendError(
                    f"WeChat could not be reached ({type(exc).__name__})", retryable=True
                ) from exc
            body = response_json(response)
            code = int_at(body, "errcode", 0 if "errcode" not in body else -1)
            if code == 0 and response.status_code < 300:
                # The customer-service API answers without a message id: ours, unique on the channel.
                return f"wechat:{to}:{uuid.uuid4().hex}"
            if code not in TOKEN_ERRORS:
                reason = ERRORS.get(code, str(body.get("errmsg", "WeChat refused the message")))
                raise SendError(f"{reason} (errcode {code})", code=code, retryable=code == -1)
        raise SendError("WeChat kept refusing a fresh access token", retryable=True)
