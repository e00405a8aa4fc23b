"""One visitor's socket: frames in order, one agent turn at a time per conversation, each answered once,
within the visitor's and the address's turn budgets."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import WebSocket
from fastapi.concurrency import run_in_threadpool

from channels.livechat.frames import message_frame
from channels.livechat.limits import TurnLimits
from channels.livechat.locks import TurnLocks
from channels.livechat.store import LivechatStore, Session
from channels.livechat.turns import LiveTurns
from channels.livechat.visitors import VisitorSockets
from core.errors import Conflict
from inbox.models import Message
from inbox.turns import Turns

MAX_TEXT = 4000


class Connection:
    """The per-conversation lock is in-process: two sockets of one conversation (a reload racing the old
    socket, two tabs) take turns in this process. Several server processes would need the lock shared
    (issue 17 moves live-chat state to the database or Redis)."""

    def __init__(
        self,
        ws: WebSocket,
        session: Session,
        *,
        turns: Turns,
        store: LivechatStore,
        locks: TurnLocks,
        limits: TurnLimits,
        visitors: VisitorSockets,
    ) -> None:
        self.ws = ws
        self.session = session
        self.inbox = turns.inbox
        self.store = store
        self.turns = LiveTurns(turns)
        self.locks = locks
        self.limits = limits
        self.visitors = visitors  # a person's replies from the inbox reach the socket through it
        host = ws.client.host if ws.client else "unknown"  # uvicorn's --proxy-headers sets it behind a proxy
        self.address = f"{session.tenant_id}:{host}"
        self.lock: asyncio.Lock | None = None  # the conversation's, once there is one
        if session.conversation_id:
            self.lock = locks.conversation(session.conversation_id)

    def listen(self) -> None:
        """After the opening frames: a person's replies from the inbox reach this socket from now on."""
        if self.session.conversation_id:
            self.visitors.add(self.session.conversation_id, self.ws)

    def close(self) -> None:
        if self.session.conversation_id:
            self.visitors.remove(self.session.conversation_id, self.ws)

    async def history(self, after: str | None = None) -> list[dict[str, Any]]:
        if not self.session.conversation_id:
            return []
        messages = await run_in_threadpool(
            self.inbox.messages, self.session.tenant_id, self.session.conversation_id
        )
        if after:
            ids = [m.id for m in messages]
            messages = messages[ids.index(after) + 1 :] if after in ids else messages
        return [message_frame(m) for m in messages]

    async def on_message(self, frame: dict[str, Any]) -> None:
        text = str(frame.get("text", "")).strip()
        client_id = str(frame.get("client_id", ""))[:64]
        if not text or len(text) > MAX_TEXT:
            await self.ws.send_json(
                {
                    "type": "error",
                    "client_id": client_id,
                    "message": f"text must be 1 to {MAX_TEXT} characters",
                }
            )
            return
        counted = False
        if self.lock is None:  # the first message: counted before anything is created for it
            if not await self._within_budget(client_id):
                return
            counted = True
            await self._start()
        assert self.lock is not None and self.session.conversation_id is not None
        tenant, conversation = self.session.tenant_id, self.session.conversation_id
        async with self.lock:  # a resend racing its first send waits here, then finds it answered
            earlier = await run_in_threadpool(self.turns.earlier, tenant, conversation, client_id)
            if earlier.answered:  # resent after a reconnect: acknowledged and answered already
                assert earlier.question is not None
                await run_in_threadpool(self.turns.settle, tenant, earlier.question)
                await self._acknowledge(client_id, earlier.question, earlier.reply)
                return
            if not counted and not await self._within_budget(client_id):
                return
            # New, or stored before a crash cut its turn short: answered now.
            question = earlier.question
            if question is None:
                question = await run_in_threadpool(self.turns.receive, tenant, conversation, text, client_id)
            await self.ws.send_json({"type": "typing", "on": True})
            try:
                reply = await run_in_threadpool(self.turns.answer, tenant, conversation, question)
            except Conflict as exc:  # another process's turn of this conversation held it too long
                await self.ws.send_json({"type": "typing", "on": False})
                await self.ws.send_json(
                    {
                        "type": "error",
                        "code": exc.code,
                        "client_id": client_id,
                        "message": exc.message,
                        "resend": True,  # stored, not answered yet: its resend is answered
                    }
                )
                return
            await self._acknowledge(client_id, question, reply)
            await self.ws.send_json({"type": "typing", "on": False})

    async def _start(self) -> None:
        """Create the contact and conversation; the session frame again, now with the conversation's id.
        Two sockets of one new token (two tabs) start it one at a time and share what the first made."""
        async with self.locks.visitor(self.session.visitor):
            self.session = await run_in_threadpool(self.store.start, self.session)
        assert self.session.conversation_id is not None
        self.lock = self.locks.conversation(self.session.conversation_id)
        await self.ws.send_json({"type": "session", "conversation_id": self.session.conversation_id})
        self.listen()

    async def _within_budget(self, client_id: str) -> bool:
        wait = self.limits.take(self.session.visitor, self.address)
        if wait:
            await self.ws.send_json(
                {
                    "type": "error",
                    "code": "rate_limited",
                    "client_id": client_id,
                    "message": f"Too many messages: this one was not answered. Send it again in {wait} s.",
                    "retry_after": wait,
                    "resend": True,  # not answered (nor stored, when new): the widget keeps it and resends
                }
            )
        return not wait

    async def _acknowledge(self, client_id: str, question: Message, reply: Message | None) -> None:
        """The ack comes after the answer is stored, so a widget that lost its socket before it resends.
        The reply goes with it again on a resend: the socket that waited for it may have died."""
        await self.ws.send_json({"type": "ack", "client_id": client_id, "id": question.id})
        if reply is not None:
            await self.ws.send_json(message_frame(reply))
