"""One visitor's socket: frames in order, one agent turn at a time per conversation, each answered once."""

from __future__ import annotations

import asyncio
from collections.abc import MutableMapping
from typing import Any

from fastapi import WebSocket
from fastapi.concurrency import run_in_threadpool

from agent.service import AgentService
from channels.livechat.frames import message_frame
from channels.livechat.store import Session
from channels.livechat.turns import LiveTurns
from crm.models import Message

MAX_TEXT = 4000


class Connection:
    """The per-conversation lock is in-process: two sockets of one conversation (a reload racing the old
    socket, two tabs) take turns in this process. Several server processes would need the lock shared
    (issue 17 moves live-chat state to the database or Redis)."""

    def __init__(
        self,
        ws: WebSocket,
        session: Session,
        agent: AgentService,
        locks: MutableMapping[str, asyncio.Lock],
    ) -> None:
        self.ws = ws
        self.session = session
        self.agent = agent
        self.turns = LiveTurns(agent)
        self.lock = locks.setdefault(session.conversation_id, asyncio.Lock())

    async def history(self, after: str | None = None) -> list[dict[str, Any]]:
        messages = await run_in_threadpool(
            self.agent.inbox.messages, self.session.tenant_id, self.session.conversation_id
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
        tenant, conversation = self.session.tenant_id, self.session.conversation_id
        async with self.lock:  # a resend racing its first send waits here, then finds it answered
            earlier = await run_in_threadpool(self.turns.earlier, tenant, conversation, client_id)
            if earlier.answered:  # resent after a reconnect: acknowledged and answered already
                assert earlier.question is not None
                await run_in_threadpool(self.turns.settle, tenant, earlier.question)
                await self._acknowledge(client_id, earlier.question, earlier.reply)
                return
            # New, or stored before a crash cut its turn short: answered now.
            question = earlier.question
            if question is None:
                question = await run_in_threadpool(self.turns.receive, tenant, conversation, text, client_id)
            await self.ws.send_json({"type": "typing", "on": True})
            reply = await run_in_threadpool(self.turns.answer, tenant, conversation, question)
            await self._acknowledge(client_id, question, reply)
            await self.ws.send_json({"type": "typing", "on": False})

    async def _acknowledge(self, client_id: str, question: Message, reply: Message | None) -> None:
        """The ack comes after the answer is stored, so a widget that lost its socket before it resends.
        The reply goes with it again on a resend: the socket that waited for it may have died."""
        await self.ws.send_json({"type": "ack", "client_id": client_id, "id": question.id})
        if reply is not None:
            await self.ws.send_json(message_frame(reply))
