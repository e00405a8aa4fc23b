"""The console's Broadcasts pages: composing a draft (errors at their field, the body the API would have
stored), the live panel's count and per-contact preview, the list's filters, the actions a status allows
(a refused one says why), a sent broadcast's results chart, recipients page by page and its CSV, roles,
another tenant, Chinese."""

from __future__ import annotations

import html
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient

from knowledge.embeddings import LocalE5Embedder
from tests.channels.fake_graph import FakeGraph
from tests.channels.test_whatsapp import setup_channel
from tests.conftest import BACKENDS, auth, new_tenant
from tests.crm.test_broadcasts import contact, static_list
from tests.helpers.console import console_app, csrf, new_member, sign_in, switch_language
from web.console import broadcast_routes


@pytest.fixture(scope="module")
def graph() -> Iterator[FakeGraph]:
    fake = FakeGraph()
    yield fake
    fake.stop()


@pytest.fixture(scope="module", params=BACKENDS)
def app(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    migrated_sqlite: Path,
    embedder: LocalE5Embedder,
    graph: FakeGraph,
) -> Iterator[Any]:
    """The console's app with WhatsApp sends going to the fake Graph API."""
    for built in console_app(
        request, tmp_path_factory, migrated_sqlite, embedder, whatsapp_api_base=graph.url
    ):
        with TestClient(built):
            yield built


@pytest.fixture(scope="module")
def shop(api: TestClient) -> dict[str, Any]:
    """A tenant with a WhatsApp channel, a number attribute, three tagged contacts and a list."""
    key = new_tenant(api, "Harbour Tea House")
    made = api.post(
        "/v1/attributes", json={"key": "visits", "label": "Visits", "type": "number"}, headers=auth(key)
    )
    assert made.status_code == 201, made.text
    kerry = contact(
        api, key, first_name="Kerry", phone="+852 9123 4567", tags=["vip"], attributes={"visits": 5}
    )
    anon = contact(api, key, phone="85291110000", tags=["vip"], attributes={"visits": 1})
    gone = contact(api, key, first_name="Opted", phone="85291112222", tags=["vip"], opted_out=True)
    mail = contact(api, key, first_name="Mail", email="mail@example.com", tags=["vip"])
    other = contact(api, key, first_name="Other", phone="85291113333")
    new_member(api, key, "boss@tea.example", "admin")
    return {
        "key": key,
        "channel": setup_channel(api, key)["id"],
        "kerry": kerry,
        "anon": anon,
        "gone": gone,
        "mail": mail,
        "other": other,
        "tea": static_list(api, key, "Tea lovers", [kerry, other]),
    }


@pytest.fixture(scope="module")
def admin(app: Any, shop: dict[str, Any]) -> TestClient:
    return sign_in(app, "boss@tea.example", address="10.60.0.1")


def compose(shop: dict[str, Any], **values: Any) -> dict[str, Any]:
    """The compose form as a browser posts it: a text to the vip tag on the shop's WhatsApp channel."""
    form = {
        "name": "Autumn teas",
        "channel_id": shop["channel"],
        "content-text": "Hi {{first_name|there}}, our autumn teas are in!",
        "content-media-kind": "",
        "content-media-link": "",
        "content-template-name": "",
        "content-template-language": "en",
        "content-template-variables": "",
        "audience-conditions-0-field": "tags",
        "audience-conditions-0-op": "has",
        "audience-conditions-0-value": "vip",
        "audience-conditions-1-field": "",  # the blank row offered for adding
        "audience-conditions-1-op": "eq",
        "audience-conditions-1-value": "",
        "send_at": "",
        "timezone": "Asia/Hong_Kong",
        "follow_up_minutes": "0",
    }
    return {**form, **values}


