"""Where a contact is reached on a channel kind: the platform id their own messages came from, else (for
phone-number channels) their phone number. None: the contact cannot be reached there."""

from __future__ import annotations

from crm.contacts import phone_forms
from crm.models import Contact

PHONE_CHANNELS = ("whatsapp", "sms")


def address_of(contact: Contact, kind: str) -> str | None:
    external = contact.external_id or ""
    if external.startswith(f"{kind}:"):
        return external.removeprefix(f"{kind}:")
    if kind in PHONE_CHANNELS and contact.phone:
        digits, e164 = phone_forms(contact.phone)  # channel contacts keep phones as the platform sent them
        return digits if kind == "whatsapp" else e164  # WhatsApp ids are digits; Twilio wants E.164
    return None
