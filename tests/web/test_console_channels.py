"""The Channels page: every kind connects through its form as through POST /v1/channels (same model, same
stored settings, audited as the user), errors at their field with no credential written back, the webhook
URL and the chosen tokens shown once, secrets only as set / not set; whether deliveries arrive; unreadable
events read again; delete; the live-chat widget; and another tenant or role sees nothing."""

from __future__ import annotations

import html
import re
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from channels import whatsapp
from channels.models import Channel
from channels.routes import SECRET_FIELDS
from core.db import utcnow
from knowledge.embeddings import LocalE5Embedder
from tests.channels.fake_graph import FakeGraph
from tests.channels.signing import (
    CHANNELS,
    create_channel,
    deliver,
    fake_platforms,
    text_delivery,
    whatsapp_delivery,
)
from tests.conftest import BACKENDS, auth, ingested, new_tenant, services
from tests.helpers.console import console_app, csrf, new_member, sign_in, switch_language, user_ref
from web.console import channel_form
from web.console.i18n import CATALOGUE


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeGraph]:
    """The platforms' APIs (the agent's replies go there), for the module's app."""
    server = FakeGraph()
    yield server
    server.stop()


@pytest.fixture(scope="module", params=BACKENDS)
def app(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    migrated_sqlite: Path,
    embedder: LocalE5Embedder,
    fake: FakeGraph,
) -> Iterator[Any]:
    for app in console_app(request, tmp_path_factory, migrated_sqlite, embedder, **fake_platforms(fake)):
        with TestClient(app):
            yield app


def sample(kind: str) -> dict[str, str]:
    """Valid values of a kind, as the API tests send them (Instagram's are Messenger's)."""
    return dict(CHANNELS["messenger" if kind == "instagram" else kind])


def credentials(kind: str) -> list[str]:
    """The sealed values the platform gave (not the tokens chosen on the form): never in a page."""
    return [sample(kind)[name] for name in SECRET_FIELDS[kind] if name not in channel_form.CHOSEN]


def sealed(kind: str) -> list[str]:
    """Every sealed value: credentials and chosen tokens."""
    return [sample(kind)[name] for name in SECRET_FIELDS[kind]]


def channels_of(api: TestClient, key: str) -> list[dict[str, Any]]:
    response = api.get("/v1/channels", headers=auth(key))
    assert response.status_code == 200, response.text
    return list(response.json())


def test_every_kind_connects_through_its_form_as_through_the_api(
    api: TestClient, acme: str, admin: TestClient
) -> None:
    token = csrf(admin, "/console/channels")
    listing = admin.get("/console/channels").text
    for kind in ("whatsapp", "messenger", "instagram", "telegram", "line", "viber", "wechat", "sms"):
        assert f'href="/console/channels/new/{kind}"' in listing, kind
    assert set(channel_form.KINDS) == {
        "whatsapp",
        "messenger",
        "instagram",
        "telegram",
        "line",
        "viber",
        "wechat",
        "sms",
    }
    for kind in channel_form.KINDS:
        form = admin.get(f"/console/channels/new/{kind}")
        assert form.status_code == 200, kind
        for item in channel_form.inputs(kind):
            # Every input is labelled and explained.
            assert f'<label for="f-{item.name}">' in form.text, (kind, item.name)
            hint = re.search(rf'<small id="h-{re.escape(item.name)}" class="hint">([^<]+)</small>', form.text)
            assert hint and len(hint.group(1)) > 20, (kind, item.name)
        values = sample(kind)
        connected = admin.post(
            f"/console/channels/new/{kind}", data={"csrf": token, "name": f"Acme {kind}", **values}
        )
        assert connected.status_code == 200, (kind, connected.text)
        page = html.unescape(connected.text)
        found = re.search(rf'id="webhook-url"[^>]*value="(http://testserver/webhooks/{kind}/(\w+))"', page)
        assert found, kind
        channel_id = found.group(2)
        for secret in credentials(kind):
            assert secret not in page, (kind, "a credential is shown back")
        for item in channel_form.inputs(kind):
            if item.kind == "chosen":  # the token to enter on the platform: shown this once
                assert f'id="chosen-{item.field}"' in page and values[item.name] in page, kind
        # Stored as the API stores the same body.
        made = api.post(
            "/v1/channels", headers=auth(acme), json={"kind": kind, "name": f"API {kind}", **values}
        )
        assert made.status_code == 201, made.text
        stored = api.get(f"/v1/channels/{channel_id}", headers=auth(acme)).json()
        assert stored["kind"] == kind and stored["config"] == made.json()["config"]
        assert api.delete(f"/v1/channels/{made.json()['id']}", headers=auth(acme)).status_code == 204
        # The channel's page: secrets only as set.
        detail = html.unescape(admin.get(f"/console/channels/{channel_id}").text)
        for secret in sealed(kind):
            assert secret not in detail, (kind, "a sealed value is shown on the channel's page")
        assert re.search(r'class="sealed" id="sealed-\w+">set<', detail), kind
    audit = api.get("/v1/audit?entity=channel", headers=auth(acme)).json()
    boss = user_ref(api, acme, "boss@acme.example")
    created = [e for e in audit if e["action"] == "channel.create" and e["actor"] == boss]
    assert len(created) == len(channel_form.KINDS)
    for entry in created:  # the public settings, never a sealed value
        assert not [secret for secret in sealed(entry["after"]["kind"]) if secret in str(entry)]
    assert {e["action"] for e in audit if e["actor"].startswith("key:")} == {
        "channel.create",
        "channel.delete",
    }


