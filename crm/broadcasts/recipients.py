"""A broadcast's recipients: the audience counted and previewed before publishing, written as rows when
sending starts, contacts the agent enrols in a campaign, and the outcome (metrics, rows, CSV)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select, update

from core.audit import AuditLog
from core.db import Database, insert_ignoring_duplicates, new_id, utcnow
from core.errors import Conflict, NotFound
from core.jobs import JobQueue
from crm.broadcasts.addresses import address_of
from crm.broadcasts.metrics import metrics, recipient_rows
from crm.broadcasts.models import OPEN_TO_AGENT, SEND_KIND, Audience, Broadcast, Content, Recipient, send_key
from crm.broadcasts.personalise import MissingValue, render
from crm.contacts import ContactStore
from crm.models import Contact

if TYPE_CHECKING:
    from crm.broadcasts.store import BroadcastStore


class Recipients:
    def __init__(self, db: Database, audit: AuditLog, jobs: JobQueue, broadcasts: BroadcastStore) -> None:
        self._db = db
        self._audit = audit
        self._jobs = jobs
        self._broadcasts = broadcasts
        self.audience = broadcasts.audience

    # --- before sending -------------------------------------------------------------------------------
    def count(self, tenant_id: str, broadcast_id: str) -> dict[str, int]:
        broadcast = self._broadcasts.get(tenant_id, broadcast_id)
        audience = Audience.model_validate(broadcast.audience)
        return self.tally(tenant_id, self._broadcasts.kind(broadcast), audience)

    def tally(self, tenant_id: str, kind: str, audience: Audience) -> dict[str, int]:
        """Contacts the audience matches, those of them opted out or without an address on a channel of this
        kind, and the rest: who would receive it. An empty audience matches nobody (as `write` writes)."""
        counts = {"matching": 0, "opted_out": 0, "unreachable": 0, "recipients": 0}
        if audience.empty:
            return counts
        for contact in self.audience.contacts(tenant_id, audience):
            counts["matching"] += 1
            if contact.opted_out:
                counts["opted_out"] += 1
            elif address_of(contact, kind) is None:
                counts["unreachable"] += 1
            else:
                counts["recipients"] += 1
        return counts

    def sample(self, tenant_id: str, audience: Audience, limit: int = 20) -> list[Contact]:
        """The first contacts the audience matches (opted-out ones included), to preview the message for."""
        if audience.empty:
            return []
        return list(itertools.islice(self.audience.contacts(tenant_id, audience), limit))

    def preview(self, tenant_id: str, broadcast_id: str, contact_id: str) -> dict[str, Any]:
        broadcast = self._broadcasts.get(tenant_id, broadcast_id)
        contact = self.audience.contacts_store.get(tenant_id, contact_id)
        content = Content.model_validate(broadcast.content)
        return personalised(content, contact, self._broadcasts.kind(broadcast))

    def write(self, broadcast: Broadcast) -> int:
        """The audience as recipient rows (once per contact, opted-out contacts left out), in batches; a
        contact the agent enrolled already has its row. Returns how many rows were written."""
        kind = self._broadcasts.kind(broadcast)
        due = broadcast.send_at or utcnow()
        rows: list[dict[str, Any]] = []
        written = 0

        def flush() -> int:
            if not rows:
                return 0
            with self._db.session() as session:  # one transaction per batch
                insert = insert_ignoring_duplicates(session, Recipient)
                count = sum(session.execute(insert.values(**row)).first() is not None for row in rows)
            rows.clear()
            return count

        audience = Audience.model_validate(broadcast.audience)
        if not audience.empty:
            for contact in self.audience.contacts(broadcast.tenant_id, audience):
                if contact.opted_out:
                    continue
                rows.append(_recipient_row(broadcast, contact.id, address_of(contact, kind), due))
                if len(rows) >= 500:
                    written += flush()
        written += flush()
        with self._db.session() as session:
            session.execute(
                update(Broadcast)
                .where(Broadcast.id == broadcast.id)
                .values(audience_ready=True, started_at=func.coalesce(Broadcast.started_at, utcnow()))
            )
        return written

    def open_campaigns(self, tenant_id: str) -> list[str]:
        """Names of the campaigns the agent may enrol contacts in."""
        with self._db.session() as session:
            return list(
                session.scalars(
                    select(Broadcast.name).where(
                        Broadcast.tenant_id == tenant_id,
                        Broadcast.agent_enrol.is_(True),
                        Broadcast.status.in_(OPEN_TO_AGENT),
                    )
                )
            )

    def enrol(self, tenant_id: str, actor: str, campaign: str, contact_id: str) -> tuple[Broadcast, datetime]:
        """Put one contact into a campaign the tenant opened to the agent; sent after its follow-up delay."""
        with self._db.session() as session:
            # Names are not unique: a cancelled campaign or a draft copy may share this one's name. The
            # agent means the one that is running (the newest, if two are).
            broadcast = session.scalar(
                select(Broadcast)
                .where(
                    Broadcast.tenant_id == tenant_id,
                    Broadcast.agent_enrol.is_(True),
                    Broadcast.name == campaign,
                    Broadcast.status.in_(OPEN_TO_AGENT),
                )
                .order_by(Broadcast.created_at.desc())
                .limit(1)
            )
            if broadcast is None:
                raise NotFound(f"no active campaign named {campaign!r} is open to the agent")
            contact = ContactStore.owned(session, tenant_id, contact_id)
            if contact.opted_out:
                raise Conflict("the customer opted out of broadcasts")
            address = address_of(contact, self._broadcasts.kind(broadcast))
            if address is None:
                raise Conflict("the customer cannot be reached on the campaign's channel")
            due = max(utcnow(), broadcast.send_at or utcnow()) + timedelta(
                minutes=broadcast.follow_up_minutes
            )
            row = _recipient_row(broadcast, contact.id, address, due)
            if session.execute(insert_ignoring_duplicates(session, Recipient).values(**row)).first() is None:
                raise Conflict(f"the customer is already enrolled in {campaign!r}")
            if broadcast.status == "sent":
                broadcast.status, broadcast.finished_at = "sending", None
            self._jobs.enqueue_once(
                SEND_KIND,
                {"broadcast_id": broadcast.id},
                key=send_key(broadcast.id),
                tenant_id=tenant_id,
                session=session,
                run_at=due,
            )
            self._audit.record(
                session,
                tenant_id,
                actor,
                "broadcast.enrol",
                "contact",
                contact.id,
                None,
                {"campaign": campaign},
            )
        self._jobs.notify()
        return broadcast, due

    # --- the outcome --------------------------------------------------------------------------------
    def metrics(self, tenant_id: str, broadcast_id: str) -> dict[str, Any]:
        with self._db.session() as session:
            self._broadcasts.owned(session, tenant_id, broadcast_id)
            return metrics(session, broadcast_id)

    def export_rows(self, tenant_id: str, broadcast_id: str) -> Iterator[list[Any]]:
        """Per-recipient rows (metrics.CSV_COLUMNS), streamed from one query."""
        self._broadcasts.get(tenant_id, broadcast_id)
        with self._db.session() as session:
            yield from recipient_rows(session, broadcast_id)

    def page(
        self, tenant_id: str, broadcast_id: str, status: str | None, limit: int, offset: int
    ) -> tuple[list[Recipient], int]:
        query = select(Recipient).where(Recipient.broadcast_id == broadcast_id)
        if status:
            query = query.where(Recipient.status == status)
        with self._db.session() as session:
            self._broadcasts.owned(session, tenant_id, broadcast_id)
            total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
            rows = session.scalars(
                query.order_by(Recipient.created_at, Recipient.id).offset(offset).limit(limit)
            )
            return list(rows), total


def personalised(content: Content, contact: Contact, kind: str) -> dict[str, Any]:
    """The message one contact would get on a channel of this kind: the text with its fallbacks filled in,
    the media, the template's parameters (or why one is missing: that contact would be skipped)."""
    result: dict[str, Any] = {
        "contact_id": contact.id,
        "address": address_of(contact, kind),
        "opted_out": bool(contact.opted_out),
        "text": render(content.text, contact) if content.text else None,
        "media": content.media.model_dump() if content.media else None,
        "template": None,
    }
    if content.template:
        template: dict[str, Any] = {"name": content.template.name, "language": content.template.language}
        try:
            template["parameters"] = [render(v, contact, strict=True) for v in content.template.variables]
        except MissingValue as missing:
            template["parameters"], template["error"] = None, str(missing)
        result["template"] = template
    return result


def _recipient_row(
    broadcast: Broadcast, contact_id: str, address: str | None, due: datetime
) -> dict[str, Any]:
    return {
        "id": new_id(),
        "broadcast_id": broadcast.id,
        "tenant_id": broadcast.tenant_id,
        "channel_id": broadcast.channel_id,
        "contact_id": contact_id,
        "address": address,
        "status": "pending",
        "due_at": due,
        "attempts": 0,
        "created_at": utcnow(),
    }