def create(admin: TestClient, shop: dict[str, Any], **values: Any) -> str:
    made = admin.post("/console/broadcasts/new", data={"csrf": csrf(admin), **compose(shop, **values)})
    assert made.status_code == 303, made.text
    found = re.fullmatch(r"/console/broadcasts/([0-9a-z]+)\?notice=created", made.headers["location"])
    assert found, made.headers["location"]
    return found.group(1)


def error_at(page: str, name: str) -> str:
    found = re.search(rf'<small id="e-{re.escape(name)}" class="error" role="alert">([^<]*)</small>', page)
    assert found, f"no error at {name}"
    return html.unescape(found.group(1))


def test_composing_a_draft_shows_errors_at_their_field_and_saves_what_the_api_would(
    admin: TestClient, api: TestClient, shop: dict[str, Any]
) -> None:
    page = admin.get("/console/broadcasts/new")
    assert page.status_code == 200
    assert f'<option value="{shop["channel"]}" selected>Main number (whatsapp)</option>' in page.text
    assert '<option value="Asia/Hong_Kong" selected>' in page.text  # the tenant's zone
    assert "Tea lovers" in page.text and "Attribute: Visits" in page.text
    token = csrf(admin)

    def refused(at: str, **values: Any) -> str:
        response = admin.post("/console/broadcasts/new", data={"csrf": token, **compose(shop, **values)})
        assert response.status_code == 422, response.text
        assert 'id="broadcast-invalid"' in response.text
        return error_at(response.text, at)

    assert "unknown variable {{fav_tea}}" in refused("content-text", **{"content-text": "Hi {{fav_tea}}"})
    assert "unknown variable {{fav}}" in refused(
        "content-template-variables",
        **{"content-template-name": "autumn", "content-template-variables": "{{first_name}}\n{{fav}}"},
    )
    assert "String should match pattern" in refused(
        "content-media-link", **{"content-media-kind": "image", "content-media-link": "ftp://x"}
    )
    assert "at least 1 character" in refused(
        "content-template-name", **{"content-template-variables": "{{name}}"}
    )
    assert "send_at is in the past" in refused("send_at", send_at="2020-01-01T09:00")
    assert "at least 1 character" in refused("name", name="")
    assert "is a number" in refused(
        "audience-conditions-0-value",
        **{"audience-conditions-0-field": "attributes.visits", "audience-conditions-0-op": "gt"},
    )
    assert "needs a value" in refused("audience-conditions-0-value", **{"audience-conditions-0-value": ""})
    kept = admin.post(
        "/console/broadcasts/new", data={"csrf": token, **compose(shop, **{"content-text": "Hi {{fav_tea}}"})}
    )
    assert "Hi {{fav_tea}}</textarea>" in kept.text  # what was typed comes back with the error
    assert '<option value="has" selected>' in kept.text

    later = (datetime.now(UTC) + timedelta(days=3)).astimezone(ZoneInfo("Asia/Hong_Kong"))
    wall = later.strftime("%Y-%m-%dT09:30")
    broadcast_id = create(
        admin,
        shop,
        send_at=wall,
        **{
            "audience-lists": shop["tea"],
            "audience-conditions-1-field": "attributes.visits",
            "audience-conditions-1-op": "gt",
            "audience-conditions-1-value": "2",
            "content-media-kind": "image",
            "content-media-link": "https://tea.example/autumn.jpg",
            "content-template-name": "autumn_teas",
            "content-template-language": "zh_HK",
            "content-template-variables": "{{first_name|朋友}}\n",
        },
    )
    saved = api.get(f"/v1/broadcasts/{broadcast_id}", headers=auth(shop["key"])).json()
    assert saved["status"] == "draft" and saved["timezone"] == "Asia/Hong_Kong"
    assert saved["audience"] == {
        "lists": [shop["tea"]],
        "conditions": [
            {"field": "tags", "op": "has", "value": "vip"},
            {"field": "attributes.visits", "op": "gt", "value": 2},  # typed as the attribute is
        ],
    }
    assert saved["content"] == {
        "text": "Hi {{first_name|there}}, our autumn teas are in!",
        "media": {"kind": "image", "link": "https://tea.example/autumn.jpg"},
        "template": {"name": "autumn_teas", "language": "zh_HK", "variables": ["{{first_name|朋友}}"]},
    }
    assert saved["send_at_local"].startswith(wall) and saved["send_at_local"].endswith("+08:00")

    shown = admin.get(f"/console/broadcasts/{broadcast_id}?notice=created")
    assert "Draft saved." in shown.text
    assert f'value="{wall}"' in shown.text  # the send time in the broadcast's zone
    assert f'value="{shop["tea"]}" checked' in shown.text
    assert 'name="audience-conditions-1-value" type="text" value="2"' in shown.text
    audit = api.get(f"/v1/audit?entity=broadcast&entity_id={broadcast_id}", headers=auth(shop["key"])).json()
    assert [e["actor"] for e in audit if e["action"] == "broadcast.create"][0].startswith("user:")