def test_the_telegram_setwebhook_address_carries_the_url_and_the_chosen_token(admin: TestClient) -> None:
    token = csrf(admin, "/console/channels")
    form = admin.get("/console/channels/new/telegram").text
    chosen = re.search(r'name="secret_token" type="text" value="([A-Za-z0-9_-]{32,})"', form)
    assert chosen, "a random secret token is filled in"
    values = {**sample("telegram"), "secret_token": chosen.group(1)}
    page = admin.post("/console/channels/new/telegram", data={"csrf": token, "name": "Bot", **values}).text
    command = html.unescape(re.search(r'<pre class="code mono" id="setwebhook">([^<]+)</pre>', page).group(1))  # type: ignore[union-attr]
    assert command.startswith(
        "https://api.telegram.org/bot<BOT_TOKEN>/setWebhook?url=http%3A%2F%2Ftestserver%2Fwebhooks%2Ftelegram%2F"
    )
    assert command.endswith(f"&secret_token={chosen.group(1)}")
    assert values["bot_token"] not in page
    # Served over plain HTTP: the page says platforms need a public HTTPS address.
    assert 'class="warn"' in page


def test_errors_are_at_their_field_and_no_credential_is_written_back(
    api: TestClient, acme: str, admin: TestClient
) -> None:
    token = csrf(admin, "/console/channels")
    before = len(channels_of(api, acme))
    bad = admin.post(
        "/console/channels/new/telegram",
        data={
            "csrf": token,
            "name": "Shop bot",
            "bot_token": "not a bot token at all",
            "secret_token": "short",
        },
    )
    assert bad.status_code == 422
    assert re.search(r'id="e-bot_token" class="error" role="alert">Not in the expected form', bad.text)
    assert re.search(r'id="e-secret_token" class="error" role="alert">At least 16 characters', bad.text)
    assert "not a bot token at all" not in bad.text  # a credential is typed again, never echoed
    assert 'id="retype"' in bad.text
    assert 'value="Shop bot"' in bad.text and 'value="short"' in bad.text
    assert 'aria-invalid="true" aria-describedby="e-bot_token h-bot_token"' in bad.text

    whatsapp_form = {
        "csrf": token,
        "name": "",
        **CHANNELS["whatsapp"],
        "messages_per_second": "5000",
        "fallback_template-language": "zh_HK",
    }
    refused = admin.post("/console/channels/new/whatsapp", data=whatsapp_form)
    assert refused.status_code == 422
    assert re.search(r'id="e-name" class="error" role="alert">Required\.', refused.text)
    assert re.search(r'id="e-messages_per_second" class="error" role="alert">At most 1000\.', refused.text)
    # A language without a template name: the template's name is what is missing.
    assert re.search(r'id="e-fallback_template-name" class="error" role="alert">Required\.', refused.text)
    assert CHANNELS["whatsapp"]["access_token"] not in refused.text
    assert CHANNELS["whatsapp"]["app_secret"] not in refused.text

    switch_language(admin, "zh-Hant", "/console/channels")
    try:
        chinese = admin.post("/console/channels/new/whatsapp", data=whatsapp_form)
        assert re.search(r'id="e-name" class="error" role="alert">必填。', chinese.text)
        assert "Phone number ID（電話號碼 ID）" in chinese.text
    finally:
        switch_language(admin, "en", "/console/channels")
    assert admin.get("/console/channels/new/carrier-pigeon").status_code == 404
    assert admin.post("/console/channels/new/carrier-pigeon", data={"csrf": token}).status_code == 404
    assert len(channels_of(api, acme)) == before


