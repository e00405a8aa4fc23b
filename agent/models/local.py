"""The offline grounded responder: a deterministic LangChain chat model for the embedded default.

It sees only what a real model would see (the system prompt with the retrieved knowledge, the
conversation, tool results) and answers only from the knowledge: it picks the sentences that
best answer the question, prefers the customer's language when the knowledge has it, follows the
configured tone and length, says it does not know (and offers a colleague) when the knowledge is
empty, and calls tools for clear intents: handoff_to_human (asking for a person, a complaint),
create_ticket (a refund or a broken order) and update_contact (the customer gives their email).
It never writes a fact that is not in the knowledge.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from typing import Any

from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool

from knowledge import lexical
from knowledge.chunking import split_sentences

COMPLAINT = re.compile(
    r"\b(complain(t|ing)?|terrible|awful|worst|unacceptable|disgusted|furious|angry|rude|scam|ripped off)\b"
    r"|投訴|投诉|好差|很差|差勁|唔滿意|不滿|不满|離譜|激嬲|太過份",
    re.IGNORECASE,
)
REFUND = re.compile(
    r"\b(refund|money back|reimburse(ment)?|charge ?back)\b|退款|退錢|退钱|退貨|退货", re.IGNORECASE
)
BROKEN = re.compile(
    r"\b(broken|damaged|defective|faulty|cracked|smashed|arrived (broken|damaged))\b|壞咗|壞了|損壞|损坏|爛咗|破咗",
    re.IGNORECASE,
)
EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")
SELF_DETAIL = re.compile(r"\b(my|mine)\b|我|電郵|电邮", re.IGNORECASE)
TICKET_RESULT = re.compile(r"created ticket #(\d+)")
BUYING = re.compile(
    r"\b(want to (buy|book|order|sign up)|looking for|interested in|need a quote|pricing for)\b|想買|想买|想預約|想预约|有興趣|有兴趣|報價|报价",
    re.IGNORECASE,
)
KNOWLEDGE_LINE = re.compile(r"^\[(\d+)\] \((.*?)\) (.*)$")
SENTENCES = {"brief": 1, "moderate": 2, "detailed": 4}

TEXT: dict[str, dict[str, Any]] = {
    "en": {
        "unknown": "I'm sorry, I don't have that information. Would you like me to connect you with a colleague?",
        "handoff": "I've asked a colleague from our {team} team to take over. They will reply here as soon as they can.",
        "ticket": "I'm sorry about that. I've opened ticket #{number} for you, and a colleague will follow up.",
        "saved": "Thank you, I've saved your {fields}.",
        "sales": "Thank you! I've passed your request to our {team} team, and a colleague will contact you shortly.",
        "not_saved": "Sorry, that doesn't look right ({reason}). Could you check it and send it again?",
        "foreign": "From our information (in Chinese): ",
        "open": {"friendly": "Sure! ", "professional": "", "casual": ""},
        "close": {
            "friendly": " Happy to help with anything else!",
            "professional": " Is there anything else I can help you with?",
            "casual": "",
        },
    },
    "zh": {
        "unknown": "抱歉，我暫時沒有這方面的資料。需要我為你轉介同事跟進嗎？",
        "handoff": "我已請{team}團隊的同事跟進，他們會盡快在這裡回覆你。",
        "ticket": "很抱歉遇到這個問題。我已為你開立個案 #{number}，同事會盡快跟進。",
        "saved": "謝謝，已為你記錄{fields}。",
        "sales": "謝謝！我已把你的查詢轉交{team}團隊，同事會盡快聯絡你。",
        "not_saved": "抱歉，資料好像不正確（{reason}）。可以檢查一下再發一次嗎？",
        "foreign": "根據我們的資料（英文）：",
        "open": {"friendly": "好的！", "professional": "", "casual": ""},
        "close": {
            "friendly": "如有其他問題，隨時問我！",
            "professional": "請問還有其他可以幫到你嗎？",
            "casual": "",
        },
    },
}


def customer_language(text: str) -> str:
    return "zh" if lexical.han_ratio(text) >= 0.3 else "en"


def _field(prompt: str, name: str, default: str) -> str:
    match = re.search(rf"^{name}: ([^\n(.]+)", prompt, re.MULTILINE)
    return match.group(1).strip() if match else default


def _knowledge(text: str) -> list[str]:
    return [m.group(3) for line in text.splitlines() if (m := KNOWLEDGE_LINE.match(line.strip()))]


def _overlap(question: str, sentence: str) -> float:
    asked = set(lexical.tokens(question))
    if not asked:
        return 0.0
    return len(asked & set(lexical.tokens(sentence))) / len(asked)


class GroundedChatModel(BaseChatModel):
    """Deterministic and offline; bind tools like any chat model."""

    @property
    def _llm_type(self) -> str:
        return "parley-grounded"

    def bind_tools(
        self, tools: Sequence[dict[str, Any] | type | BaseTool | Any], **kwargs: Any
    ) -> Runnable[LanguageModelInput, AIMessage]:
        return self.bind(tools=[convert_to_openai_tool(t) for t in tools], **kwargs)

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: Any = None,
        **kwargs: Any,
    ) -> ChatResult:
        tool_names = {t["function"]["name"] for t in kwargs.get("tools", [])}
        return ChatResult(generations=[ChatGeneration(message=self._respond(messages, tool_names))])

    def _respond(self, messages: list[BaseMessage], tool_names: set[str]) -> AIMessage:
        prompt = next((str(m.content) for m in messages if isinstance(m, SystemMessage)), "")
        question = next((str(m.content) for m in reversed(messages) if isinstance(m, HumanMessage)), "")
        language = customer_language(question)
        allowed = [
            code.strip() for code in _field(prompt, "Answer in", "").split(",") if code.strip() in TEXT
        ]
        if allowed and language not in allowed:
            language = allowed[0]  # the business answers only in these languages
        words = TEXT[language]
        last = messages[-1] if messages else None
        if isinstance(last, ToolMessage):
            result = str(last.content)
            if last.name == "handoff_to_human":
                team = re.search(r"team: ([^;]+)", result)
                return AIMessage(content=words["handoff"].format(team=team.group(1) if team else "support"))
            if last.name == "create_ticket":
                number = TICKET_RESULT.search(result)
                if number:
                    return AIMessage(content=words["ticket"].format(number=number.group(1)))
                return AIMessage(content=words["unknown"])
            if last.name == "score_lead":
                routed = re.search(r"routed to the (.+?) team", result)
                if routed:
                    return AIMessage(content=words["sales"].format(team=routed.group(1)))
                return AIMessage(content=self._answer(question, _knowledge(prompt), prompt, language))
            if last.name == "update_contact":
                if result.startswith("error:"):
                    reason = result.removeprefix("error: ").split(". Nothing")[0]
                    return AIMessage(content=words["not_saved"].format(reason=reason))
                return AIMessage(
                    content=words["saved"].format(fields="email" if "email" in result else "details")
                )
            return AIMessage(content=self._answer(question, _knowledge(str(last.content)), prompt, language))

        if "handoff_to_human" in tool_names:
            phrases = [
                p.strip().lower() for p in _field(prompt, "Handoff phrases", "").split("|") if p.strip()
            ]
            if any(p in question.lower() for p in phrases):
                return self._call("handoff_to_human", {"reason": "customer asked for a human"}, question)
            if _field(prompt, "Complaint handoff", "on") == "on" and COMPLAINT.search(question):
                return self._call("handoff_to_human", {"reason": "complaint"}, question)
        if "create_ticket" in tool_names and (REFUND.search(question) or BROKEN.search(question)):
            refund = bool(REFUND.search(question))
            args = {
                "type": "refund" if refund else "general_support",
                "priority": "high",
                "summary": question.strip()[:200],
            }
            return self._call("create_ticket", args, question)
        if "score_lead" in tool_names and BUYING.search(question):
            return self._call("score_lead", {}, question)
        email = EMAIL.search(question)
        if "update_contact" in tool_names and email and SELF_DETAIL.search(question):
            return self._call("update_contact", {"fields": {"email": email.group(0)}}, question)
        return AIMessage(content=self._answer(question, _knowledge(prompt), prompt, language))

    @staticmethod
    def _call(name: str, args: dict[str, Any], question: str) -> AIMessage:
        call_id = "call_" + hashlib.sha1(f"{name}:{question}".encode()).hexdigest()[:12]
        return AIMessage(
            content="", tool_calls=[{"name": name, "args": args, "id": call_id, "type": "tool_call"}]
        )

    def _answer(self, question: str, passages: list[str], prompt: str, language: str) -> str:
        words = TEXT[language]
        if not passages:
            return words["unknown"]
        tone = _field(prompt, "Tone", "friendly").lower()
        tone = tone if tone in words["open"] else "friendly"
        length = _field(prompt, "Response length", "moderate")
        candidates: list[tuple[float, int, int, str]] = []
        for rank, passage in enumerate(passages[:3]):
            for position, sentence in enumerate(split_sentences(passage)):
                score = _overlap(question, sentence) + 1.0 / (rank + 1) - 0.05 * position
                if customer_language(sentence) == language:
                    score += 0.3
                candidates.append((score, rank, position, sentence))
        if not candidates:
            return words["unknown"]
        best_rank = max(candidates)[1]
        # Keep to the best passage, in its own order, so the answer reads as the source wrote it.
        chosen = sorted(c for c in candidates if c[1] == best_rank)[-SENTENCES.get(length, 2) :]
        text = " ".join(s for _, _, _, s in sorted(chosen, key=lambda c: c[2]))
        lead = words["foreign"] if customer_language(text) != language else ""
        if text and text[-1] not in ".!?。！？":
            text += "。" if customer_language(text) == "zh" else "."  # spreadsheet rows carry no full stop
        close = "" if length == "brief" else words["close"][tone].strip()
        gap = " " if close and text[-1:].isascii() else ""
        return f"{words['open'][tone]}{lead}{text}{gap}{close}".strip()
