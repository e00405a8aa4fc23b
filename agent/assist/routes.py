"""HTTP surface of assist (/v1/assist): Smart Reply, the Writing Assistant and the tenant's credits.

For the people answering customers, so any staff role may call them. A call that finds no credits left is a
402 `credits_exhausted` whose message names the plan's allowance and when it resets."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from agent.assist.service import Assist
from agent.routes import SourceOut
from core.credits import Balance
from core.deps import PrincipalDep, provided

router = APIRouter(prefix="/v1/assist", tags=["assist"])


AssistDep = Annotated[Assist, provided(Assist)]


class CreditsOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)  # read straight off a core.credits.Balance

    plan: str
    allowance: int | None = Field(description="credits per calendar month (UTC); null = unlimited")
    used: int
    remaining: int | None
    period: str = Field(description="YYYY-MM")
    resets_at: datetime


class SpentOut(CreditsOut):
    charged: int = Field(description="credits this call used")

    @classmethod
    def of(cls, balance: Balance, charged: int) -> SpentOut:
        return cls(**CreditsOut.model_validate(balance).model_dump(), charged=charged)


class SmartReplyIn(BaseModel):
    conversation_id: str = Field(min_length=1, max_length=32)


class SuggestionOut(BaseModel):
    text: str
    sources: list[SourceOut]


class SmartReplyOut(BaseModel):
    suggestions: list[SuggestionOut]
    language: Literal["en", "zh"]
    warnings: list[str]
    credits: SpentOut


class WriteIn(BaseModel):
    draft: str = Field(min_length=1, max_length=4000)
    shorter: bool = False
    translate_to: Literal["en", "zh-Hant"] | None = None
    conversation_id: str | None = Field(default=None, max_length=32)


class WriteOut(BaseModel):
    text: str
    language: Literal["en", "zh"]
    warnings: list[str]
    credits: SpentOut


@router.post("/smart-reply", response_model=SmartReplyOut)
def smart_reply(body: SmartReplyIn, principal: PrincipalDep, assist: AssistDep) -> SmartReplyOut:
    """2-3 replies to the customer's latest message, grounded in the knowledge (1 credit each)."""
    result = assist.smart_reply.suggest(principal.tenant_id, body.conversation_id)
    return SmartReplyOut(
        suggestions=[
            SuggestionOut(text=s.text, sources=[SourceOut(**src) for src in s.sources])
            for s in result.suggestions
        ],
        language=result.language,  # type: ignore[arg-type]
        warnings=result.warnings,
        credits=SpentOut.of(result.balance, result.charged),
    )


@router.post("/write", response_model=WriteOut)
def write(body: WriteIn, principal: PrincipalDep, assist: AssistDep) -> WriteOut:
    """One refined version of a draft, keeping its facts (1 credit)."""
    result = assist.writing.write(
        principal.tenant_id,
        body.draft,
        shorter=body.shorter,
        translate_to=body.translate_to,
        conversation_id=body.conversation_id,
    )
    return WriteOut(
        text=result.text,
        language=result.language,  # type: ignore[arg-type]
        warnings=result.warnings,
        credits=SpentOut.of(result.balance, result.charged),
    )


@router.get("/credits", response_model=CreditsOut)
def credits(principal: PrincipalDep, assist: AssistDep) -> CreditsOut:
    """The tenant's plan, this month's allowance and usage, and when it resets."""
    return CreditsOut.model_validate(assist.credits.balance(principal.tenant_id))