def test_the_list_shows_whether_deliveries_arrive(
    api: TestClient, acme: str, admin: TestClient, fake: FakeGraph
) -> None:
    channel = create_channel(api, acme, "line")
    row = row_of(admin, channel)
    assert 'data-state="waiting"' in row and "Waiting for the first delivery" in row
    assert api.get(f"/v1/channels/{channel}", headers=auth(acme)).json()["last_delivery_at"] is None
    assert deliver(api, "line", channel, text_delivery("line", 1, "are you open today?")).status_code == 200
    ingested(api)
    row = row_of(admin, channel)
    assert 'data-state="receiving"' in row and "Receiving" in row
    assert re.search(r'class="last">\d{4}-\d\d-\d\d \d\d:\d\d UTC<', row)
    listed = next(c for c in channels_of(api, acme) if c["id"] == channel)
    assert listed["last_delivery_at"] and listed["waiting_deliveries"] == 0
    assert listed["open_unparsed_events"] == 0
    detail = admin.get(f"/console/channels/{channel}").text
    assert 'id="channel-state">Receiving<' in detail
    # Older than the deliveries are kept (30 days here) and none kept: it may have had one since swept.
    old = create_channel(api, acme, "line")
    with services(api).core.db.session() as session:
        session.execute(
            update(Channel).where(Channel.id == old).values(created_at=utcnow() - timedelta(days=45))
        )
    row = row_of(admin, old)
    assert 'data-state="quiet"' in row and "No delivery in the last 30 days" in row
    assert CHANNELS["line"]["channel_secret"] not in detail and CHANNELS["line"]["access_token"] not in detail


def row_of(admin: TestClient, channel_id: str) -> str:
    page = admin.get("/console/channels").text
    found = re.search(rf'<tr id="channel-{channel_id}".*?</tr>', page, re.S)
    assert found, "the channel is listed"
    return found.group(0)


def numeric_id_delivery() -> dict[str, Any]:
    """A delivery with a message the adapter cannot read (its id is a number), beside one it can."""
    body = whatsapp_delivery(int(time.time()), "wamid.console", "first")
    body["entry"][0]["changes"][0]["value"]["messages"].append(
        {"from": "85291234567", "id": 4711, "type": "text", "text": {"body": "what are your hours?"}}
    )
    return body


