"""What the Broadcasts pages show beside their forms: the compose form's choices, and the live panel (who the
audience reaches, and the message one of them would get) for the values in the form, saved or not.

The panel asks the services the API asks: the store checks the audience and the content (`audience_of`,
`content_of`, as saving does), the recipients count them (`tally`, as GET /v1/broadcasts/{id}/audience) and
personalise the message (`personalised`, as GET /v1/broadcasts/{id}/preview).
"""

from __future__ import annotations

import functools
import zoneinfo
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from channels.store import ChannelStore
from core.errors import NotFound, ParleyError
from crm.broadcasts.recipients import personalised
from crm.broadcasts.store import BroadcastStore, zone
from crm.contacts import FIELDS
from crm.models import Contact
from crm.services import CrmServices
from web.console import broadcast_form
from web.console.forms import message
from web.console.i18n import Lang, translate

SAMPLE = 20  # contacts of the audience the preview can be shown for


@functools.cache
def zones() -> tuple[str, ...]:
    return tuple(sorted(zoneinfo.available_timezones()))


def local(value: datetime | None, tz: str) -> str:
    """A moment as the broadcast's zone reads it: 2025-05-01 09:30 HKT."""
    if value is None:
        return ""
    return value.astimezone(zone(tz)).strftime("%Y-%m-%d %H:%M %Z")


def contact_label(contact: Contact) -> str:
    name = " ".join(p for p in (contact.first_name, contact.last_name) if p) or contact.name
    return name or contact.phone or contact.email or contact.id


def compose_choices(
    lang: Lang, crm: CrmServices, channels: ChannelStore, tenant_id: str, values: dict[str, Any]
) -> dict[str, Any]:
    """The compose form's options: channels, lists, the fields a condition can test, operators, media kinds,
    time zones (with the form's own when it is none of them), and the tenant's zone and time."""
    attributes = crm.attributes.all(tenant_id)
    fields = [(f, translate(lang, f"contact.field.{f}")) for f in FIELDS]
    fields.append(("tags", translate(lang, "contact.tags")))
    fields += [
        (f"attributes.{d.key}", translate(lang, "broadcast.attribute", label=d.label)) for d in attributes
    ]
    tenant_zone = crm.hours.timezone(tenant_id)
    shown_zones = zones() if values["timezone"] in zones() else (values["timezone"], *zones())
    names = [f"{{{{{f}}}}}" for f in FIELDS if f != "owner"] + [f"{{{{{d.key}}}}}" for d in attributes]
    return {
        "channels": channels.list(tenant_id),
        "lists": crm.lists.all(tenant_id),
        "condition_fields": fields,
        "operators": broadcast_form.OPERATORS,
        "media_kinds": broadcast_form.MEDIA_KINDS,
        "zones": shown_zones,
        "tenant_zone": tenant_zone,
        "tenant_now": datetime.now(UTC).astimezone(zone(tenant_zone)).strftime("%Y-%m-%d %H:%M"),
        "variable_names": names,
    }


def _problem(lang: Lang, exc: ValidationError | ParleyError) -> str:
    if isinstance(exc, ParleyError):
        return message(lang, exc)
    first = exc.errors()[0]
    where = ".".join(str(part) for part in first["loc"])
    return f"{where}: {first['msg']}" if where else str(first["msg"])


def live_panel(
    lang: Lang,
    store: BroadcastStore,
    channels: ChannelStore,
    crm: CrmServices,
    tenant_id: str,
    values: dict[str, Any],
    preview_id: str = "",
) -> dict[str, Any]:
    """The live panel's context for the form's values: `counts` (or None with `problems` saying why),
    `sample` (contacts to preview for), `chosen` and `preview` (the message that contact would get)."""
    problems: dict[str, str] = {}
    kind = None
    if not values["channel_id"]:
        problems["channel"] = translate(lang, "broadcast.live.no_channel")
    else:
        try:
            kind = channels.get(values["channel_id"], tenant_id).kind
        except NotFound:
            problems["channel"] = translate(lang, "broadcast.live.no_channel")
    body, unread = broadcast_form.body_of(values, crm.attributes.definitions(tenant_id))
    audience = content = None
    if unread:
        problems["audience"] = next(iter(unread.values()))
    else:
        try:
            audience = store.audience_of(tenant_id, body["audience"])
        except (ValidationError, ParleyError) as exc:
            problems["audience"] = _problem(lang, exc)
    if kind is not None:
        try:
            content = store.content_of(tenant_id, kind, body["content"])
        except (ValidationError, ParleyError) as exc:
            problems["content"] = _problem(lang, exc)
    counts = store.recipients.tally(tenant_id, kind, audience) if audience and kind else None
    sample = store.recipients.sample(tenant_id, audience, SAMPLE) if audience else []
    chosen = next((c for c in sample if c.id == preview_id), sample[0] if sample else None)
    preview = personalised(content, chosen, kind) if content and chosen and kind else None
    return {
        "counts": counts,
        "empty_audience": audience is not None and audience.empty,
        "problems": problems,
        "sample": [(c, contact_label(c)) for c in sample],
        "chosen": chosen,
        "preview": preview,
        "nothing_to_send": content is not None and not (content.text or content.media or content.template),
    }
