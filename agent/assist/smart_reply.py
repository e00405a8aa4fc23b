"""Smart Reply: two or three distinct replies a person may send to the customer's latest message.

With the offline model they are composed deterministically (agent/assist/local.py). With a network model
it is asked for JSON citing numbered passages; a suggestion that states a fact found in neither the
knowledge nor the conversation is dropped, and offline suggestions take the place of dropped or unreadable
ones (each time with a warning saying why). A custom answer the business set for the question comes first,
word for word, as the agent would send it. One credit per suggestion returned: the credits are checked
before any generation and charged after, never more than remain (the list is cut to what was paid for).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from langchain_core.language_models import BaseChatModel

from agent.assist import facts, llm
from agent.assist.grounding import Grounder, Grounding
from agent.assist.local import LocalSuggester, Suggestion, distinct
from agent.settings import AgentSettings, AgentSettingsStore
from core.credits import Balance, Credits
from core.language import customer_language

log = logging.getLogger(__name__)
MIN_SUGGESTIONS, MAX_SUGGESTIONS = 2, 3


@dataclass
class SmartReplyResult:
    suggestions: list[Suggestion]
    language: str
    balance: Balance
    charged: int
    warnings: list[str] = field(default_factory=list)


class SmartReply:
    def __init__(
        self,
        grounder: Grounder,
        settings: AgentSettingsStore,
        credits: Credits,
        model: BaseChatModel | None,
        local: LocalSuggester | None = None,
    ) -> None:
        self._grounder = grounder
        self._settings = settings
        self._credits = credits
        self._model = model  # None: the offline model only
        self._local = local or LocalSuggester()

    def suggest(self, tenant_id: str, conversation_id: str) -> SmartReplyResult:
        settings = self._settings.get(tenant_id)
        grounding = self._grounder.for_conversation(tenant_id, conversation_id, settings)
        self._credits.require(tenant_id)  # 402 before any generation
        warnings: list[str] = []
        if self._model is None:
            suggestions = self._local.suggest(grounding, settings)
        else:
            suggestions = self._from_model(self._model, grounding, settings, warnings)
        if grounding.fixed_answer:  # the business fixed this answer: it comes first, word for word
            suggestions = distinct([Suggestion(grounding.fixed_answer), *suggestions])[:MAX_SUGGESTIONS]
        spent, balance = self._credits.spend(tenant_id, len(suggestions))
        if spent < len(suggestions):
            warnings.append(
                f"only {spent} of {len(suggestions)} suggestions returned: the {balance.plan} plan's credits "
                f"for {balance.period} ran out"
            )
        return SmartReplyResult(suggestions[:spent], grounding.language, balance, spent, warnings)

    def _from_model(
        self, model: BaseChatModel, grounding: Grounding, settings: AgentSettings, warnings: list[str]
    ) -> list[Suggestion]:
        try:
            found = llm.suggest(model, grounding, settings, MAX_SUGGESTIONS)
        except llm.ModelOutputError as exc:
            warnings.append(f"{exc}; these are the offline suggestions")
            return self._local.suggest(grounding, settings)
        except Exception as exc:  # endpoint down, timeout: the person still gets suggestions
            log.warning("smart reply model call failed: %s", exc)
            warnings.append("the model endpoint failed; these are the offline suggestions")
            return self._local.suggest(grounding, settings)
        kept: list[Suggestion] = []
        for suggestion in found:
            made_up = facts.invented(suggestion.text, *grounding.texts())
            if made_up:
                warnings.append(
                    f"a suggestion was dropped: it states {', '.join(made_up)}, which neither the knowledge nor "
                    "the conversation says"
                )
            elif customer_language(suggestion.text) != grounding.language:
                warnings.append("a suggestion was dropped: it is not in the customer's language")
            else:
                kept.append(suggestion)
        kept = distinct(kept)
        if len(kept) < MIN_SUGGESTIONS:
            kept = distinct(kept + self._local.suggest(grounding, settings))
            warnings.append("offline suggestions were added to make up for the model's")
        return kept[:MAX_SUGGESTIONS]