def test_unreadable_events_are_listed_and_read_again(
    api: TestClient, acme: str, admin: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    channel = create_channel(api, acme, "whatsapp")
    assert deliver(api, "whatsapp", channel, numeric_id_delivery()).json()["unparsed"] == 1
    ingested(api)
    assert 'href="/console/channels/' + channel + '#events">1<' in row_of(admin, channel)
    page = admin.get(f"/console/channels/{channel}").text
    [event_id] = re.findall(r'<li class="event item" id="event-(\w+)">', page)
    assert "a message without an id" in page and "4711" in page
    token = csrf(admin, f"/console/channels/{channel}")
    again = admin.post(f"/console/channels/{channel}/events/{event_id}/retry", data={"csrf": token})
    assert again.status_code == 303 and "notice=event_unreadable" in again.headers["location"]
    assert "still cannot be read" in admin.get(again.headers["location"]).text

    read = whatsapp._id  # the fix: a numeric id is read as text
    monkeypatch.setattr(
        whatsapp, "_id", lambda value, what: read(str(value) if isinstance(value, int) else value, what)
    )
    every = admin.post(f"/console/channels/{channel}/events/retry", data={"csrf": token})
    assert every.status_code == 303
    done = admin.get(every.headers["location"]).text
    assert "1 read and stored, 0 still unreadable." in done
    forged = admin.get(f"/console/channels/{channel}?notice=events_retried&resolved=Call+us&failing=²").text
    assert "0 read and stored, 0 still unreadable." in forged and "Call us" not in forged
    assert f'id="event-{event_id}"' not in done  # the open ones are listed by default
    assert f'id="event-{event_id}"' in admin.get(f"/console/channels/{channel}?events=resolved").text
    assert api.get(f"/v1/channels/{channel}", headers=auth(acme)).json()["open_unparsed_events"] == 0


def test_delete_is_confirmed_and_refuses_the_platform_afterwards(
    api: TestClient, acme: str, admin: TestClient
) -> None:
    channel = create_channel(api, acme, "viber")
    page = admin.get(f"/console/channels/{channel}").text
    assert re.search(rf'action="/console/channels/{channel}/delete" data-confirm="[^"]+"', page)
    assert admin.post(f"/console/channels/{channel}/delete", data={}).status_code == 403  # no CSRF token
    deleted = admin.post(f"/console/channels/{channel}/delete", data={"csrf": csrf(admin)})
    assert deleted.status_code == 303 and deleted.headers["location"] == "/console/channels?notice=deleted"
    assert "Channel deleted." in admin.get(deleted.headers["location"]).text
    assert api.get(f"/v1/channels/{channel}", headers=auth(acme)).status_code == 404
    assert deliver(api, "viber", channel, text_delivery("viber", 1, "hello")).status_code == 404
    assert admin.get(f"/console/channels/{channel}").status_code == 404
    audit = api.get(f"/v1/audit?entity=channel&entity_id={channel}", headers=auth(acme)).json()
    assert [(e["action"], e["actor"]) for e in audit if e["action"] == "channel.delete"] == [
        ("channel.delete", user_ref(api, acme, "boss@acme.example"))
    ]


def test_the_widget_snippet_key_rotation_and_identity(api: TestClient, acme: str, admin: TestClient) -> None:
    widget = api.get("/v1/livechat/widget", headers=auth(acme)).json()
    page = html.unescape(admin.get("/console/channels").text)
    assert widget["snippet"] in page
    assert re.search(r'<details id="identity-secret">.*' + widget["identity_secret"], page, re.S)
    token = csrf(admin)
    rotate = admin.post("/console/channels/widget/rotate", data={"csrf": token})
    assert (
        rotate.status_code == 303
        and rotate.headers["location"] == "/console/channels?notice=widget_rotated#widget"
    )
    rotated = api.get("/v1/livechat/widget", headers=auth(acme)).json()
    assert rotated["widget_key"] != widget["widget_key"]
    assert rotated["identity_secret"] == widget["identity_secret"]  # the API rotates the key alone
    assert rotated["widget_key"] in admin.get("/console/channels").text
    assert 'action="/console/channels/widget/rotate" class="field" data-confirm=' in page

    required = admin.post("/console/channels/widget/identity", data={"csrf": token, "require_identity": "1"})
    assert required.status_code == 303
    assert api.get("/v1/livechat/widget", headers=auth(acme)).json()["require_identity"] is True
    assert (
        'name="require_identity" id="f-require_identity" value="1" checked'
        in admin.get("/console/channels").text
    )
    admin.post("/console/channels/widget/identity", data={"csrf": token})  # the box unticked
    assert api.get("/v1/livechat/widget", headers=auth(acme)).json()["require_identity"] is False
    audit = api.get("/v1/audit?entity=livechat_widget", headers=auth(acme)).json()
    boss = user_ref(api, acme, "boss@acme.example")
    changes = [e for e in audit if e["actor"] == boss]
    assert len(changes) == 3 and all("identity_secret" not in str(e) for e in changes)


def test_another_tenant_and_other_roles_see_nothing(
    app: Any, api: TestClient, acme: str, admin: TestClient
) -> None:
    channel = create_channel(api, acme, "sms")
    other = new_tenant(api, "Other Salon")
    new_member(api, other, "owner@other.example", "admin")
    stranger = sign_in(app, "owner@other.example", address="10.61.0.1")
    token = csrf(stranger)
    assert channel not in stranger.get("/console/channels").text
    assert stranger.get(f"/console/channels/{channel}").status_code == 404
    assert stranger.post(f"/console/channels/{channel}/delete", data={"csrf": token}).status_code == 404
    assert stranger.post(f"/console/channels/{channel}/events/retry", data={"csrf": token}).status_code == 404
    assert api.get(f"/v1/channels/{channel}", headers=auth(acme)).status_code == 200
    acme_widget = api.get("/v1/livechat/widget", headers=auth(acme)).json()
    assert acme_widget["widget_key"] not in stranger.get("/console/channels").text

    new_member(api, acme, "agent@acme.example", "agent")
    agent = sign_in(app, "agent@acme.example", address="10.61.0.2")
    for path in ("/console/channels", f"/console/channels/{channel}", "/console/channels/new/telegram"):
        assert agent.get(path).status_code == 403, path
    refused = agent.post(f"/console/channels/{channel}/delete", data={"csrf": csrf(agent, "/console/inbox")})
    assert refused.status_code == 403 and "Your role cannot do this here." in refused.text
    assert api.get(f"/v1/channels/{channel}", headers=auth(acme)).status_code == 200


def test_every_field_of_every_kind_has_a_label_and_a_hint_in_both_languages() -> None:
    for kind in channel_form.KINDS:
        assert f"channels.kind.{kind}" in CATALOGUE and f"channels.steps.{kind}" in CATALOGUE, kind
        assert f"channels.intro.{kind}" in CATALOGUE, kind
        for item in channel_form.inputs(kind):
            assert f"channels.field.{item.name}" in CATALOGUE, (kind, item.name)
            assert channel_form.hint_key(kind, item.name) in CATALOGUE, (kind, item.name)
