"""Parsing WhatsApp Cloud API webhooks in their documented shape: every message kind and status."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from channels import whatsapp
from core.errors import InvalidInput

FIXTURE = json.loads((Path(__file__).parent / "fixtures" / "whatsapp_kinds.json").read_text())


def test_every_message_kind_is_parsed() -> None:
    inbound, statuses, unparsed, events = whatsapp.parse(FIXTURE)
    assert statuses == [] and unparsed == []
    by_id = {m.external_id: m for m in inbound}
    assert len(by_id) == 15
    assert (
        by_id["wamid.text"].text == "How much is a gel manicure?"
        and by_id["wamid.text"].name == "Kerry Fisher"
    )
    assert (
        by_id["wamid.image"].data["media_id"] == "2754859441498128"
        and by_id["wamid.image"].text == "Is this your shop?"
    )
    assert (
        by_id["wamid.audio"].text == "[audio]" and by_id["wamid.audio"].data["media_id"] == "1003383421387256"
    )
    assert by_id["wamid.video"].data["mime_type"] == "video/mp4"
    assert by_id["wamid.document"].data["filename"] == "receipt.pdf"
    assert by_id["wamid.sticker"].answerable is False
    assert (
        "Lee Garden Two" in by_id["wamid.location"].text
        and by_id["wamid.location"].data["location"]["latitude"] == 22.2797
    )
    assert "Mei Chan" in by_id["wamid.contacts"].text
    assert (
        by_id["wamid.button_reply"].text == "Book now"
        and by_id["wamid.button_reply"].data["interactive"]["id"] == "book"
    )
    assert (
        by_id["wamid.list_reply"].text == "Deep Hydrating"
        and by_id["wamid.list_reply"].data["interactive"]["id"] == "F02"
    )
    assert by_id["wamid.template_button"].text == "Stop promotions"
    assert by_id["wamid.template_button"].data["button"]["payload"] == "STOP_PROMOS"
    assert by_id["wamid.reply"].data["reply_to"] == "wamid.earlier"
    assert by_id["wamid.referral"].data["referral"]["ctwa_clid"] == "ARAkLkA8rmlFeiCktEJQ"
    (reaction,) = events  # an event on the message it is about, never a message to answer
    assert (reaction.external_id, reaction.kind, reaction.text) == ("wamid.reaction", "reaction", "👍")
    assert (
        by_id["wamid.unsupported"].answerable is False
        and by_id["wamid.unsupported"].data["errors"][0]["code"] == 131051
    )
    # A business-scoped user id with no phone number: the contact is keyed on the id, not on a phone.
    bsuid = by_id["wamid.bsuid"]
    assert bsuid.sender == "HK.1234567890ABCDEF" and bsuid.phone is None and bsuid.name == "Anon"
    assert by_id["wamid.text"].sender == "85291234567" and by_id["wamid.text"].phone == "85291234567"


def test_statuses_with_errors() -> None:
    payload = {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "1",
                "changes": [
                    {
                        "field": "messages",
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {"phone_number_id": "106540352242922"},
                            "statuses": [
                                {
                                    "id": "wamid.out1",
                                    "status": "read",
                                    "timestamp": "1764000100",
                                    "recipient_id": "85291234567",
                                },
                                {
                                    "id": "wamid.out2",
                                    "status": "failed",
                                    "timestamp": "1764000101",
                                    "recipient_id": "85291234567",
                                    "errors": [
                                        {
                                            "code": 131026,
                                            "title": "Message undeliverable",
                                            "message": "Message undeliverable",
                                            "error_data": {"details": "Message Undeliverable."},
                                        }
                                    ],
                                },
                            ],
                        },
                    }
                ],
            }
        ],
    }
    _, statuses, _, _ = whatsapp.parse(payload)
    assert [(s.external_id, s.status, s.error_code) for s in statuses] == [
        ("wamid.out1", "read", None),
        ("wamid.out2", "failed", 131026),
    ]


@pytest.mark.parametrize(
    "payload", [{}, {"object": "page", "entry": []}, {"object": "whatsapp_business_account"}]
)
def test_other_payloads_are_refused(payload: dict[str, object]) -> None:
    with pytest.raises(InvalidInput):
        whatsapp.parse(payload)


def test_error_codes_have_meanings() -> None:
    for code in (131047, 130429, 131056, 131026, 131049, 131048, 368, 131057):
        error = whatsapp.meta_error(code, "x")
        assert str(code) in error.reason and len(error.reason) > 30
    assert whatsapp.meta_error(130429, "").retryable and whatsapp.meta_error(131056, "").retryable
    assert (
        not whatsapp.meta_error(131047, "").retryable and "template" in whatsapp.meta_error(131047, "").reason
    )
