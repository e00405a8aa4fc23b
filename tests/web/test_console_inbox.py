"""The Inbox pages: conversations opened by a live-chat visitor (and a WhatsApp customer) are listed by
state; an agent takes, replies (stored, pushed to the visitor; refused at the field when the channel's window
is closed), notes, assigns to a user, resolves, reopens and gives back, all through InboxService and
audited as the signed-in user; QA only reads; another tenant's conversation is 404; Smart Reply and the
Writing Assistant fill the reply box."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.channels.test_livechat import ws_url
from tests.channels.test_whatsapp import delivery, post, setup_channel, text_message
from tests.conftest import auth, new_tenant, settle
from tests.helpers.console import csrf, new_member, sign_in, switch_language
from tests.inbox.test_inbox import say
from web.console import inbox_pages

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture(scope="module")
def shop(api: TestClient) -> str:
    key = new_tenant(api, "Lotus Glow")
    for email, role in (
        ("mandy@lotus.example", "agent"),
        ("ken@lotus.example", "agent"),
        ("quinn@lotus.example", "qa"),
    ):
        new_member(api, key, email, role)
    return key


@pytest.fixture(scope="module")
def mandy(app: Any, shop: str) -> TestClient:
    return sign_in(app, "mandy@lotus.example", address="10.40.0.1")


@pytest.fixture(scope="module")
def quinn(app: Any, shop: str) -> TestClient:
    return sign_in(app, "quinn@lotus.example", address="10.40.0.2")


def users(api: TestClient, key: str) -> dict[str, str]:
    """email -> user id, through /v1/staff."""
    listed = api.get("/v1/staff/users", headers=auth(key))
    assert listed.status_code == 200, listed.text
    return {u["email"]: u["id"] for u in listed.json()["users"]}


def ask_for_a_person(api: TestClient, key: str, visitor: Any, first: str) -> str:
    """A visitor writes, then asks for a person: the conversation waits for one. Returns its id."""
    visitor.receive_json()  # session
    visitor.receive_json()  # history
    frames = say(visitor, first, "c1")
    conversation = str(frames[0]["conversation_id"])
    [handoff] = [f for f in say(visitor, "I want to talk to a person", "c2") if f["type"] == "message"]
    assert handoff["handoff"] is True
    return conversation


def widget(api: TestClient, key: str) -> str:
    return str(api.get("/v1/livechat/widget", headers=auth(key)).json()["widget_key"])


@pytest.fixture(scope="module")
def waiting(api: TestClient, shop: str) -> str:
    with api.websocket_connect(ws_url(widget(api, shop))) as visitor:
        return ask_for_a_person(api, shop, visitor, "Do you have gift cards for my mum?")


def row_of(html: str, conversation: str) -> str:
    found = re.search(rf'<tr id="c-{conversation}".*?</tr>', html, re.S)
    assert found, f"conversation {conversation} is not in the list"
    return found.group(0)


def detail(api: TestClient, key: str, conversation: str) -> dict[str, Any]:
    got = api.get(f"/v1/inbox/conversations/{conversation}", headers=auth(key))
    assert got.status_code == 200, got.text
    return dict(got.json())


def test_the_list_shows_a_waiting_conversation_under_its_state(mandy: TestClient, waiting: str) -> None:
    page = mandy.get("/console/inbox?state=waiting")
    assert page.status_code == 200
    row = row_of(page.text, waiting)
    assert 'data-status="pending_human"' in row and "livechat" in row
    assert "I want to talk to a person" in row or "colleague" in row  # the latest message
    assert f'id="c-{waiting}"' not in mandy.get("/console/inbox?state=bot").text
    assert f'id="c-{waiting}"' not in mandy.get("/console/inbox?state=resolved").text
    assert f'id="c-{waiting}"' in mandy.get("/console/inbox").text  # the team's open view
    assert f'id="c-{waiting}"' not in mandy.get("/console/inbox?state=mine").text
    polled = mandy.get("/console/inbox/list?state=waiting&channel=livechat")
    assert polled.status_code == 200 and f'id="c-{waiting}"' in polled.text and "<html" not in polled.text
    assert f'id="c-{waiting}"' not in mandy.get("/console/inbox/list?state=waiting&channel=whatsapp").text
    conversation = mandy.get(f"/console/inbox/{waiting}")
    assert conversation.status_code == 200
    assert "Do you have gift cards for my mum?" in conversation.text
    assert 'class="bubble customer"' in conversation.text and 'class="bubble agent"' in conversation.text
    assert "This channel lets you reply at any time." in conversation.text  # live chat has no window
    recent = re.search(r'<ul class="recent">.*?</ul>', conversation.text, re.S)
    assert recent and "Waiting for a person" in recent.group(0)  # the handoff, in the contact's timeline


def test_an_agent_takes_replies_notes_assigns_resolves_reopens_and_gives_back(
    api: TestClient, mandy: TestClient, shop: str
) -> None:
    ids = users(api, shop)
    with api.websocket_connect(ws_url(widget(api, shop))) as visitor:
        conversation = ask_for_a_person(api, shop, visitor, "My parcel has not arrived")
        token = csrf(mandy, f"/console/inbox/{conversation}")

        taken = mandy.post(f"/console/inbox/{conversation}/take", data={"csrf": token})
        assert taken.status_code == 303
        assert detail(api, shop, conversation)["assignee"] == f"user:{ids['mandy@lotus.example']}"
        assert f'id="c-{conversation}"' in mandy.get("/console/inbox?state=mine").text
        page = mandy.get(f"/console/inbox/{conversation}").text
        assert "Assigned to mandy" in page and 'id="take"' not in page

        sent = mandy.post(
            f"/console/inbox/{conversation}/reply",
            data={"csrf": token, "text": "Hi, Mandy here. Checking now."},
        )
        assert sent.status_code == 303 and sent.headers["location"].endswith("#reply")
    # Pushed to the visitor's socket (delivery "sent"). The frame itself is not awaited here: this module's
    # clients each run their own event loop, and the app's fanout sends on the lifespan's; the browser test
    # (test_console_inbox_browser.py) shows the visitor receiving it.
    human = [m for m in detail(api, shop, conversation)["messages"] if m["role"] == "human"]
    assert [(m["text"], m["author"], m["delivery"]) for m in human] == [
        ("Hi, Mandy here. Checking now.", f"user:{ids['mandy@lotus.example']}", "sent")
    ]
    page = mandy.get(f"/console/inbox/{conversation}").text
    assert re.search(r'class="bubble human".*?Hi, Mandy here\. Checking now\.', page, re.S)

    empty = mandy.post(f"/console/inbox/{conversation}/reply", data={"csrf": token, "text": "   "})
    assert empty.status_code == 422 and 'id="e-text"' in empty.text

    noted = mandy.post(f"/console/inbox/{conversation}/note", data={"csrf": token, "text": "VIP, be quick"})
    assert noted.status_code == 303
    assert [n["text"] for n in detail(api, shop, conversation)["notes"]] == ["VIP, be quick"]
    assert re.search(
        r'class="bubble note".*?VIP, be quick', mandy.get(f"/console/inbox/{conversation}").text, re.S
    )
    blank = mandy.post(f"/console/inbox/{conversation}/note", data={"csrf": token, "text": ""})
    assert blank.status_code == 422 and 'id="e-note"' in blank.text

    ken = ids["ken@lotus.example"]
    assigned = mandy.post(
        f"/console/inbox/{conversation}/assign", data={"csrf": token, "assignee": ken, "team": "delivery"}
    )
    assert assigned.status_code == 303
    after = detail(api, shop, conversation)
    assert after["assignee"] == f"user:{ken}" and after["team"] == "delivery" and after["status"] == "human"
    assert "Assigned to ken" in mandy.get("/console/inbox/list?state=open&team=delivery").text
    qa_user = ids["quinn@lotus.example"]
    refused = mandy.post(f"/console/inbox/{conversation}/assign", data={"csrf": token, "assignee": qa_user})
    assert refused.status_code == 422 and 'id="action-error"' in refused.text
    assert (
        "no agent or admin" in refused.text and detail(api, shop, conversation)["assignee"] == f"user:{ken}"
    )

    resolved = mandy.post(f"/console/inbox/{conversation}/move", data={"csrf": token, "to": "resolved"})
    assert resolved.status_code == 303 and detail(api, shop, conversation)["status"] == "resolved"
    assert f'id="c-{conversation}"' in mandy.get("/console/inbox?state=resolved").text
    reopened = mandy.post(f"/console/inbox/{conversation}/move", data={"csrf": token, "to": "human"})
    assert reopened.status_code == 303 and detail(api, shop, conversation)["status"] == "human"
    back = mandy.post(f"/console/inbox/{conversation}/move", data={"csrf": token, "to": "bot"})
    assert back.status_code == 303
    final = detail(api, shop, conversation)
    assert final["status"] == "bot" and final["assignee"] is None
    bad = mandy.post(f"/console/inbox/{conversation}/move", data={"csrf": token, "to": "banana"})
    assert bad.status_code == 422 and "banana" in bad.text

    audit = api.get(
        "/v1/audit", params={"entity": "conversation", "entity_id": conversation}, headers=auth(shop)
    ).json()
    mine = f"user:{ids['mandy@lotus.example']}"
    assert [e["action"] for e in reversed(audit) if e["actor"] == mine] == [
        "conversation.human",  # take
        "conversation.human",  # assign to Ken
        "conversation.resolved",
        "conversation.human",  # reopen
        "conversation.bot",  # give back
    ]


def test_a_reply_is_refused_at_the_field_when_the_window_is_closed(api: TestClient, app: Any) -> None:
    key = new_tenant(api, "Harbour Tea House")
    new_member(api, key, "wing@harbour.example", "agent")
    wing = sign_in(app, "wing@harbour.example", address="10.40.0.3")
    channel = setup_channel(api, key)["id"]
    old = int(time.time()) - 25 * 3600
    assert post(api, channel, delivery([text_message("wamid.o1", "hello?", at=old)])).status_code == 200
    settle(api)
    [conversation] = api.get("/v1/inbox/conversations", headers=auth(key)).json()["items"]
    cid = conversation["id"]
    page = wing.get(f"/console/inbox/{cid}")
    assert page.status_code == 200 and 'id="window" data-open="0"' in page.text
    assert "Reply window closed since" in page.text and "Kerry" in page.text  # the WhatsApp profile name
    refused = wing.post(
        f"/console/inbox/{cid}/reply", data={"csrf": csrf(wing, f"/console/inbox/{cid}"), "text": "Sorry!"}
    )
    assert refused.status_code == 409
    error = re.search(r'<small id="e-text" class="error" role="alert">(.*?)</small>', refused.text, re.S)
    assert error and "window closed" in error.group(1) and "24 hours" in error.group(1)
    assert "Sorry!" in refused.text  # the draft is kept in the box
    assert all(m["role"] != "human" for m in detail(api, key, cid)["messages"])


def test_qa_reads_but_cannot_act(api: TestClient, quinn: TestClient, shop: str, waiting: str) -> None:
    page = quinn.get(f"/console/inbox/{waiting}")
    assert page.status_code == 200 and 'id="read-only"' in page.text
    assert 'id="reply-form"' not in page.text and 'id="take"' not in page.text
    token = csrf(quinn, f"/console/inbox/{waiting}")
    for action, form in (("take", {}), ("reply", {"text": "hi"}), ("move", {"to": "resolved"})):
        refused = quinn.post(f"/console/inbox/{waiting}/{action}", data={"csrf": token, **form})
        assert refused.status_code == 403, action
        # The refusal is of the action: the page itself is QA's to read.
        assert "Your role cannot do this here." in refused.text, action
        assert "Your role cannot open this page." not in refused.text, action
    assert detail(api, shop, waiting)["status"] == "pending_human"
    switch_language(quinn, "zh-Hant", f"/console/inbox/{waiting}")
    try:
        refused = quinn.post(f"/console/inbox/{waiting}/take", data={"csrf": token})
        assert refused.status_code == 403 and "您的角色無權在此執行此操作。" in refused.text
    finally:
        switch_language(quinn, "en", f"/console/inbox/{waiting}")


def test_another_tenants_conversation_is_not_found_and_csrf_is_required(
    api: TestClient, app: Any, mandy: TestClient, shop: str
) -> None:
    other = new_tenant(api, "Other Shop")
    with api.websocket_connect(ws_url(widget(api, other))) as visitor:
        theirs = ask_for_a_person(api, other, visitor, "Hello from elsewhere")
    token = csrf(mandy, "/console/inbox")
    assert mandy.get(f"/console/inbox/{theirs}").status_code == 404
    assert mandy.get(f"/console/inbox/{theirs}/thread").status_code == 404
    assert mandy.post(f"/console/inbox/{theirs}/take", data={"csrf": token}).status_code == 404
    assert mandy.post(f"/console/inbox/{theirs}/smart-reply", data={"csrf": token}).status_code == 404
    listed = mandy.get("/console/inbox?state=all").text
    assert f'id="c-{theirs}"' not in listed
    # The filters offer this tenant's channels only (another tenant of this app has a WhatsApp number).
    channels = re.search(r'<select id="f-channel".*?</select>', listed, re.S)
    assert channels and re.findall(r'<option value="(\w+)"', channels.group(0)) == ["livechat"]
    assert detail(api, other, theirs)["assignee"] is None
    assert mandy.post(f"/console/inbox/{theirs}/take", data={}).status_code == 403  # no CSRF token
    assert mandy.get("/console/inbox/0123456789abcdef0123456789abcdef").status_code == 404


def test_smart_reply_and_the_writing_assistant_fill_the_reply_box(mandy: TestClient, waiting: str) -> None:
    token = csrf(mandy, f"/console/inbox/{waiting}")
    page = mandy.get(f"/console/inbox/{waiting}").text
    credits = re.search(r'id="credits">(.*?)</small>', page, re.S)
    assert credits and "credits" in credits.group(1).lower()
    suggested = mandy.post(f"/console/inbox/{waiting}/smart-reply", data={"csrf": token, "text": "my draft"})
    assert suggested.status_code == 200 and 'id="suggestions"' in suggested.text
    assert "my draft</textarea>" in suggested.text  # the draft stays
    options = re.findall(
        r'class="suggestion" data-fill="f-text" id="suggestion-\d">(.*?)</button>', suggested.text, re.S
    )
    assert options, "no suggestion offered"
    after = re.search(r'id="credits">(.*?)</small>', suggested.text, re.S)
    assert after and after.group(1) != credits.group(1)  # the suggestions spent credits
    used = mandy.post(f"/console/inbox/{waiting}/draft", data={"csrf": token, "use": "Hello there"})
    assert used.status_code == 200 and "Hello there</textarea>" in used.text

    draft = "hey, i just wanted to let you know that we can definately accomodate u tmr at 3pm."
    shorter = mandy.post(
        f"/console/inbox/{waiting}/write", data={"csrf": token, "text": draft, "action": "shorter"}
    )
    assert shorter.status_code == 200
    box = re.search(r'name="text" rows="4" maxlength="4000"\s*>(.*?)</textarea>', shorter.text, re.S)
    assert box and "we can definitely accommodate you tomorrow at 3pm" in box.group(1)
    # Offline, translation is refused with the service's reason, and the draft stays as it was.
    chinese = mandy.post(
        f"/console/inbox/{waiting}/write",
        data={"csrf": token, "text": "We open at 10:00.", "action": "zh-Hant"},
    )
    assert chinese.status_code == 422 and "PARLEY_LLM=openai" in chinese.text
    assert "We open at 10:00.</textarea>" in chinese.text
    empty = mandy.post(
        f"/console/inbox/{waiting}/write", data={"csrf": token, "text": "", "action": "improve"}
    )
    assert empty.status_code == 422 and 'id="e-text"' in empty.text
    unknown = mandy.post(
        f"/console/inbox/{waiting}/write", data={"csrf": token, "text": "hi", "action": "poem"}
    )
    assert unknown.status_code == 422 and 'id="e-assist"' in unknown.text


def test_the_inbox_in_chinese(mandy: TestClient, waiting: str) -> None:
    switch_language(mandy, "zh-Hant", "/console/inbox")
    try:
        page = mandy.get("/console/inbox?state=waiting")
        assert '<html lang="zh-Hant">' in page.text and "收件匣" in page.text and "等候真人" in page.text
        conversation = mandy.get(f"/console/inbox/{waiting}").text
        assert (
            "智能回覆" in conversation and "寫作助手" in conversation and "此渠道可隨時回覆。" in conversation
        )
    finally:
        switch_language(mandy, "en", "/console/inbox")


def test_an_old_free_text_assignee_is_still_shown(api: TestClient, mandy: TestClient, shop: str) -> None:
    """Assignees set through /v1 before there were users are names, shown as they were written."""
    with api.websocket_connect(ws_url(widget(api, shop))) as visitor:
        conversation = ask_for_a_person(api, shop, visitor, "Can I change my booking?")
    assigned = api.post(
        f"/v1/inbox/conversations/{conversation}/assign",
        json={"assignee": "Mandy Chan (front desk)"},
        headers=auth(shop),
    )
    assert assigned.status_code == 200, assigned.text
    assert "Assigned to Mandy Chan (front desk)" in row_of(mandy.get("/console/inbox").text, conversation)
    assert f'id="c-{conversation}"' not in mandy.get("/console/inbox?state=mine").text  # not this user
    page = mandy.get(f"/console/inbox/{conversation}").text
    assert "Assigned to Mandy Chan (front desk)" in page and 'id="take"' in page


def test_bad_list_parameters_are_named_and_pages_follow_each_other(
    mandy: TestClient, waiting: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    wrong = mandy.get("/console/inbox?state=banana")
    assert wrong.status_code == 422 and "state: one of" in wrong.text and "banana" in wrong.text
    assert mandy.get("/console/inbox/list?page=0").status_code == 422
    monkeypatch.setattr(inbox_pages, "PAGE_SIZE", 1)
    first = mandy.get("/console/inbox?state=all")
    assert first.status_code == 200 and 'id="next"' in first.text and 'id="previous"' not in first.text
    total = int(re.search(r"1–1 of (\d+) conversations", first.text).group(1))  # type: ignore[union-attr]
    assert total >= 2
    last = mandy.get(f"/console/inbox?state=all&page={total}")
    assert f"{total}–{total} of {total}" in last.text and 'id="next"' not in last.text
    seen = {
        re.search(r'<tr id="c-(\w+)"', mandy.get(f"/console/inbox?state=all&page={n}").text).group(1)  # type: ignore[union-attr]
        for n in range(1, total + 1)
    }
    assert len(seen) == total and waiting in seen
