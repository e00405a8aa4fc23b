"""The assist services of one app instance (Smart Reply, the Writing Assistant) and the credits they spend."""

from __future__ import annotations

from dataclasses import dataclass

from langchain_core.language_models import BaseChatModel

from agent.assist.grounding import Grounder, History
from agent.assist.smart_reply import SmartReply
from agent.assist.writing import WritingAssistant
from agent.custom_answers import CustomAnswerMatcher
from agent.models.local import GroundedChatModel
from agent.settings import AgentSettingsStore
from core.credits import Credits
from knowledge.services import KnowledgeServices


@dataclass
class Assist:
    smart_reply: SmartReply
    writing: WritingAssistant
    credits: Credits

    @classmethod
    def build(
        cls,
        knowledge: KnowledgeServices,
        inbox: History,
        settings: AgentSettingsStore,
        credits: Credits,
        model: BaseChatModel,
        custom_answers: CustomAnswerMatcher,
    ) -> Assist:
        """`model` and `custom_answers` are the agent's: the offline responder means the deterministic paths
        only, and the custom questions are embedded once for both."""
        network = None if isinstance(model, GroundedChatModel) else model
        grounder = Grounder(knowledge, inbox, custom_answers)
        return cls(
            SmartReply(grounder, settings, credits, network),
            WritingAssistant(grounder, settings, credits, network),
            credits,
        )
