"""Facts in a text: numbers (prices, percentages, dates, times, quantities, phone numbers), emails and URLs.

The guard on a network model's writing: a suggestion or refinement may only state facts found in what it
was given (the draft, the conversation, the retrieved knowledge), and a refinement must keep every fact of
the draft. Numbers compare by value whatever their spelling, so "HK$1,000" equals "1000", "twenty-four"
and "二十四" equal "24", and a model that rewrites "24 hours" as "二十四小時" while translating is not flagged.
Times compare as times ("8pm" = "20:00"). The extraction is lenient (a text yields every reading of its
numbers), erring toward accepting a reworded fact over rejecting a faithful one; currency symbols and units
are not compared.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
URL = re.compile(r"\bhttps?://[^\s<>()\"'，。、]+|\bwww\.[^\s<>()\"'，。、]+", re.IGNORECASE)
# 10:00, 8pm, 8:30 p.m. -> "time:20:30" (the minutes of "10:00" are no number of their own).
TIME = re.compile(r"\b(\d{1,2})(?:[:：.](\d{2}))?\s*([ap])\.?m\b\.?|\b(\d{1,2})[:：](\d{2})\b", re.IGNORECASE)
MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
# A month's name next to a day ("1 May", "May 1st") is the month's number, so "2025-05-01" = "1 May 2025".
MONTH_DATE = re.compile(
    r"\b\d{1,2}(?:st|nd|rd|th)?\s+("
    + "|".join(MONTHS)
    + r")[a-z]*\b|\b("
    + "|".join(MONTHS)
    + r")[a-z]*\.?\s+\d{1,2}\b",
    re.IGNORECASE,
)
NUMBER = re.compile(r"\d+(?:,\d{3})*(?:\.\d+)?")
# Digit groups written with spaces or hyphens (phone numbers): their concatenation is a reading too.
DIGIT_GROUPS = re.compile(r"\d+(?:[ -]\d+)+")
HAN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "兩": 2, "两": 2, "三": 3, "四": 4}
HAN_DIGITS |= {"五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
HAN_UNITS = {"十": 10, "百": 100, "千": 1000, "萬": 10_000, "万": 10_000}
# Chinese numerals are facts only before a measure word: 十分 ("very"), 萬一 ("in case"), 一下 ("a moment")
# are ordinary words.
HAN_NUMERAL = re.compile(
    r"([零〇一二兩两三四五六七八九十百千萬万]+)(?=個|个|日|號|号|天|月|年|歲|岁|元|蚊|折|小時|小时|分鐘|分钟|秒|點|点"
    r"|星期|週|周|次|位|件|張|张|間|间|倍|成|%|％|人|晚|份|盒|瓶|堂|節|节|期)"
)
WORD_NUMBERS = {
    word: value
    for value, word in enumerate(
        [
            "zero",
            "one",
            "two",
            "three",
            "four",
            "five",
            "six",
            "seven",
            "eight",
            "nine",
            "ten",
            "eleven",
            "twelve",
            "thirteen",
            "fourteen",
            "fifteen",
            "sixteen",
            "seventeen",
            "eighteen",
            "nineteen",
            "twenty",
        ]
    )
} | {"thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90}
WORD_NUMBER = re.compile(
    r"\b(" + "|".join(sorted(WORD_NUMBERS, key=len, reverse=True)) + r")(?:[- ](one|two|three|four|five|six|"
    r"seven|eight|nine))?\b(?:\s+(hundred|thousand))?",
    re.IGNORECASE,
)
# "one", "a", 一 say "a" as often as "1": not counted, or every "one of our colleagues" would be a fact.
VAGUE = {"0", "1"}


def _value(text: str) -> str | None:
    try:
        number = Decimal(text.replace(",", ""))
    except InvalidOperation:
        return None
    return format(number.normalize(), "f")


def _han_value(run: str) -> set[int]:
    """Both readings of a run of Chinese numerals: positional (八五 = 85) and with units (二十四 = 24)."""
    readings: set[int] = set()
    if all(c in HAN_DIGITS for c in run):
        readings.add(int("".join(str(HAN_DIGITS[c]) for c in run)))
    total, section, digit = 0, 0, 0
    for char in run:
        if char in HAN_DIGITS:
            digit = HAN_DIGITS[char]
        elif char in ("萬", "万"):
            total = (total + section + digit) * 10_000
            section, digit = 0, 0
        else:
            section += (digit or 1) * HAN_UNITS[char]
            digit = 0
    readings.add(total + section + digit)
    return readings


Mention = frozenset[str]  # one fact as written, with every reading of it


Found = list[tuple[int, Mention]]  # (where in the text, the fact): facts compare in the order written


def _blank(match: re.Match[str]) -> str:
    return " " * len(match.group(0))  # the same length keeps the positions of what follows


def _times(text: str) -> Found:
    found: Found = []
    for m in TIME.finditer(text):
        if m.group(3):
            hour = int(m.group(1)) % 12 + (12 if m.group(3).lower() == "p" else 0)
            minute = m.group(2) or "00"
        else:
            hour, minute = int(m.group(4)), m.group(5)
        found.append((m.start(), frozenset({f"time:{hour}:{minute}"})))
    return found


def _numbers(text: str) -> Found:
    found = _times(text)
    text = TIME.sub(_blank, text)
    for m in MONTH_DATE.finditer(text):
        month = str(MONTHS.index((m.group(1) or m.group(2))[:3].lower()) + 1)
        found.append((m.start(), frozenset({month})))
    groups: dict[int, str] = {}  # a number inside "5123 4567" may also be read as the whole "51234567"
    for match in DIGIT_GROUPS.finditer(text):
        for i in range(match.start(), match.end()):
            groups[i] = str(int(re.sub(r"\D", "", match.group(0))))
    for m in NUMBER.finditer(text):
        value = _value(m.group(0))
        if value is not None:
            found.append((m.start(), frozenset({value, groups.get(m.start(), value)})))
    for match in HAN_NUMERAL.finditer(text):
        readings = {str(v) for v in _han_value(match.group(1))} - VAGUE
        if readings:
            found.append((match.start(), frozenset(readings)))
    for match in WORD_NUMBER.finditer(text):
        said = WORD_NUMBERS[match.group(1).lower()]
        said += WORD_NUMBERS[match.group(2).lower()] if match.group(2) else 0
        said *= {"hundred": 100, "thousand": 1000}.get((match.group(3) or "").lower(), 1)
        if str(said) not in VAGUE:
            found.append((match.start(), frozenset({str(said)})))
    return found


def _url(text: str) -> str:
    return re.sub(r"^https?://", "", text.rstrip(".,;:!?)").lower()).rstrip("/")


def mentions(text: str) -> list[Mention]:
    """Every fact in the text, normalised: numbers by value, times as H:MM, emails and URLs lower-cased."""
    found: Found = [
        (m.start(), frozenset({"email:" + m.group(0).lower().rstrip(".")})) for m in EMAIL.finditer(text)
    ]
    found += [(m.start(), frozenset({"url:" + _url(m.group(0))})) for m in URL.finditer(text)]
    # Digits inside an email or URL are part of it, not numbers of their own.
    found += _numbers(URL.sub(_blank, EMAIL.sub(_blank, text)))
    return [mention for _, mention in sorted(found, key=lambda f: f[0])]


def facts(text: str) -> set[str]:
    return set().union(*mentions(text))


def _shown(mention: Mention) -> str:
    fact = min(mention, key=len)
    return fact.split(":", 1)[1] if fact.startswith(("email:", "url:", "time:")) else fact


def invented(output: str, *given: str) -> list[str]:
    """Facts the output states that none of the given texts contains (sorted, for a readable warning)."""
    allowed = set().union(*(facts(text) for text in given))
    return sorted({_shown(m) for m in mentions(output) if not m & allowed})


def dropped(output: str, source: str, *, ordered: bool = True) -> list[str]:
    """Facts of the source (a draft) that the output no longer states as often: a phone number "2345 2345"
    cut to "2345" counts as changed. `ordered` (a refinement in the draft's own language): also in the same
    order, so two prices swapped or a day and month exchanged count as changed; a translation may reorder
    ("10:00 on 1 May" is "5月1日 10:00"), so it is compared without order."""
    said, at, missing = mentions(output), 0, []
    for mention in mentions(source):
        start = at if ordered else 0
        match = next((i for i in range(start, len(said)) if said[i] & mention), None)
        if match is None:
            missing.append(_shown(mention))
        elif ordered:
            at = match + 1
        else:
            said.pop(match)  # each fact of the output answers for one of the source
    return sorted(set(missing))