def live(admin: TestClient, shop: dict[str, Any], **values: Any) -> str:
    response = admin.post("/console/broadcasts/live", data={"csrf": csrf(admin), **compose(shop, **values)})
    assert response.status_code == 200, response.text
    assert "<html" not in response.text  # a fragment
    return response.text


def test_the_live_panel_counts_the_audience_and_previews_one_contact(
    admin: TestClient, shop: dict[str, Any]
) -> None:
    panel = live(admin, shop)
    # vip: Kerry, the anonymous number, the opted-out one and the e-mail-only one (no WhatsApp address).
    assert re.search(r'id="live-recipients">2<', panel)
    assert re.search(r'id="count-matching">4<', panel) and re.search(r'id="count-opted_out">1<', panel)
    assert re.search(r'id="count-unreachable">1<', panel)
    assert 'id="preview-text">Hi Kerry, our autumn teas are in!<' in panel  # the first contact
    assert "To 85291234567" in panel
    anon = live(admin, shop, preview=shop["anon"])
    assert 'id="preview-text">Hi there, our autumn teas are in!<' in anon  # the fallback
    assert f'<option value="{shop["anon"]}" selected>' in anon
    gone = live(admin, shop, preview=shop["gone"])
    assert "Opted out: this contact will not get it." in gone
    mail = live(admin, shop, preview=shop["mail"])
    assert "Not reachable on this channel" in mail

    template = live(
        admin,
        shop,
        preview=shop["anon"],
        **{"content-template-name": "autumn_teas", "content-template-variables": "{{first_name}}"},
    )
    assert (
        "Template autumn_teas (en)" in template and "no value for {{first_name}} and no fallback" in template
    )
    listed = live(admin, shop, **{"audience-lists": shop["tea"]})  # the tea list, narrowed to vip
    assert re.search(r'id="live-recipients">1<', listed)
    numbers = live(
        admin,
        shop,
        **{
            "audience-conditions-1-field": "attributes.visits",
            "audience-conditions-1-op": "lt",
            "audience-conditions-1-value": "3",
        },
    )
    assert re.search(r'id="count-matching">1<', numbers)  # only the anonymous number has visits < 3

    empty = live(admin, shop, **{"audience-conditions-0-field": "", "audience-conditions-0-value": ""})
    assert 'id="live-empty"' in empty and 'id="live-recipients"' not in empty
    unknown = live(admin, shop, **{"content-text": "Hi {{fav_tea}}"})
    assert 'id="live-content-problem"' in unknown and "unknown variable {{fav_tea}}" in unknown
    bad = live(admin, shop, **{"audience-conditions-0-field": "attributes.nope"})
    assert 'id="live-audience-problem"' in bad and "unknown attribute" in bad
    no_channel = live(admin, shop, channel_id="")
    assert 'id="live-channel"' in no_channel and 'id="live-recipients"' not in no_channel
    forged = admin.post("/console/broadcasts/live", data=compose(shop))
    assert forged.status_code == 403


