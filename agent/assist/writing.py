"""The Writing Assistant: one refined version of a person's draft, with every fact of the draft kept.

Offline, the draft is cleaned up by rules (agent/assist/refine.py), which cannot translate: asking for a
translation then is a 422 `translation_unavailable` that says a model must be configured. With a network
model the draft is rewritten by the model; a rewrite that drops a fact of the draft, adds one found in
neither the draft nor the conversation, or is not in the language asked for is replaced by the offline
result, with a warning saying why. One credit per refinement returned.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field

from langchain_core.language_models import BaseChatModel

from agent.assist import facts, llm, refine
from agent.assist.grounding import Grounder
from agent.settings import AgentSettings, AgentSettingsStore
from core.credits import Balance, Credits
from core.errors import InvalidInput
from core.language import customer_language

log = logging.getLogger(__name__)
TARGETS = {"en": "en", "zh-Hant": "zh"}  # translate_to -> the language code used everywhere else
TONES = ("professional", "friendly", "casual")


@dataclass
class WriteResult:
    text: str
    language: str
    balance: Balance
    warnings: list[str] = field(default_factory=list)
    charged: int = 1


class WritingAssistant:
    def __init__(
        self, grounder: Grounder, settings: AgentSettingsStore, credits: Credits, model: BaseChatModel | None
    ) -> None:
        self._grounder = grounder
        self._settings = settings
        self._credits = credits
        self._model = model  # None: the offline rules only

    def write(
        self,
        tenant_id: str,
        draft: str,
        *,
        shorter: bool = False,
        translate_to: str | None = None,
        conversation_id: str | None = None,
    ) -> WriteResult:
        draft = draft.strip()
        if not draft:
            raise InvalidInput("draft: must not be empty")
        history: list[tuple[str, str]] = []  # (role, text)
        if conversation_id:  # 404 for an unknown conversation, or another tenant's
            messages = self._grounder.messages(tenant_id, conversation_id)
            history = [(m.role, m.text) for m in messages if m.text.strip()]
        language = customer_language(draft)
        target = TARGETS[translate_to] if translate_to else language
        if target != language and self._model is None:
            raise InvalidInput(
                "translating a draft needs an OpenAI-compatible model (PARLEY_LLM=openai); the offline model "
                "can refine the draft in its own language only",
                code="translation_unavailable",
            )
        self._credits.require(tenant_id)
        settings = self._settings.get(tenant_id)
        warnings: list[str] = []
        text = self._offline(draft, language, settings, shorter, warnings)
        if self._model is not None:
            text = self._from_model(
                tenant_id, self._model, draft, settings, shorter, translate_to, history, text, warnings
            )
        spent, balance = self._credits.spend(tenant_id, 1)
        return WriteResult(text, customer_language(text), balance, warnings, spent)

    @staticmethod
    def _offline(
        draft: str, language: str, settings: AgentSettings, shorter: bool, warnings: list[str]
    ) -> str:
        tone = settings.tone.lower() if settings.tone.lower() in TONES else "friendly"
        text = refine.refine(draft, language=language, tone=tone, shorter=shorter)
        # a rule gone wrong must not cost a fact
        if facts.dropped(text, draft) or facts.invented(text, draft):
            log.error("offline refinement changed the facts of a draft; returning it with spacing fixed only")
            warnings.append("the draft could only be tidied, not refined")
            return re.sub(r"[ \t]+", " ", draft)
        return text

    def _from_model(
        self,
        tenant_id: str,
        model: BaseChatModel,
        draft: str,
        settings: AgentSettings,
        shorter: bool,
        translate_to: str | None,
        history: list[tuple[str, str]],
        offline: str,
        warnings: list[str],
    ) -> str:
        asked = [text for role, text in history if role == "customer"]
        context = asked[-1] if asked else ""  # what the draft answers
        fallback = "this is the offline refinement" + (", not translated" if translate_to else "")
        try:
            text = llm.refine(
                model, draft, settings, shorter=shorter, translate_to=translate_to, context=context
            )
        except llm.ModelOutputError as exc:
            warnings.append(f"{exc}; {fallback}")
            return offline
        except Exception as exc:  # endpoint down, timeout: the person still gets a refinement
            log.warning("writing assistant model call failed: %s", exc)
            warnings.append(f"the model endpoint failed; {fallback}")
            return offline
        # Facts may come from the draft, the business's knowledge and what the business already said; what
        # the customer claimed ("isn't it HK$200?") is what the draft answers, not a source.
        known = self._grounder.knowledge_texts(tenant_id, f"{context}\n{draft}".strip())
        said = [text for role, text in history if role != "customer"]
        made_up = facts.invented(text, draft, *known, *said)
        lost = facts.dropped(text, draft, ordered=not translate_to)
        if made_up:
            warnings.append(f"the model's version was rejected: it adds {', '.join(made_up)}; {fallback}")
        elif lost:
            warnings.append(f"the model's version was rejected: it leaves out {', '.join(lost)}; {fallback}")
        elif translate_to and customer_language(text) != TARGETS[translate_to]:
            warnings.append(f"the model's version was rejected: it is not in {translate_to}; {fallback}")
        else:
            return text
        return offline
