"""Lead scoring: a hand-computed score with reasons, tenant weights and attribute rules, bounds, history
through the HTTP API, and the agent routing a hot lead to the sales team."""

from __future__ import annotations

from fastapi.testclient import TestClient

from crm.leads import AttributeRule, LeadSettings, score_of
from crm.models import Contact
from tests.agent.test_chat import chat
from tests.conftest import auth, new_tenant


def test_score_by_hand() -> None:
    contact = Contact(email=None, phone=None, attributes={"plan": "premium"})
    settings = LeadSettings()  # budget 25, timeline 20, need 25, authority 10, engagement 20; hot at 70
    warm = score_of(["I'm interested in a facial", "Is it good for dry skin?"], contact, settings)
    assert warm.score == 25 and not warm.hot and warm.reasons == ["need (+25): “interested in”"]
    hot = score_of(["我想預約下星期做面部護理，預算大約HK$2,000", "我係間美容院嘅老闆"], contact, settings)
    assert [r.split(" ")[0] for r in hot.reasons] == ["budget", "timeline", "need", "authority"]
    assert hot.score == 80 and hot.hot
    ruled = LeadSettings(attribute_rules=[AttributeRule(attribute="plan", equals="premium", points=50)])
    capped = score_of(
        ["need a quote asap, budget $5k, my company has 40 staff", "a", "b", "c"], contact, ruled
    )
    assert capped.score == 100  # 150 points, bounded
    reachable = Contact(email="k@example.com", phone=None, attributes={})
    assert score_of(["hi"], reachable, settings).reasons == ["engagement (+20): left a way to reach them"]


def test_settings_and_history_through_the_api(client: TestClient) -> None:
    admin = new_tenant(client)
    staff = client.post("/v1/api-keys", json={"role": "staff"}, headers=auth(admin)).json()["api_key"]
    settings = client.get("/v1/leads/settings", headers=auth(staff)).json()
    assert settings["threshold"] == 70
    assert client.put("/v1/leads/settings", json=settings, headers=auth(staff)).status_code == 403
    bad = client.put("/v1/leads/settings", json={"weights": {"vibes": 10}}, headers=auth(admin))
    assert bad.status_code == 422 and "vibes" in bad.json()["error"]["message"]
    settings["weights"]["need"] = 40
    assert (
        client.put("/v1/leads/settings", json=settings, headers=auth(admin)).json()["weights"]["need"] == 40
    )

    body = client.post(
        "/v1/agent/chat",
        json={"message": "Do you do facials?", "contact": {"external_id": "web:1", "name": "Kerry"}},
        headers=auth(admin),
    ).json()
    contact = client.get("/v1/contacts", headers=auth(admin)).json()["items"][0]
    assert client.get(f"/v1/contacts/{contact['id']}/lead", headers=auth(staff)).json() == {
        "score": None,
        "history": [],
    }
    chat(client, admin, "I need a facial for my wedding", body["conversation_id"])
    scored = client.post(f"/v1/contacts/{contact['id']}/lead", headers=auth(staff)).json()
    assert scored["score"] == 40 and scored["reasons"][0].startswith("need (+40)")
    lead = client.get(f"/v1/contacts/{contact['id']}/lead", headers=auth(staff)).json()
    assert lead["score"] == 40 and lead["history"][0]["reasons"] == scored["reasons"]
    assert client.get(f"/v1/contacts/{contact['id']}", headers=auth(staff)).json()["lead_score"] == 40
    other = new_tenant(client, "Other")
    assert client.post(f"/v1/contacts/{contact['id']}/lead", headers=auth(other)).status_code == 404


def test_the_agent_routes_a_hot_lead_to_sales(client: TestClient) -> None:
    key = new_tenant(client)
    lukewarm = chat(client, key, "I'm interested in your facials")
    assert lukewarm["actions"][0]["tool"] == "score_lead" and lukewarm["handoff"] is False
    hot = chat(client, key, "I want to book a facial this week, my budget is HK$1,500")
    [action] = hot["actions"]
    assert action["tool"] == "score_lead" and "routed to the sales team" in action["result"]
    assert hot["handoff"] is True and "sales team" in hot["reply"]
    [waiting] = client.get(
        "/v1/inbox/conversations", params={"status": "pending_human"}, headers=auth(key)
    ).json()["items"]
    assert waiting["team"] == "sales" and waiting["handoff_reason"].startswith("hot lead")
