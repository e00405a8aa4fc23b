"""What kind of fact a question asks for, and whether a text carries one.

"How much is Pro?" wants a price, "幾耐先收到？" a duration, "how many members?" a count, "what's your
email?" a contact. A passage (or a sentence) that answers such a question contains a price, a number
with a time unit, a number, an address. Both the reranker and the offline responder use this.
"""

from __future__ import annotations

import re
from typing import Literal

AnswerType = Literal["price", "duration", "count", "contact", "percent", "options", "steps"]

_ASKS: list[tuple[AnswerType, re.Pattern[str]]] = [
    (
        "price",
        re.compile(
            r"\bhow much\b(?!\s+(storage|space|data|memory|ram|cpu|disk|time))|\b(price|pricing|cost|costs|fee|fees|"
            r"charge|charged|rate|expensive|cheap)\b|幾錢|多少錢|價錢|價格|費用|收費|月費|年費|要付|要俾|要畀|幾多錢|貴唔貴|平唔平",
            re.IGNORECASE,
        ),
    ),
    (
        "percent",
        re.compile(r"\b(percent|percentage|discount|off)\b|%|幾折|折扣|優惠|回饋|分成", re.IGNORECASE),
    ),
    (
        "duration",
        re.compile(
            r"\bhow (long|soon|often|quickly)\b|^\W*when\b|\bwhen (do|does|did|will|would|can|could|is|are|should)\b|\bwhat time\b|\bhow many (days|hours|minutes|weeks|months|years)\b"
            r"|幾耐|多久|幾時|何時|幾點|幾日|幾多日|多少天|幾多天|幾個月|幾小時",
            re.IGNORECASE,
        ),
    ),
    (
        "contact",
        re.compile(
            r"\b(e-?mail|address|contact|reach|phone|url|link|website)\b|電郵|郵箱|信箱|聯絡|地址|網址|電話|連結",
            re.IGNORECASE,
        ),
    ),
    (
        "count",
        re.compile(
            r"\bhow (many|much (storage|space|data|memory|ram|cpu|disk))\b|\b(maximum|minimum|limit|max|min|up to|number of)\b"
            r"|幾多|多少|幾個|上限|最多|最少|下限|幾大|幾部",
            re.IGNORECASE,
        ),
    ),
    (
        # "Which cards do you take?", "what payment methods are there?", 有邊啲: the options, a list.
        # Only the asking word is matched, so `without_asks` keeps what the options are of.
        "options",
        re.compile(
            r"\b(which|what)(?=\s+(?:[a-z-]+\s+)?[a-z-]+[^s']s\s+(do|does|can|could|are|have|will|would|should|must|may)\b)"
            r"|有邊啲|邊啲|哪些|哪幾|邊幾|有邊|揀咩|揀邊|咩選擇|什麼選擇|哪種|邊種|邊款|哪款",
            re.IGNORECASE,
        ),
    ),
    (
        # "How do I uninstall it?", 點樣停用？: the way to do it. Last: a more specific kind comes first.
        "steps",
        re.compile(
            r"\bhow (do|can|could|should|would|will) (i|we|you)\b|\bhow to\b|點樣|點做|如何|怎樣|怎麼|怎么",
            re.IGNORECASE,
        ),
    ),
]

_CARRIES: dict[AnswerType, re.Pattern[str]] = {
    "price": re.compile(
        r"(US|HK|NT|S|A|C)?\$\s?\d|\d\s?(USD|HKD|TWD|EUR|GBP|元|蚊|美元|港元|港幣)|[€£¥]\s?\d|\bfree\b|免費"
        # a labelled column or field: "Price (HK$): 880", "收費：880"
        r"|\b(price|fee|cost|charge)s?\b[^\n.;,\d]{0,12}\d|(價錢|價格|收費|費用|售價)[^\n。；，\d]{0,8}\d",
        re.IGNORECASE,
    ),
    "percent": re.compile(r"\d\s?%|\d\s?折|percent", re.IGNORECASE),
    "duration": re.compile(
        r"\d\s*[-–~to ]*\d*\s*(business |working )?(second|minute|hour|day|week|month|year|sec|min|hr)s?\b"
        r"|\d\s*(個)?(秒|分鐘|小時|天|日|星期|週|周|個月|月|年|工作天)|\b(daily|weekly|monthly|annually|hourly|immediately)\b"
        r"|立即|即時|每天|每日|每月|每年|(一|兩|二|三|四|五|六|七|八|九|十)(天|日|週|個月|年)",
        re.IGNORECASE,
    ),
    "contact": re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+|https?://|www\.|\+?\d[\d\s-]{7,}\d"),
    # a number, or a limit said in words ("at most twice your plan", "unlimited", 最多兩倍)
    "count": re.compile(
        r"\d|(一|兩|二|三|四|五|六|七|八|九|十|百|千)(個|位|部|台|次|人|項)"
        r"|\b(at most|at least|up to|no more than|capped|unlimited|no limit|double|twice|triple)\b"
        r"|最多|至少|上限|下限|無限|不限|兩倍|雙倍",
        re.IGNORECASE,
    ),
    # two list items or table rows, names in a series (AWS、GCP、Hetzner; Visa, Mastercard, JCB)
    "options": re.compile(
        r"(^|\n)- [^\n]+\n- |(^|\n)[^\n:]{1,40}: [^\n]+\n[^\n:]{1,40}: |[^、\n]{1,20}、[^、\n]{1,20}、"
        r"|\b[A-Z][\w.-]*( [A-Z][\w.-]*)?, [A-Z][\w.-]*( [A-Z][\w.-]*)?,? (and |or )?[A-Z]"
    ),
    # A command to run: a help page's way to do something is often a shell line of its own.
    # (Case matters: prose names the tools with capitals, "SSH", "Docker"; a command line does not.)
    "steps": re.compile(
        r"^\s*(\$|sudo)\s+\S|\b[\w/.-]+\.(sh|ps1)\b"
        r"|\b(systemctl|kubectl|apt-get|yum|dnf|docker|curl|wget|npm|npx|pip|brew|chmod|ssh)\s+[-a-z0-9/.]"
    ),
}


def asked(question: str) -> list[AnswerType]:
    """The kinds of fact the question asks for, most specific first (a price also counts as a number)."""
    return [kind for kind, pattern in _ASKS if pattern.search(question)]


def without_asks(question: str) -> str:
    """The question with the words that ask for a kind of fact taken out: what it is about."""
    for _, pattern in _ASKS:
        question = pattern.sub(" ", question)
    return question


def carries(text: str, kind: AnswerType) -> bool:
    return bool(_CARRIES[kind].search(text))


def evidence(question_types: list[AnswerType], text: str) -> float:
    """+1 when the text carries the first kind asked for, -1 when it carries none of them, 0 if none asked."""
    # Lists are on every page, and most ways to do something are told in words, not commands: asking for
    # options or steps picks the units within a passage (agent/evidence.py), not the passage.
    question_types = [kind for kind in question_types if kind not in ("options", "steps")]
    if not question_types:
        return 0.0
    if carries(text, question_types[0]):
        return 1.0
    return 0.0 if any(carries(text, kind) for kind in question_types[1:]) else -1.0
