"""Per-tenant agent settings (persona, guardrails, custom answers, handoff rules) and their store."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator
from sqlalchemy import JSON, ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from core.audit import AuditLog
from core.db import Base, Database, UTCDateTime, utcnow
from core.tenant_settings import TenantSettings

Text200 = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Text2000 = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Guardrail(Strict):
    """A topic or kind of request to decline, with the message the customer gets instead."""

    topic: Text200
    keywords: list[Text200] = Field(default_factory=list, max_length=50)
    message: Text2000


class CustomAnswer(Strict):
    """A question whose answer is fixed by the business and returned verbatim."""

    question: Text2000
    answer: Text2000


class Route(Strict):
    """Send a handoff to a team when all of the given tests hold (the first matching route wins)."""

    team: Text200
    keywords: list[Text200] = Field(
        default_factory=list, max_length=50, description="in the customer's words or the reason"
    )
    intent: Literal["complaint", "sales", "billing", "refund"] | None = None
    vip_attribute: str | None = Field(
        default=None, max_length=40, description="a boolean custom attribute that must be true"
    )
    min_lead_score: int | None = Field(default=None, ge=0, le=100)


class HandoffRules(Strict):
    keywords: list[Text200] = Field(
        default_factory=list,
        max_length=100,
        description="the business's own phrases that hand off at once (the intent step already knows the "
        "usual ways of asking for a person, in English and Chinese)",
    )
    on_complaint: bool = True
    on_low_confidence: bool = True
    max_failed_answers: int = Field(default=2, ge=1, le=20)
    team: Text200 = "support"
    complaint_team: Text200 | None = None
    routes: list[Route] = Field(default_factory=list, max_length=50)
    customer_can_return_to_bot: bool = True
    bot_return_keywords: list[Text200] = Field(
        default_factory=lambda: [
            "back to the bot",
            "back to bot",
            "talk to the bot",
            "返回機械人",
            "轉返機械人",
        ],
        max_length=50,
        description="what a customer says to have the AI answer again while waiting for a person",
    )


class Welcome(Strict):
    """What a customer gets on following the account or opening its chat (channels/welcome.py), in the
    language their platform reports (Traditional Chinese for any Chinese), else the other one."""

    en: Text2000 | None = Field(default=None, description="in English")
    zh: Text2000 | None = Field(default=None, description="in Traditional Chinese (繁體中文)")

    @model_validator(mode="after")
    def _one_at_least(self) -> Welcome:
        if self.en is None and self.zh is None:
            raise ValueError("a welcome needs its text in English (en) or Chinese (zh); null turns it off")
        return self


class AgentSettings(Strict):
    tone: str = Field(
        default="friendly",
        min_length=1,
        max_length=300,
        description="professional, friendly, casual, or free text describing the voice",
    )
    response_length: Literal["brief", "moderate", "detailed"] = "moderate"
    objectives: list[Text200] = Field(default_factory=list, max_length=20)
    guardrails: list[Guardrail] = Field(default_factory=list, max_length=100)
    custom_answers: list[CustomAnswer] = Field(default_factory=list, max_length=500)
    handoff: HandoffRules = Field(default_factory=HandoffRules)
    languages: list[Literal["en", "zh"]] = Field(
        default_factory=list,
        max_length=2,
        description="languages to answer in; empty = the customer's language",
    )
    welcome: Welcome | None = Field(
        default=None,
        description="sent when a customer follows an account (LINE, WeChat, Telegram, Viber) or opens a "
        "Viber chat; a channel's own welcome_message wins; none unless set",
    )

    @field_validator("tone")
    @classmethod
    def _tone(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("must not be empty")
        return value


class AgentSettingsRow(Base):
    __tablename__ = "agent_settings"

    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True)
    data: Mapped[dict[str, object]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class AgentSettingsStore:
    def __init__(self, db: Database, audit: AuditLog | None = None) -> None:
        self._settings = TenantSettings(
            db, AgentSettingsRow, AgentSettings, audit=audit, entity="agent_settings"
        )

    def get(self, tenant_id: str) -> AgentSettings:
        return self._settings.get(tenant_id)

    def put(self, tenant_id: str, actor: str, settings: AgentSettings) -> AgentSettings:
        """Save the tenant's settings; the audit log gets an agent_settings.update entry by `actor`, in the
        same transaction."""
        return self._settings.save(tenant_id, settings, actor)
