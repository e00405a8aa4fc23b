"""Broadcasts: what is sent to whom and when, and the status lifecycle.

draft -> scheduled -> sending -> sent, with paused and cancelled. Only drafts and scheduled broadcasts
can be edited. Publishing queues the send job (crm/broadcasts/sender.py) for the send time; the job
writes one recipient row per contact when it starts, so a list that grew since publishing is honoured.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core.audit import AuditLog
from core.db import Database, utcnow
from core.errors import Conflict, InvalidInput, NotFound
from core.jobs import JobQueue
from crm.broadcasts.audience import AudienceResolver
from crm.broadcasts.models import OPEN_TO_AGENT, SEND_KIND, Audience, Broadcast, Content, Recipient, send_key
from crm.broadcasts.personalise import check
from crm.broadcasts.recipients import Recipients

EDITABLE = ("draft", "scheduled")
# The statuses each action starts from; from any other it is a 409 (the console offers only these).
MOVES: dict[str, tuple[str, ...]] = {
    "publish": ("draft",),
    "pause": ("scheduled", "sending"),
    "resume": ("paused",),
    "cancel": ("scheduled", "sending", "paused"),
}
DELETABLE = ("draft", "paused", "sent", "cancelled")  # not while it is scheduled or sending
ChannelKind = Callable[[str, str], str]  # (tenant, channel id) -> kind; raises NotFound
TenantZone = Callable[[str], str]


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidInput(f"unknown time zone {name!r}; use an IANA name such as Asia/Hong_Kong") from exc


class BroadcastStore:
    def __init__(
        self,
        db: Database,
        audit: AuditLog,
        jobs: JobQueue,
        audience: AudienceResolver,
        channel_kind: ChannelKind,
        tenant_zone: TenantZone,
    ) -> None:
        self._db = db
        self._audit = audit
        self._jobs = jobs
        self.audience = audience
        self._channel_kind = channel_kind
        self._tenant_zone = tenant_zone
        self.recipients = Recipients(db, audit, jobs, self)

    # --- reading ------------------------------------------------------------------------------------
    @staticmethod
    def owned(session: Session, tenant_id: str, broadcast_id: str) -> Broadcast:
        found = session.get(Broadcast, broadcast_id)
        if found is None or found.tenant_id != tenant_id:
            raise NotFound(f"broadcast {broadcast_id} not found")
        return found

    def get(self, tenant_id: str, broadcast_id: str) -> Broadcast:
        with self._db.session() as session:
            return self.owned(session, tenant_id, broadcast_id)

    def all(self, tenant_id: str, status: str | None = None) -> list[Broadcast]:
        query = select(Broadcast).where(Broadcast.tenant_id == tenant_id)
        if status:
            query = query.where(Broadcast.status == status)
        with self._db.session() as session:
            return list(session.scalars(query.order_by(Broadcast.created_at.desc(), Broadcast.id)))

    def kind(self, broadcast: Broadcast) -> str:
        return self._channel_kind(broadcast.tenant_id, broadcast.channel_id)

    # --- writing ------------------------------------------------------------------------------------
    def audience_of(self, tenant_id: str, value: dict[str, Any]) -> Audience:
        """An audience as given, checked: its lists are the tenant's, its conditions name known fields."""
        audience = Audience.model_validate(value)
        for list_id in audience.lists:
            try:
                self.audience.lists.get(tenant_id, list_id)
            except NotFound as exc:
                raise InvalidInput(f"audience list {list_id} not found") from exc
        self.audience.lists.check_conditions(tenant_id, audience.conditions)
        return audience

    def content_of(self, tenant_id: str, kind: str, value: dict[str, Any]) -> Content:
        """Content as given, checked for a channel of this kind: templates are WhatsApp's, and every
        variable names a contact field or a defined attribute."""
        content = Content.model_validate(value)
        if content.template and kind != "whatsapp":
            raise InvalidInput("templates are WhatsApp's; give this channel text (and media)")
        keys = set(self.audience.attributes.definitions(tenant_id))
        check([content.text or "", *(content.template.variables if content.template else [])], keys)
        return content

    def _clean(self, tenant_id: str, fields: dict[str, Any], current: Broadcast | None) -> dict[str, Any]:
        """Validate a create or a patch against the channel, the lists, the attributes and the clock."""
        for key in ("name", "channel_id", "agent_enrol", "follow_up_minutes"):
            if key in fields and fields[key] is None:
                raise InvalidInput(f"{key} cannot be null")
        merged = {**(_fields(current) if current else {}), **fields}
        try:
            kind = self._channel_kind(tenant_id, merged["channel_id"])
        except NotFound as exc:
            raise InvalidInput(
                f"channel {merged['channel_id']} is not one of this tenant's channels"
            ) from exc
        audience = self.audience_of(tenant_id, merged.get("audience") or {})
        content = self.content_of(tenant_id, kind, merged.get("content") or {})
        tz = merged.get("timezone") or self._tenant_zone(tenant_id)
        send_at = merged.get("send_at")
        if isinstance(send_at, datetime):  # without an offset: a wall-clock time in the zone
            send_at = (send_at if send_at.tzinfo else send_at.replace(tzinfo=zone(tz))).astimezone(UTC)
        zone(tz)
        if "send_at" in fields and send_at is not None and send_at <= utcnow():
            raise InvalidInput("send_at is in the past; leave it out to send on publishing")
        clean = {
            **fields,
            "audience": audience.model_dump(),
            "content": content.model_dump(exclude_none=True),
            "timezone": tz,
        }
        if "send_at" in fields:
            clean["send_at"] = send_at
        return clean

    def create(self, tenant_id: str, actor: str, fields: dict[str, Any]) -> Broadcast:
        clean = self._clean(tenant_id, fields, None)
        with self._db.session() as session:
            broadcast = Broadcast(tenant_id=tenant_id, status="draft", audience_ready=False, **clean)
            session.add(broadcast)
            session.flush()
            self._audit.record(
                session,
                tenant_id,
                actor,
                "broadcast.create",
                "broadcast",
                broadcast.id,
                None,
                _shown(broadcast),
            )
        return broadcast

    def update(self, tenant_id: str, actor: str, broadcast_id: str, patch: dict[str, Any]) -> Broadcast:
        current = self.get(tenant_id, broadcast_id)
        if current.status not in EDITABLE:
            raise Conflict(
                f"broadcast is {current.status}: only draft and scheduled broadcasts can be edited"
            )
        clean = self._clean(tenant_id, patch, current)
        with self._db.session() as session:
            broadcast = self.owned(session, tenant_id, broadcast_id)
            if broadcast.status not in EDITABLE:  # changed since we looked
                raise Conflict(f"broadcast is {broadcast.status}: it can no longer be edited")
            before = _shown(broadcast)
            for key, value in clean.items():
                setattr(broadcast, key, value)
            broadcast.updated_at = utcnow()
            if broadcast.status == "scheduled":
                if broadcast.send_at is None:
                    raise InvalidInput(
                        "a scheduled broadcast needs send_at; cancel it to send it now instead"
                    )
                _refuse_a_namesake(session, broadcast)
                self._queue(session, broadcast)
            self._audit.record(
                session,
                tenant_id,
                actor,
                "broadcast.update",
                "broadcast",
                broadcast.id,
                before,
                _shown(broadcast),
            )
        self._jobs.notify()
        return broadcast

    def delete(self, tenant_id: str, actor: str, broadcast_id: str) -> None:
        with self._db.session() as session:
            broadcast = self.owned(session, tenant_id, broadcast_id)
            if broadcast.status not in DELETABLE:
                raise Conflict(f"broadcast is {broadcast.status}: pause or cancel it before deleting it")
            self._audit.record(
                session,
                tenant_id,
                actor,
                "broadcast.delete",
                "broadcast",
                broadcast.id,
                _shown(broadcast),
                None,
            )
            session.delete(broadcast)

    def duplicate(self, tenant_id: str, actor: str, broadcast_id: str) -> Broadcast:
        original = self.get(tenant_id, broadcast_id)
        fields = _fields(original)
        fields["name"] = f"{original.name} (copy)"[:200]
        if fields.get("send_at") and fields["send_at"] <= utcnow():
            fields["send_at"] = None
        with self._db.session() as session:
            copy = Broadcast(tenant_id=tenant_id, status="draft", audience_ready=False, **fields)
            session.add(copy)
            session.flush()
            self._audit.record(
                session,
                tenant_id,
                actor,
                "broadcast.duplicate",
                "broadcast",
                copy.id,
                None,
                {"from": original.id},
            )
        return copy

    # --- lifecycle ----------------------------------------------------------------------------------
    def _queue(self, session: Session, broadcast: Broadcast) -> None:
        self._jobs.enqueue_once(
            SEND_KIND,
            {"broadcast_id": broadcast.id},
            key=send_key(broadcast.id),
            tenant_id=broadcast.tenant_id,
            session=session,
            run_at=broadcast.send_at if broadcast.status == "scheduled" else None,
        )

    def _move(
        self, tenant_id: str, actor: str, broadcast_id: str, allowed: tuple[str, ...], action: str
    ) -> Broadcast:
        with self._db.session() as session:
            broadcast = self.owned(session, tenant_id, broadcast_id)
            if broadcast.status not in allowed:
                raise Conflict(f"cannot {action} a broadcast that is {broadcast.status}")
            before = broadcast.status
            if action == "publish":
                content = Content.model_validate(broadcast.content)
                if not (content.text or content.media or content.template):
                    raise InvalidInput("the broadcast has no content: give it text, media or a template")
                if Audience.model_validate(broadcast.audience).empty and not broadcast.agent_enrol:
                    raise InvalidInput(
                        "the broadcast has no audience: give it lists or conditions (or enable agent enrolment)"
                    )
                if broadcast.send_at is not None and broadcast.send_at <= utcnow():
                    raise InvalidInput("send_at is in the past; change it or clear it to send now")
                broadcast.status = "scheduled" if broadcast.send_at else "sending"
                _refuse_a_namesake(session, broadcast)
            elif action == "pause":
                broadcast.status = "paused"
            elif action == "resume":
                waiting = not broadcast.audience_ready and broadcast.send_at and broadcast.send_at > utcnow()
                broadcast.status = "scheduled" if waiting else "sending"
                _refuse_a_namesake(session, broadcast)
            elif action == "cancel":
                broadcast.status = "cancelled"
                broadcast.finished_at = utcnow()
                session.execute(
                    update(Recipient)
                    .where(Recipient.broadcast_id == broadcast.id, Recipient.status == "pending")
                    .values(status="cancelled")
                )
            broadcast.updated_at = utcnow()
            if broadcast.status in ("scheduled", "sending"):
                self._queue(session, broadcast)
            self._audit.record(
                session,
                tenant_id,
                actor,
                f"broadcast.{action}",
                "broadcast",
                broadcast.id,
                {"status": before},
                {"status": broadcast.status},
            )
        self._jobs.notify()
        return broadcast

    def publish(self, tenant_id: str, actor: str, broadcast_id: str) -> Broadcast:
        return self._move(tenant_id, actor, broadcast_id, MOVES["publish"], "publish")

    def pause(self, tenant_id: str, actor: str, broadcast_id: str) -> Broadcast:
        return self._move(tenant_id, actor, broadcast_id, MOVES["pause"], "pause")

    def resume(self, tenant_id: str, actor: str, broadcast_id: str) -> Broadcast:
        return self._move(tenant_id, actor, broadcast_id, MOVES["resume"], "resume")

    def cancel(self, tenant_id: str, actor: str, broadcast_id: str) -> Broadcast:
        return self._move(tenant_id, actor, broadcast_id, MOVES["cancel"], "cancel")


