"""A broadcast's outcome: counts per recipient state, replies, failures by reason, rates, and the
per-recipient rows for a CSV export."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crm.broadcasts.models import Recipient
from crm.models import Contact

CSV_COLUMNS = (
    "contact_id",
    "name",
    "phone",
    "email",
    "address",
    "status",
    "route",
    "sent_at",
    "delivered_at",
    "read_at",
    "replied_at",
    "error_code",
    "error",
)


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def metrics(session: Session, broadcast_id: str) -> dict[str, Any]:
    by_status = dict(
        session.execute(
            select(Recipient.status, func.count())
            .where(Recipient.broadcast_id == broadcast_id)
            .group_by(Recipient.status)
        ).all()
    )
    counts = {
        status: int(by_status.get(status, 0))
        for status in (
            "pending",
            "sending",
            "sent",
            "delivered",
            "read",
            "failed",
            "skipped",
            "cancelled",
            "uncertain",
        )
    }
    replied = (
        session.scalar(
            select(func.count())
            .select_from(Recipient)
            .where(Recipient.broadcast_id == broadcast_id, Recipient.replied_at.is_not(None))
        )
        or 0
    )
    reasons = session.execute(
        select(Recipient.status, Recipient.error, func.count())
        .where(
            Recipient.broadcast_id == broadcast_id, Recipient.status.in_(("failed", "skipped", "uncertain"))
        )
        .group_by(Recipient.status, Recipient.error)
        .order_by(func.count().desc())
    ).all()
    # Statuses only move forward, so "sent" counts everything that left, "delivered" includes "read".
    sent = counts["sent"] + counts["delivered"] + counts["read"]
    delivered = counts["delivered"] + counts["read"]
    return {
        "recipients": sum(counts.values()),
        "by_status": counts,
        "sent": sent,
        "delivered": delivered,
        "read": counts["read"],
        "replied": int(replied),
        "failed": counts["failed"],
        "skipped": counts["skipped"],
        "waiting": counts["pending"] + counts["sending"],
        "reasons": [
            {"status": status, "reason": error or "", "count": int(count)} for status, error, count in reasons
        ],
        "rates": {
            "delivered": _rate(delivered, sent),
            "read": _rate(counts["read"], sent),
            "replied": _rate(int(replied), delivered),
            "failed": _rate(counts["failed"], sent + counts["failed"]),
        },
    }


def recipient_rows(session: Session, broadcast_id: str, batch: int = 500) -> Iterator[list[Any]]:
    query = (
        select(Recipient, Contact)
        .join(Contact, Contact.id == Recipient.contact_id)
        .where(Recipient.broadcast_id == broadcast_id)
        .order_by(Recipient.created_at, Recipient.id)
        .execution_options(yield_per=batch)
    )
    for recipient, contact in session.execute(query):
        # The name the business entered first; a platform profile name (contact.name) otherwise.
        name = " ".join(p for p in (contact.first_name, contact.last_name) if p) or contact.name or ""
        yield [
            contact.id,
            name,
            contact.phone or "",
            contact.email or "",
            recipient.address or "",
            recipient.status,
            recipient.route or "",
            *(
                value.isoformat() if value else ""
                for value in (
                    recipient.sent_at,
                    recipient.delivered_at,
                    recipient.read_at,
                    recipient.replied_at,
                )
            ),
            recipient.error_code if recipient.error_code is not None else "",
            recipient.error or "",
        ]
