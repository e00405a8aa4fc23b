"""Lead scoring: a bounded score (0-100) with its reasons, from what the conversation reveals and what the
contact's record says, with weights each tenant sets. Scores are kept on the contact with their history;
crossing the tenant's threshold routes the conversation to the sales team.

The conversation signals are read from the customer's own words (English and Chinese): budget, timeline,
need, authority, and engagement (how much they wrote, whether they left a way to reach them). Each signal
scores 0 or its full weight, so every point has a reason a person can check.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field, model_validator
from sqlalchemy import JSON, ForeignKey, Integer, String, select
from sqlalchemy.orm import Mapped, mapped_column

from core.audit import AuditLog
from core.db import Base, Database, UTCDateTime, new_id, utcnow
from core.tenant_settings import TenantSettings
from crm.contacts import ContactStore
from crm.conversations import conversations, messages
from crm.models import Contact

SIGNALS: dict[str, re.Pattern[str]] = {
    "budget": re.compile(
        r"(HK\$|US\$|\$|HKD|USD|RMB)\s?\d|\d[\d,.]*\s?(k|K|萬|千|蚊|元)\b|\bbudget\b|預算|预算", re.IGNORECASE
    ),
    "timeline": re.compile(
        r"\b(today|tomorrow|this (week|month)|next (week|month)|asap|as soon as|urgent(ly)?|by (mon|tue|wed|thu|fri|sat|sun)\w*)\b"
        r"|今日|聽日|明天|今個星期|呢個星期|下星期|下個月|盡快|尽快|急",
        re.IGNORECASE,
    ),
    "need": re.compile(
        r"\b(need|looking for|interested in|want to (buy|book|order|sign up)|would like to (buy|book)|quote|pricing for)\b"
        r"|需要|想要|想買|想买|想預約|想预约|有興趣|有兴趣|報價|报价",
        re.IGNORECASE,
    ),
    "authority": re.compile(
        r"\b(i('| a)m the (owner|manager|director|founder)|i decide|my (company|business|shop|salon|team)|we are a|our (company|team))\b"
        r"|老闆|老板|負責人|负责人|我哋公司|我們公司|我们公司",
        re.IGNORECASE,
    ),
}
ENGAGED_MESSAGES = 4  # this many messages from the customer earns the engagement points


class AttributeRule(BaseModel):
    attribute: str = Field(min_length=1, max_length=40)
    equals: str | int | float | bool
    points: int = Field(ge=-100, le=100)


class LeadSettings(BaseModel):
    weights: dict[str, int] = Field(
        default_factory=lambda: {"budget": 25, "timeline": 20, "need": 25, "authority": 10, "engagement": 20},
        description="points for each signal: budget, timeline, need, authority, engagement",
    )
    attribute_rules: list[AttributeRule] = Field(default_factory=list, max_length=50)
    threshold: int = Field(default=70, ge=1, le=100, description="at or above: a hot lead, routed to sales")
    sales_team: str = Field(default="sales", min_length=1, max_length=100)

    @model_validator(mode="after")
    def _known_signals(self) -> LeadSettings:
        known = {*SIGNALS, "engagement"}
        unknown = sorted(set(self.weights) - known)
        if unknown:
            raise ValueError(f"unknown signal(s) {unknown}; use {sorted(known)}")
        if any(not 0 <= w <= 100 for w in self.weights.values()):
            raise ValueError("each weight is 0 to 100")
        return self


class LeadScore(BaseModel):
    """A decision, bounded: the score and why."""

    score: int = Field(ge=0, le=100)
    reasons: list[str]
    hot: bool


class LeadScoreRow(Base):
    __tablename__ = "lead_scores"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    contact_id: Mapped[str] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"), index=True)
    score: Mapped[int] = mapped_column(Integer)
    reasons: Mapped[list[str]] = mapped_column(JSON)
    actor: Mapped[str] = mapped_column(String(100))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class LeadSettingsRow(Base):
    __tablename__ = "lead_settings"

    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)


def score_of(texts: list[str], contact: Contact, settings: LeadSettings) -> LeadScore:
    """The score for a contact given what they wrote (pure: the tests check it by hand)."""
    points, reasons = 0, []
    said = "\n".join(texts)
    for signal, pattern in SIGNALS.items():
        weight = settings.weights.get(signal, 0)
        match = pattern.search(said)
        if weight and match:
            points += weight
            reasons.append(f"{signal} (+{weight}): “{match.group(0).strip()}”")
    weight = settings.weights.get("engagement", 0)
    reachable = bool(contact.email or contact.phone)
    if weight and (len(texts) >= ENGAGED_MESSAGES or reachable):
        points += weight
        why = f"{len(texts)} messages" if len(texts) >= ENGAGED_MESSAGES else "left a way to reach them"
        reasons.append(f"engagement (+{weight}): {why}")
    for rule in settings.attribute_rules:
        if (contact.attributes or {}).get(rule.attribute) == rule.equals:
            points += rule.points
            reasons.append(f"{rule.attribute} = {rule.equals} ({rule.points:+d})")
    score = max(0, min(100, points))
    return LeadScore(score=score, reasons=reasons, hot=score >= settings.threshold)


class LeadStore:
    def __init__(self, db: Database, audit: AuditLog) -> None:
        self._db = db
        self._audit = audit
        self._settings = TenantSettings(
            db, LeadSettingsRow, LeadSettings, audit=audit, entity="lead_settings"
        )

    def settings(self, tenant_id: str) -> LeadSettings:
        return self._settings.get(tenant_id)

    def save_settings(self, tenant_id: str, actor: str, settings: LeadSettings) -> LeadSettings:
        return self._settings.save(tenant_id, settings, actor)

    def score(self, tenant_id: str, actor: str, contact_id: str) -> LeadScore:
        """Score the contact from everything they wrote, store it with its reasons, and return it."""
        settings = self.settings(tenant_id)
        with self._db.session() as session:
            contact = ContactStore.owned(session, tenant_id, contact_id)
            texts = list(
                session.scalars(
                    select(messages.c.text)
                    .join(conversations, conversations.c.id == messages.c.conversation_id)
                    .where(conversations.c.contact_id == contact_id, messages.c.role == "customer")
                    .order_by(messages.c.created_at)
                )
            )
            result = score_of(texts, contact, settings)
            before = contact.lead_score
            contact.lead_score = result.score
            session.add(
                LeadScoreRow(
                    tenant_id=tenant_id,
                    contact_id=contact_id,
                    score=result.score,
                    reasons=result.reasons,
                    actor=actor,
                )
            )
            self._audit.record(
                session,
                tenant_id,
                actor,
                "contact.lead_score",
                "contact",
                contact_id,
                {"lead_score": before},
                {"lead_score": result.score},
            )
        return result

    def history(self, tenant_id: str, contact_id: str) -> list[LeadScoreRow]:
        with self._db.session() as session:
            ContactStore.owned(session, tenant_id, contact_id)
            return list(
                session.scalars(
                    select(LeadScoreRow)
                    .where(LeadScoreRow.contact_id == contact_id)
                    .order_by(LeadScoreRow.at.desc())
                )
            )