def _refuse_a_namesake(session: Session, broadcast: Broadcast) -> None:
    """The agent enrols customers by a campaign's name: two campaigns open to it may not share one."""
    if not broadcast.agent_enrol:
        return
    namesake = session.scalar(
        select(Broadcast.id).where(
            Broadcast.tenant_id == broadcast.tenant_id,
            Broadcast.id != broadcast.id,
            Broadcast.agent_enrol.is_(True),
            Broadcast.name == broadcast.name,
            Broadcast.status.in_(OPEN_TO_AGENT),
        )
    )
    if namesake is not None:
        raise Conflict(
            f"another campaign open to the agent is named {broadcast.name!r} ({namesake}): the agent "
            "could not tell them apart; rename one or cancel the other"
        )


def _shown(broadcast: Broadcast) -> dict[str, Any]:
    """The broadcast's settings as an audit entry records them (JSON)."""
    fields = _fields(broadcast)
    fields["send_at"] = broadcast.send_at.isoformat() if broadcast.send_at else None
    return fields


def _fields(broadcast: Broadcast) -> dict[str, Any]:
    return {
        "name": broadcast.name,
        "channel_id": broadcast.channel_id,
        "audience": broadcast.audience,
        "content": broadcast.content,
        "send_at": broadcast.send_at,
        "timezone": broadcast.timezone,
        "agent_enrol": broadcast.agent_enrol,
        "follow_up_minutes": broadcast.follow_up_minutes,
    }
