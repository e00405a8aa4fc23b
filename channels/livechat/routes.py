"""Live chat over a WebSocket, the widget script, the demo page, and the widget's admin settings.

Wire protocol (JSON frames). The server opens with {"type": "session", "token"?, "conversation_id"}
and {"type": "history", "messages": [...]}. The client sends {"type": "message", "text", "client_id"};
the first message creates the visitor's contact and conversation (a session frame then carries its id);
the server answers {"type": "ack", "client_id", "id"}, {"type": "typing", "on": true}, the agent's
{"type": "message", ...} and {"type": "typing", "on": false}. A message resent after a reconnect
(same client_id) is acknowledged again with the stored reply and never answered twice, and one whose turn a
crash cut short is answered then (channels/livechat/turns.py); {"type": "resume", "after": id} returns
what the visitor missed while disconnected. Turns beyond a visitor's or an address's budget per minute
are refused with {"type": "error", "code": "rate_limited", "client_id", "retry_after", "resend": true}:
the message was not answered, and the widget sends it again after retry_after seconds.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Request, WebSocket, WebSocketDisconnect
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, HTMLResponse
from pydantic import BaseModel

from channels.livechat.connection import Connection
from channels.livechat.demo import DemoPage
from channels.livechat.limits import TurnLimits
from channels.livechat.locks import TurnLocks
from channels.livechat.store import LivechatStore
from channels.livechat.visitors import VisitorSockets
from channels.webhook import public_url
from config import Settings
from core.audit import key_actor
from core.deps import AdminDep, provided
from core.errors import ParleyError
from inbox.turns import Turns

log = logging.getLogger(__name__)
router = APIRouter(tags=["live chat"])
WEB = Path(__file__).resolve().parents[2] / "web"


LivechatDep = Annotated[LivechatStore, provided(LivechatStore)]
SettingsDep = Annotated[Settings, provided(Settings)]
DemoDep = Annotated[DemoPage, provided(DemoPage)]
TurnsDep = Annotated[Turns, provided(Turns)]
LocksDep = Annotated[TurnLocks, provided(TurnLocks)]
LimitsDep = Annotated[TurnLimits, provided(TurnLimits)]
VisitorsDep = Annotated[VisitorSockets, provided(VisitorSockets)]


class WidgetOut(BaseModel):
    widget_key: str
    identity_secret: str
    require_identity: bool
    snippet: str


class WidgetIn(BaseModel):
    require_identity: bool | None = None
    rotate_key: bool = False


def widget_out(
    request: Request, settings: Settings, store: LivechatStore, tenant_id: str, **changes: Any
) -> WidgetOut:
    """The tenant's widget (after `changes`, LivechatStore.update's) with its snippet, whose script is
    this server's at its public address (PARLEY_PUBLIC_URL behind a proxy). The console shows the same."""
    widget = store.update(tenant_id, **changes) if changes else store.widget(tenant_id)
    src = public_url(settings, request.url.replace(path="/widget.js", query=""))
    snippet = f'<script src="{src}" data-widget-key="{widget.widget_key}" async></script>'
    return WidgetOut(
        widget_key=widget.widget_key,
        identity_secret=widget.identity_secret,
        require_identity=widget.require_identity,
        snippet=snippet,
    )


@router.get("/v1/livechat/widget", response_model=WidgetOut)
def get_widget(request: Request, principal: AdminDep, store: LivechatDep, settings: SettingsDep) -> WidgetOut:
    return widget_out(request, settings, store, principal.tenant_id)


@router.put("/v1/livechat/widget", response_model=WidgetOut)
def put_widget(
    body: WidgetIn, request: Request, principal: AdminDep, store: LivechatDep, settings: SettingsDep
) -> WidgetOut:
    return widget_out(
        request,
        settings,
        store,
        principal.tenant_id,
        actor=key_actor(principal.key_id),
        require_identity=body.require_identity,
        rotate_key=body.rotate_key,
    )


@router.get("/widget.js", include_in_schema=False)
def widget_js() -> FileResponse:
    return FileResponse(
        WEB / "widget.js",
        media_type="application/javascript",
        headers={"Cache-Control": "public, max-age=300"},
    )


@router.get("/demo", include_in_schema=False)
def demo_page(demo: DemoDep) -> HTMLResponse:
    widget_key = demo.widget_key
    if not widget_key:
        return HTMLResponse(
            "<h1>No demo tenant</h1><p>Start with PARLEY_DEMO=true (make run).</p>", status_code=404
        )
    page = (WEB / "demo.html").read_text().replace("{{WIDGET_KEY}}", widget_key)
    return HTMLResponse(page)


@router.websocket("/v1/livechat/ws")
async def livechat_socket(
    ws: WebSocket,
    store: LivechatDep,
    turns: TurnsDep,
    locks: LocksDep,
    limits: LimitsDep,
    visitors: VisitorsDep,
) -> None:
    params = ws.query_params
    await ws.accept()
    try:
        session = await run_in_threadpool(
            store.open,
            params.get("widget_key", ""),
            params.get("token"),
            params.get("identifier"),
            params.get("identifier_hash"),
        )
    except ParleyError as exc:
        await ws.send_json({"type": "error", "code": exc.code, "message": exc.message})
        await ws.close(code=4401 if exc.code == "unauthorized" else 4403)
        return
    connection = Connection(
        ws, session, turns=turns, store=store, locks=locks, limits=limits, visitors=visitors
    )
    # conversation_id is null until the first message creates it (and a session frame then tells it).
    opening: dict[str, Any] = {"type": "session", "conversation_id": session.conversation_id}
    if session.token:
        opening["token"] = session.token
    await ws.send_json(opening)
    await ws.send_json({"type": "history", "messages": await connection.history()})
    connection.listen()
    try:
        while True:
            frame = await _next_frame(ws)
            kind = frame.get("type") if isinstance(frame, dict) else None
            if frame is BINARY:
                await ws.send_json(
                    {
                        "type": "error",
                        "code": "binary_frame",
                        "message": "binary frames are not read; send each JSON frame as a text frame",
                    }
                )
            elif kind == "message":
                await connection.on_message(frame)
            elif kind == "resume":
                await ws.send_json(
                    {"type": "history", "messages": await connection.history(frame.get("after"))}
                )
            elif kind == "ping":
                await ws.send_json({"type": "pong"})
            else:
                await ws.send_json(
                    {"type": "error", "message": "unknown frame type; use message, resume or ping"}
                )
    except WebSocketDisconnect:
        return
    except (ValueError, RecursionError):  # not JSON (or nested too deep to read)
        await ws.close(code=1003)
    finally:
        connection.close()


BINARY = object()  # what _next_frame returns for a binary frame


async def _next_frame(ws: WebSocket) -> Any:
    """The next frame's JSON, or BINARY. Starlette's receive_json reads only text frames and failed on a
    binary one with KeyError, which dropped the visitor's connection."""
    message = await ws.receive()
    if message["type"] == "websocket.disconnect":
        raise WebSocketDisconnect(message.get("code", 1000), message.get("reason"))
    text = message.get("text")
    if text is None:
        return BINARY
    return json.loads(text)
