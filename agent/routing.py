"""Which team a handoff goes to: the tenant's routes in order (keywords, intent, a VIP attribute, a lead score),
then the complaint team for complaints, then the default team."""

from __future__ import annotations

import re

from agent.settings import HandoffRules, Route
from crm.models import Contact

INTENTS = {
    "complaint": re.compile(r"complain|terrible|unacceptable|rude|投訴|投诉|好差|唔滿意|不滿", re.IGNORECASE),
    "sales": re.compile(r"\b(buy|price|quote|book|lead)\b|買|报价|報價|預約", re.IGNORECASE),
    "billing": re.compile(r"\b(bill|invoice|charge[ds]?|payment|paid)\b|收費|帳單|账单|扣錢", re.IGNORECASE),
    "refund": re.compile(r"\b(refund|money back)\b|退款|退錢", re.IGNORECASE),
}


def _matches(route: Route, text: str, contact: Contact | None) -> bool:
    lowered = text.lower()
    if route.keywords and not any(k.lower() in lowered for k in route.keywords):
        return False
    if route.intent and not INTENTS[route.intent].search(text):
        return False
    if route.vip_attribute and not (contact and (contact.attributes or {}).get(route.vip_attribute) is True):
        return False
    score = (contact.lead_score or 0) if contact else 0
    return route.min_lead_score is None or (contact is not None and score >= route.min_lead_score)


def team_for(rules: HandoffRules, reason: str, text: str, contact: Contact | None) -> str:
    said = f"{reason}\n{text}"
    for route in rules.routes:
        if _matches(route, said, contact):
            return route.team
    if rules.complaint_team and INTENTS["complaint"].search(said):
        return rules.complaint_team
    return rules.team


def teams(rules: HandoffRules, sales_team: str) -> set[str]:
    """Every team a handoff may go to (the model may only name one of these)."""
    named = {rules.team, sales_team, *(route.team for route in rules.routes)}
    return named | ({rules.complaint_team} if rules.complaint_team else set())