def status_of(api: TestClient, shop: dict[str, Any], broadcast_id: str) -> str:
    return str(api.get(f"/v1/broadcasts/{broadcast_id}", headers=auth(shop["key"])).json()["status"])


def buttons(page: str) -> set[str]:
    return set(re.findall(r'id="do-([a-z]+)"', page))


def test_the_actions_a_status_allows_and_a_refused_move_says_why(
    admin: TestClient, api: TestClient, shop: dict[str, Any]
) -> None:
    token = csrf(admin)
    empty = create(admin, shop, **{"content-text": ""})
    page = admin.get(f"/console/broadcasts/{empty}")
    assert buttons(page.text) == {"publish", "duplicate", "delete"}
    assert re.search(r'id="do-publish" class="primary">\s*Send now</button>', page.text)  # no send time
    refused = admin.post(f"/console/broadcasts/{empty}/publish", data={"csrf": token})
    assert refused.status_code == 422
    assert "Not done: the broadcast has no content" in refused.text and 'id="e-actions"' in refused.text
    assert status_of(api, shop, empty) == "draft"

    later = (
        (datetime.now(UTC) + timedelta(days=2)).astimezone(ZoneInfo("Asia/Tokyo")).strftime("%Y-%m-%dT%H:%M")
    )
    scheduled = create(admin, shop, send_at=later, timezone="Asia/Tokyo")
    page = admin.get(f"/console/broadcasts/{scheduled}")
    assert re.search(r'id="do-publish" class="primary">\s*Schedule</button>', page.text)
    assert f"sends at {later.replace('T', ' ')} JST" in page.text  # in the broadcast's own zone
    done = admin.post(f"/console/broadcasts/{scheduled}/publish", data={"csrf": token})
    assert done.status_code == 303 and done.headers["location"].endswith("?notice=publish")
    assert status_of(api, shop, scheduled) == "scheduled"
    page = admin.get(f"/console/broadcasts/{scheduled}?notice=publish")
    assert "Published." in page.text and buttons(page.text) == {"pause", "cancel", "duplicate"}
    assert 'id="broadcast-form"' in page.text  # a scheduled broadcast can still be edited
    edited = admin.post(
        f"/console/broadcasts/{scheduled}/edit",
        data={"csrf": token, **compose(shop, name="Winter teas", send_at=later, timezone="Asia/Tokyo")},
    )
    assert edited.status_code == 303 and edited.headers["location"].endswith("?notice=saved")
    assert api.get(f"/v1/broadcasts/{scheduled}", headers=auth(shop["key"])).json()["name"] == "Winter teas"

    again = admin.post(f"/console/broadcasts/{scheduled}/publish", data={"csrf": token})  # a stale tab
    assert again.status_code == 409 and "cannot publish a broadcast that is scheduled" in again.text
    deleting = admin.post(f"/console/broadcasts/{scheduled}/delete", data={"csrf": token})
    assert deleting.status_code == 409 and "pause or cancel it before deleting it" in deleting.text
    assert admin.post(f"/console/broadcasts/{scheduled}/pause", data={"csrf": token}).status_code == 303
    page = admin.get(f"/console/broadcasts/{scheduled}")
    assert buttons(page.text) == {"resume", "cancel", "duplicate", "delete"}
    assert 'id="broadcast-form"' not in page.text and 'id="summary"' in page.text  # paused: read only
    assert "In the list" not in page.text and "<code>tags</code> has <code>vip</code>" in page.text
    refused_edit = admin.post(f"/console/broadcasts/{scheduled}/edit", data={"csrf": token, **compose(shop)})
    assert (
        refused_edit.status_code == 409
        and "only draft and scheduled broadcasts can be edited" in refused_edit.text
    )
    assert admin.post(f"/console/broadcasts/{scheduled}/resume", data={"csrf": token}).status_code == 303
    assert status_of(api, shop, scheduled) == "scheduled"
    assert admin.post(f"/console/broadcasts/{scheduled}/cancel", data={"csrf": token}).status_code == 303
    assert status_of(api, shop, scheduled) == "cancelled"

    copied = admin.post(f"/console/broadcasts/{scheduled}/duplicate", data={"csrf": token})
    assert copied.status_code == 303 and copied.headers["location"].endswith("?notice=duplicated")
    copy = copied.headers["location"].split("/")[-1].split("?")[0]
    assert api.get(f"/v1/broadcasts/{copy}", headers=auth(shop["key"])).json()["name"] == "Winter teas (copy)"
    gone = admin.post(f"/console/broadcasts/{scheduled}/delete", data={"csrf": token})
    assert gone.status_code == 303 and gone.headers["location"] == "/console/broadcasts?notice=deleted"
    assert api.get(f"/v1/broadcasts/{scheduled}", headers=auth(shop["key"])).status_code == 404
    assert admin.post(f"/console/broadcasts/{copy}/launch", data={"csrf": token}).status_code == 404
    assert admin.post(f"/console/broadcasts/{copy}/publish").status_code == 403  # no CSRF token


