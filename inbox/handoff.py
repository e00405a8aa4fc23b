"""Who answers a conversation: the handoff state machine, assignment, internal notes, the inbox listing.

    bot ──handoff──> pending_human ──a person takes it──> human ──> resolved
     ^                    |                                 |           |
     └──── back to bot ───┴─────────────────────────────────┘   customer writes again -> bot

While a conversation is pending_human or human the agent does not answer it. A second handoff request
changes nothing (idempotent). Every move is audited with its actor (a staff key, the agent, the system).
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Literal, get_args

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.audit import AuditLog
from core.db import Database, utcnow
from core.errors import Conflict, InvalidInput, NotFound
from inbox.models import Conversation, ConversationNote

ConversationStatus = Literal["bot", "pending_human", "human", "resolved"]
STATUSES: tuple[str, ...] = get_args(ConversationStatus)
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "bot": ("pending_human", "human", "resolved"),
    "pending_human": ("human", "bot", "resolved"),
    "human": ("bot", "resolved"),
    "resolved": ("bot", "human"),
}
HUMAN_OWNED = ("pending_human", "human")  # the agent stays silent


class Handoff:
    def __init__(self, db: Database, audit: AuditLog) -> None:
        self._db = db
        self._audit = audit
        self._listeners: list[Callable[[Conversation], None]] = []

    def on_change(self, listener: Callable[[Conversation], None]) -> None:
        """Called after every committed status or owner change (the inbox pushes it to staff clients)."""
        self._listeners.append(listener)

    def _changed(self, conversation: Conversation) -> Conversation:
        for listener in self._listeners:
            listener(conversation)
        return conversation

    @staticmethod
    def owned(session: Session, tenant_id: str, conversation_id: str) -> Conversation:
        found = session.scalar(
            select(Conversation).where(
                Conversation.id == conversation_id, Conversation.tenant_id == tenant_id
            )
        )
        if found is None:
            raise NotFound(f"conversation {conversation_id} not found")
        return found

    def _set(
        self, session: Session, conversation: Conversation, actor: str, status: str, **fields: str | None
    ) -> None:
        before = {"status": conversation.status, **{k: getattr(conversation, k) for k in fields}}
        conversation.status = status
        for key, value in fields.items():
            setattr(conversation, key, value)
        conversation.updated_at = utcnow()
        after = {"status": status, **fields}
        self._audit.record(
            session,
            conversation.tenant_id,
            actor,
            f"conversation.{status}",
            "conversation",
            conversation.id,
            before,
            after,
        )

    def request(
        self, tenant_id: str, actor: str, conversation_id: str, reason: str, team: str | None
    ) -> bool:
        """Ask for a person; False (and nothing changes) when a person already has it or it is asked for."""
        with self._db.session() as session:
            conversation = self.owned(session, tenant_id, conversation_id)
            if conversation.status in HUMAN_OWNED:
                return False
            self._set(session, conversation, actor, "pending_human", handoff_reason=reason, handoff_team=team)
        self._changed(conversation)
        return True

    def move(self, tenant_id: str, actor: str, conversation_id: str, status: str) -> Conversation:
        if status not in STATUSES:
            raise InvalidInput(f"conversation status {status!r}: one of {list(STATUSES)}")
        with self._db.session() as session:
            conversation = self.owned(session, tenant_id, conversation_id)
            if status == conversation.status:
                return conversation
            allowed = TRANSITIONS[conversation.status]
            if status not in allowed:
                raise Conflict(
                    f"conversation is {conversation.status}: it can move to {list(allowed)}, not {status}"
                )
            fields = {"assignee": None} if status == "bot" else {}
            self._set(session, conversation, actor, status, **fields)
        return self._changed(conversation)

    def assign(
        self, tenant_id: str, actor: str, conversation_id: str, assignee: str, team: str | None = None
    ) -> Conversation:
        """Give the conversation to a person (and team); the agent stops answering it."""
        if not assignee.strip():
            raise InvalidInput("assignee is empty")
        with self._db.session() as session:
            conversation = self.owned(session, tenant_id, conversation_id)
            team = team if team is not None else conversation.handoff_team
            self._set(session, conversation, actor, "human", assignee=assignee.strip(), handoff_team=team)
        return self._changed(conversation)

    def customer_returned(self, tenant_id: str, conversation_id: str) -> None:
        """A customer writing to a resolved conversation is answered by the agent again."""
        with self._db.session() as session:
            conversation = self.owned(session, tenant_id, conversation_id)
            if conversation.status != "resolved":
                return
            self._set(session, conversation, "system", "bot", assignee=None)
        self._changed(conversation)

    # --- notes and listing --------------------------------------------------------------------------
    def add_note(self, tenant_id: str, actor: str, conversation_id: str, text: str) -> ConversationNote:
        if not text.strip():
            raise InvalidInput("a note needs text")
        with self._db.session() as session:
            self.owned(session, tenant_id, conversation_id)
            note = ConversationNote(
                tenant_id=tenant_id, conversation_id=conversation_id, author=actor, text=text.strip()
            )
            session.add(note)
        return note

    def notes(self, tenant_id: str, conversation_id: str) -> list[ConversationNote]:
        with self._db.session() as session:
            self.owned(session, tenant_id, conversation_id)
            return list(
                session.scalars(
                    select(ConversationNote)
                    .where(ConversationNote.conversation_id == conversation_id)
                    .order_by(ConversationNote.created_at)
                )
            )

    def search(
        self,
        tenant_id: str,
        *,
        status: str | None = None,
        team: str | None = None,
        assignee: str | None = None,
        channel: str | None = None,
        limit: int = 50,
        offset: int = 0,
        statuses: Collection[str] | None = None,
    ) -> tuple[list[Conversation], int]:
        """`statuses`: any of these (the console's "open" view: waiting for a person or with one)."""
        query = select(Conversation).where(Conversation.tenant_id == tenant_id)
        if statuses is not None:
            query = query.where(Conversation.status.in_(list(statuses)))
        for column, value in (
            (Conversation.status, status),
            (Conversation.handoff_team, team),
            (Conversation.assignee, assignee),
            (Conversation.channel, channel),
        ):
            if value is not None:
                query = query.where(column == value)
        with self._db.session() as session:
            total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
            items = session.scalars(
                query.order_by(Conversation.updated_at.desc()).offset(offset).limit(limit)
            )
            return list(items), total

    def facets(self, tenant_id: str) -> tuple[list[str], list[str]]:
        """The channels and teams the tenant's conversations have, for the inbox's filters."""
        with self._db.session() as session:
            channels = session.scalars(
                select(Conversation.channel).where(Conversation.tenant_id == tenant_id).distinct()
            ).all()
            teams = session.scalars(
                select(Conversation.handoff_team)
                .where(Conversation.tenant_id == tenant_id, Conversation.handoff_team.is_not(None))
                .distinct()
            ).all()
        return sorted(channels), sorted(t for t in teams if t)
