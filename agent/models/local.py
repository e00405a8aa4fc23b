"""The offline grounded responder: a deterministic LangChain chat model for the embedded default.

It sees only what a real model would see (the system prompt with the turn's intent, the standalone
question and the retrieved knowledge, the conversation, tool results) and answers only from the
knowledge: the sentences or list items the evidence step marked (agent/evidence.py) from the best
passage, in the customer's language when the knowledge has it (otherwise the original with an honest
lead-in), following the configured tone and length. Small talk gets a short reply in kind; when the
knowledge does not answer it says so and offers a colleague. It calls tools for clear intents:
create_ticket (a refund or a broken order that is not a question the knowledge answers), score_lead (a
wish to buy) and update_contact (the customer gives their email). It never writes a fact that is not in
the knowledge.
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

from core.language import customer_language, text_language
from knowledge import lexical

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
SEARCH_RESULT = re.compile(r"^\[\d+\] \(.*?\)\n", re.DOTALL)
PASSAGE_HEADER = re.compile(r"^\[(\d+)\] \((.*)\)$")
ASKS = re.compile(
    r"[?？]|^(how|what|when|where|which|who|why|can|could|do|does|is|are|will|would|should)\b"
    r"|嗎|吗|呢|幾|點樣|點解|有冇|有沒有|係咪|是否|可唔可以|可不可以|可否|能否",
    re.IGNORECASE,
)
FULL_STOPS = "。！？：；"
BRIEF_WORDS = 40
BRIEF_HAN = 80

TEXT: dict[str, dict[str, Any]] = {
    "en": {
        "unknown": "I'm sorry, I don't have that information. Would you like me to connect you with a colleague?",
        "handoff": "I've asked a colleague from our {team} team to take over. They will reply here as soon as they can.",
        "ticket": "I'm sorry about that. I've opened ticket #{number} for you, and a colleague will follow up.",
        "saved": "Thank you, I've saved your {fields}.",
        "sales": "Thank you! I've passed your request to our {team} team, and a colleague will contact you shortly.",
        "not_saved": "Sorry, that doesn't look right ({reason}). Could you check it and send it again?",
        "foreign": "From our information (in Chinese): ",
        "greeting": "Hello! How can I help you today?",
        "thanks": "You're welcome! Anything else I can help with?",
        "goodbye": "Thank you for chatting with us. Goodbye!",
        "acknowledgement": "Great. Let me know if there's anything else.",
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
        "greeting": "你好！有甚麼可以幫到你？",
        "thanks": "不用客氣！還有其他可以幫你嗎？",
        "goodbye": "多謝你的查詢，再見！",
        "acknowledgement": "好的，如有其他問題隨時問我。",
        "open": {"friendly": "好的！", "professional": "", "casual": ""},
        "close": {
            "friendly": "如有其他問題，隨時問我！",
            "professional": "請問還有其他可以幫到你嗎？",
            "casual": "",
        },
    },
}


def _field(prompt: str, name: str, default: str, whole: bool = False) -> str:
    """A setting line's value, without its explanation in brackets; `whole`: the line as written (the
    question keeps its full stops and the subject a follow-up carries in brackets)."""
    match = re.search(rf"^{name}: ([^\n]+)" if whole else rf"^{name}: ([^\n(.]+)", prompt, re.MULTILINE)
    return match.group(1).strip() if match else default


def knowledge_blocks(prompt: str) -> list[dict[str, Any]]:
    """The prompt's knowledge passages (agent/prompt.py's layout): their question and their units."""
    inside = prompt.partition("<knowledge>")[2].partition("</knowledge>")[0]
    blocks: list[dict[str, Any]] = []
    for line in inside.split("\n"):
        header = PASSAGE_HEADER.match(line.strip())
        if header:
            blocks.append({"where": header.group(2), "question": "", "units": []})
        elif blocks and line.startswith("Q: "):
            blocks[-1]["question"] = line[3:].strip()
        elif blocks and line[:2] in ("» ", "  ") and line[2:].strip():
            text = line[2:].strip()
            item = text.startswith("- ")
            blocks[-1]["units"].append(
                {"text": text[2:] if item else text, "item": item, "marked": line[0] == "»"}
            )
    return blocks


def _as_prompt(chunk_text: str) -> str:
    from agent.prompt import knowledge_lines

    return "<knowledge>\n" + "\n".join(knowledge_lines([{"name": "", "text": chunk_text}])) + "\n</knowledge>"


def _overlap(question: str, sentence: str) -> float:
    asked = set(lexical.tokens(question))
    if not asked:
        return 0.0
    return len(asked & set(lexical.tokens(sentence))) / len(asked)


def _chosen(question: str, units: list[dict[str, Any]], length: str) -> list[dict[str, Any]]:
    """The marked units; without marks (a prompt built elsewhere), the ones sharing most words."""
    marked = [u for u in units if u["marked"]]
    if marked:
        return marked
    wanted = {"brief": 1, "moderate": 2, "detailed": 4}.get(length, 2)
    ranked = sorted(units, key=lambda u: (_overlap(question, u["text"]), -units.index(u)), reverse=True)
    keep = {id(u) for u in ranked[:wanted]}
    return [u for u in units if id(u) in keep]


def _joined(units: list[dict[str, Any]]) -> str:
    """Units back into text: items as a list after their lead-in, sentences run on."""
    out = ""
    for unit in units:
        text = unit["text"].strip()
        if unit["item"]:
            out += ("\n" if out else "") + "- " + text
            continue
        if out and not out.endswith("\n"):
            out += "" if out[-1] in FULL_STOPS else " "  # Chinese runs on after 。, English after a space
        if text[-1:] not in ".!?。！？:：":
            text += "。" if customer_language(text) == "zh" else "."  # rows and list lines carry no full stop
        out += text
    return out.strip()


def _brief(text: str) -> str:
    """Cut to about BRIEF_WORDS words / BRIEF_HAN Chinese characters, at a unit boundary when possible."""
    if (
        len(re.findall(r"[A-Za-z0-9]+", text)) <= BRIEF_WORDS
        and len(re.findall(r"[\u4e00-\u9fff]", text)) <= BRIEF_HAN
    ):
        return text
    kept: list[str] = []
    for piece in re.split(r"(?<=[.!?。！？])\s*|\n", text):
        trial = " ".join([*kept, piece])
        if kept and (
            len(trial.split()) > BRIEF_WORDS or len(re.findall(r"[\u4e00-\u9fff]", trial)) > BRIEF_HAN
        ):
            break
        kept.append(piece)
    return " ".join(kept).strip()


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
        message = next((str(m.content) for m in reversed(messages) if isinstance(m, HumanMessage)), "")
        question = _field(prompt, "Question \\(standalone\\)", "", whole=True) or message
        language: str = customer_language(message)
        allowed = [
            code.strip() for code in _field(prompt, "Answer in", "").split(",") if code.strip() in TEXT
        ]
        if allowed and language not in allowed:
            language = allowed[0]  # the business answers only in these languages
        words = TEXT[language]
        intent = _field(prompt, "Customer intent", "question")
        last = messages[-1] if messages else None
        if isinstance(last, ToolMessage):
            return self._after_tool(last, question, prompt, language)
        if intent in ("greeting", "thanks", "goodbye", "acknowledgement"):
            return AIMessage(content=words[intent])
        if intent in ("human", "complaint") and "handoff_to_human" in tool_names:
            reason = "customer asked for a human" if intent == "human" else "complaint"
            return self._call("handoff_to_human", {"reason": reason}, message)
        answered = "Knowledge check: passages below match" in prompt
        trouble = REFUND.search(message) or BROKEN.search(message)
        if "create_ticket" in tool_names and trouble and not (answered and ASKS.search(message)):
            refund = bool(REFUND.search(message))
            args = {
                "type": "refund" if refund else "general_support",
                "priority": "high",
                "summary": message.strip()[:200],
            }
            return self._call("create_ticket", args, message)
        if "score_lead" in tool_names and BUYING.search(message):
            return self._call("score_lead", {}, message)
        email = EMAIL.search(message)
        if "update_contact" in tool_names and email and SELF_DETAIL.search(message):
            return self._call("update_contact", {"fields": {"email": email.group(0)}}, message)
        return AIMessage(content=self._answer(question, knowledge_blocks(prompt), prompt, language))

    def _after_tool(
        self, result_message: ToolMessage, question: str, prompt: str, language: str
    ) -> AIMessage:
        words = TEXT[language]
        result = str(result_message.content)
        if result_message.name == "handoff_to_human":
            team = re.search(r"team: ([^;]+)", result)
            return AIMessage(content=words["handoff"].format(team=team.group(1) if team else "support"))
        if result_message.name == "create_ticket":
            number = TICKET_RESULT.search(result)
            if number:
                return AIMessage(content=words["ticket"].format(number=number.group(1)))
            return AIMessage(content=words["unknown"])
        if result_message.name == "score_lead":
            routed = re.search(r"routed to the (.+?) team", result)
            if routed:
                return AIMessage(content=words["sales"].format(team=routed.group(1)))
            return AIMessage(content=self._answer(question, knowledge_blocks(prompt), prompt, language))
        if result_message.name == "update_contact":
            if result.startswith("error:"):
                reason = result.removeprefix("error: ").split(". Nothing")[0]
                return AIMessage(content=words["not_saved"].format(reason=reason))
            return AIMessage(
                content=words["saved"].format(fields="email" if "email" in result else "details")
            )
        # search_knowledge returns "[n] (source)" then the chunk's text, results apart by a blank line
        found = [
            part.partition("\n")[2] for part in result.split("\n\n") if SEARCH_RESULT.match(part.strip())
        ]
        blocks = [block for text in found for block in knowledge_blocks(_as_prompt(text))]
        return AIMessage(content=self._answer(question, blocks, prompt, language))

    @staticmethod
    def _call(name: str, args: dict[str, Any], question: str) -> AIMessage:
        call_id = "call_" + hashlib.sha1(f"{name}:{question}".encode()).hexdigest()[:12]
        return AIMessage(
            content="", tool_calls=[{"name": name, "args": args, "id": call_id, "type": "tool_call"}]
        )

    def _answer(self, question: str, passages: list[dict[str, Any]], prompt: str, language: str) -> str:
        words = TEXT[language]
        if not passages or "the knowledge does not answer this" in prompt:
            return words["unknown"]
        tone = _field(prompt, "Tone", "friendly").lower()
        tone = tone if tone in words["open"] else "friendly"
        length = _field(prompt, "Response length", "moderate")
        # The marked units of every passage the answer stands on (the first, and any that completes it),
        # a passage in another language than the customer's behind an honest lead-in (a row in both
        # languages needs none).
        parts = [_joined(marked) for p in passages if (marked := [u for u in p["units"] if u["marked"]])]
        if not parts:
            parts = [_joined(_chosen(question, passages[0]["units"], length))]
        parts = [p for p in parts if p]
        if not parts:
            return words["unknown"]
        if length == "brief":
            parts = [_brief(parts[0])]
        text = ""
        for part in parts:
            lead = (
                words["foreign"]
                if text_language(part) not in (language, "mixed") and words["foreign"] not in text
                else ""
            )
            text += ("" if not text else "\n" if part.startswith("- ") else " ") + lead + part
        close = "" if length == "brief" else words["close"][tone].strip()
        gap = " " if close and text[-1:].isascii() else ""
        return f"{words['open'][tone]}{text}{gap}{close}".strip()