def test_the_list_filters_by_status_channel_and_name(admin: TestClient, shop: dict[str, Any]) -> None:
    draft = create(admin, shop, name="Mooncake preorder")
    every = admin.get("/console/broadcasts")
    assert every.status_code == 200 and f'id="broadcast-{draft}"' in every.text
    row = every.text.split(f'id="broadcast-{draft}"', 1)[1].split("</tr>", 1)[0]
    assert "Draft" in row and "Main number (whatsapp)" in row and "When published" in row
    assert f'id="broadcast-{draft}"' in admin.get("/console/broadcasts?status=draft").text
    assert f'id="broadcast-{draft}"' not in admin.get("/console/broadcasts?status=sent").text
    assert f'id="broadcast-{draft}"' in admin.get("/console/broadcasts?q=mooncake").text
    assert f'id="broadcast-{draft}"' not in admin.get("/console/broadcasts?q=lantern").text
    assert f'id="broadcast-{draft}"' not in admin.get("/console/broadcasts?channel=elsewhere").text
    bad = admin.get("/console/broadcasts?status=lost")
    assert bad.status_code == 422 and 'id="e-status"' in bad.text


def wait_for(api: TestClient, shop: dict[str, Any], broadcast_id: str, wanted: str) -> None:
    deadline = time.monotonic() + 30
    while status_of(api, shop, broadcast_id) != wanted:
        assert time.monotonic() < deadline, f"still {status_of(api, shop, broadcast_id)}"
        time.sleep(0.05)


