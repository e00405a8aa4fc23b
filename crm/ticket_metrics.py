"""Ticket metrics for a period: response and resolution times in working hours, first-contact resolution,
CSAT, volume by type and the same per agent. Pure functions of the tickets and the tenant's settings."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime
from statistics import mean, median
from typing import Any

from crm.ticket_models import Ticket
from crm.tickets import TicketSettings, sla_of


def _hours(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"count": 0, "mean_hours": None, "median_hours": None}
    return {
        "count": len(values),
        "mean_hours": round(mean(values) / 3600, 3),
        "median_hours": round(median(values) / 3600, 3),
    }


def _csat(scores: list[int]) -> dict[str, float | int | None]:
    if not scores:
        return {"count": 0, "mean": None, "satisfied_share": None}
    return {
        "count": len(scores),
        "mean": round(mean(scores), 3),
        "satisfied_share": round(sum(1 for s in scores if s >= 4) / len(scores), 3),  # 4 or 5 of 5
    }


def compute(tickets: list[Ticket], settings: TicketSettings, now: datetime) -> dict[str, Any]:
    hours = settings.working_hours
    first, resolution, scores = [], [], []
    resolved = first_contact = breached_first = breached_resolution = 0
    volume: Counter[str] = Counter()
    per_agent: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for ticket in tickets:
        volume[ticket.custom_type if ticket.type == "custom" and ticket.custom_type else ticket.type] += 1
        agent = per_agent[ticket.assignee or "unassigned"]
        agent["tickets"].append(1)
        if ticket.first_response_at:
            first.append(hours.seconds_between(ticket.created_at, ticket.first_response_at))
            agent["first_response"].append(first[-1])
        if ticket.status == "resolved" and ticket.resolved_at:
            resolved += 1
            resolution.append(hours.seconds_between(ticket.created_at, ticket.resolved_at))
            agent["resolution"].append(resolution[-1])
            # First-contact resolution: resolved and never reopened (the customer did not have to come back).
            first_contact += ticket.reopened_count == 0
        if ticket.csat is not None:
            scores.append(ticket.csat)
            agent["csat"].append(ticket.csat)
        sla = sla_of(ticket, settings, now)
        breached_first += sla.first_response_breached
        breached_resolution += sla.resolution_breached
    return {
        "tickets": len(tickets),
        "resolved": resolved,
        "first_response": _hours(first),
        "resolution": _hours(resolution),
        "first_contact_resolution": round(first_contact / resolved, 3) if resolved else None,
        "csat": _csat(scores),
        "sla_breaches": {"first_response": breached_first, "resolution": breached_resolution},
        "volume_by_type": dict(sorted(volume.items())),
        "per_agent": {
            name: {
                "tickets": len(values["tickets"]),
                "resolved": len(values["resolution"]),
                "first_response": _hours(values["first_response"]),
                "resolution": _hours(values["resolution"]),
                "csat": _csat([int(s) for s in values["csat"]]),
            }
            for name, values in sorted(per_agent.items())
        },
    }