def test_a_sent_broadcast_shows_its_chart_recipients_by_page_and_the_export(
    admin: TestClient, api: TestClient, shop: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Nobody wrote in the last 24 hours: the template goes (text alone would skip them all).
    template = {"content-template-name": "autumn_teas", "content-template-variables": "{{first_name|there}}"}
    sent = create(admin, shop, name="Sent now", **template)
    assert admin.post(f"/console/broadcasts/{sent}/publish", data={"csrf": csrf(admin)}).status_code == 303
    wait_for(api, shop, sent, "sent")
    page = admin.get(f"/console/broadcasts/{sent}")
    # Kerry and the anonymous number got it; the e-mail-only contact was skipped; the opted-out one is no row.
    bars = dict(re.findall(r'<g class="bar-row" data-metric="([a-z]+)" data-count="(\d+)">', page.text))
    assert bars == {
        "recipients": "3",
        "sent": "2",
        "delivered": "0",
        "read": "0",
        "replied": "0",
        "failed": "0",
        "skipped": "1",
        "waiting": "0",
    }
    assert (
        '<svg class="chart" id="chart"' in page.text and '<desc id="chart-desc">Recipients: 3;' in page.text
    )
    widths = re.findall(r'class="bar bar-([a-z]+)"', page.text)
    assert len(widths) == 8
    assert 'width="126.7" height="20" rx="3" class="bar bar-sent"' in page.text  # 2 of 3 of 190
    assert "cannot be reached on whatsapp" in page.text.split('id="reasons"', 1)[1]
    assert buttons(page.text) == {"duplicate", "delete"}
    assert "3 recipient(s)" in page.text

    monkeypatch.setattr(broadcast_routes, "PAGE", 2)
    first = admin.get(f"/console/broadcasts/{sent}")
    assert len(re.findall(r'<tr id="recipient-', first.text)) == 2 and "Page 1 of 2" in first.text
    second = admin.get(f"/console/broadcasts/{sent}?page=2")
    assert len(re.findall(r'<tr id="recipient-', second.text)) == 1
    skipped = admin.get(f"/console/broadcasts/{sent}?status=skipped")
    assert len(re.findall(r'<tr id="recipient-', skipped.text)) == 1 and "Mail" in skipped.text
    assert admin.get(f"/console/broadcasts/{sent}?status=lost").status_code == 422

    export = admin.get(f"/console/broadcasts/{sent}/export.csv")
    assert export.status_code == 200 and export.text.startswith("\ufeffcontact_id,name,")
    assert export.text == api.get(f"/v1/broadcasts/{sent}/export.csv", headers=auth(shop["key"])).text


def test_roles_another_tenant_and_chinese(
    app: Any, api: TestClient, admin: TestClient, shop: dict[str, Any]
) -> None:
    draft = create(admin, shop, name="Lantern festival")
    new_member(api, shop["key"], "agent@tea.example", "agent")
    agent = sign_in(app, "agent@tea.example", address="10.60.0.2")
    assert agent.get("/console/broadcasts").status_code == 403
    assert agent.get(f"/console/broadcasts/{draft}").status_code == 403
    refused = agent.post(f"/console/broadcasts/{draft}/publish", data={"csrf": csrf(agent, "/console/inbox")})
    assert refused.status_code == 403 and "Your role cannot do this here." in refused.text

    other = new_tenant(api, "Other Tea")
    new_member(api, other, "boss@other.example", "admin")
    stranger = sign_in(app, "boss@other.example", address="10.60.0.3")
    assert stranger.get(f"/console/broadcasts/{draft}").status_code == 404
    assert stranger.get(f"/console/broadcasts/{draft}/export.csv").status_code == 404
    token = csrf(stranger)
    assert stranger.post(f"/console/broadcasts/{draft}/delete", data={"csrf": token}).status_code == 404
    assert f'id="broadcast-{draft}"' not in stranger.get("/console/broadcasts").text
    # Another tenant's channel is not one to send on, and its contacts are not previewed.
    theirs = stranger.post("/console/broadcasts/new", data={"csrf": token, **compose(shop)})
    assert theirs.status_code == 422 and "not one of this tenant's channels" in error_at(
        theirs.text, "channel_id"
    )
    assert f'<option value="{shop["channel"]}" selected>a deleted channel</option>' in theirs.text  # no name
    assert (
        "Kerry" not in stranger.post("/console/broadcasts/live", data={"csrf": token, **compose(shop)}).text
    )
    assert api.get(f"/v1/broadcasts/{draft}", headers=auth(shop["key"])).json()["status"] == "draft"

    switch_language(admin, "zh-Hant", f"/console/broadcasts/{draft}")
    page = admin.get(f"/console/broadcasts/{draft}")
    assert (
        '<h2 id="live-title">受眾及預覽</h2>' in page.text and "草稿" in page.text and "立即發送" in page.text
    )
    assert "群發訊息" in admin.get("/console/broadcasts").text
    switch_language(admin, "en", "/console/broadcasts")
