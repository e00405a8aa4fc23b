"""Offline Writing Assistant: a deterministic clean-up of a human's draft.

It fixes what rules can fix without understanding: spacing and punctuation, sentence capitals, "i",
chat shorthand (u, pls, thx, gonna, ...), common misspellings, doubled words, "a" before a vowel; the
professional tone also spells out contractions; `shorter` drops filler words and repeated sentences.
It touches words only: digits, emails and links pass through unchanged, so every fact of the draft
survives. It cannot rephrase or translate (that needs a model).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from agent.assist.facts import EMAIL, URL

SHORTHAND = {
    "u": "you",
    "ur": "your",
    "r": "are",
    "pls": "please",
    "plz": "please",
    "thx": "thank you",
    "thanx": "thank you",
    "tks": "thank you",
    "ty": "thank you",
    "gonna": "going to",
    "wanna": "want to",
    "gotta": "have to",
    "dunno": "do not know",
    "lemme": "let me",
    "gimme": "give me",
    "asap": "as soon as possible",
    "btw": "by the way",
    "coz": "because",
    "cuz": "because",
    "tmr": "tomorrow",
    "tmrw": "tomorrow",
    "msg": "message",
    "appt": "appointment",
    "info": "information",
    "yeah": "yes",
    "yep": "yes",
    "yup": "yes",
    "nope": "no",
    "ok": "OK",
    "okay": "OK",
    "im": "I'm",
    "ive": "I've",
    "dont": "don't",
    "doesnt": "doesn't",
    "didnt": "didn't",
    "cant": "can't",
    "wont": "won't",
    "isnt": "isn't",
    "thats": "that's",
    "youre": "you're",
}
MISSPELLED = {
    "recieve": "receive",
    "recieved": "received",
    "definately": "definitely",
    "seperate": "separate",
    "occured": "occurred",
    "untill": "until",
    "tommorow": "tomorrow",
    "tomorow": "tomorrow",
    "alot": "a lot",
    "adress": "address",
    "accomodate": "accommodate",
    "beleive": "believe",
    "calender": "calendar",
    "guarentee": "guarantee",
    "thier": "their",
    "becuase": "because",
    "appologize": "apologize",
    "apologise": "apologise",
    "sincerly": "sincerely",
    "availible": "available",
}
CONTRACTIONS = {
    "can't": "cannot",
    "won't": "will not",
    "don't": "do not",
    "doesn't": "does not",
    "didn't": "did not",
    "isn't": "is not",
    "aren't": "are not",
    "i'm": "I am",
    "we're": "we are",
    "you're": "you are",
    "it's": "it is",
    "that's": "that is",
    "i'll": "I will",
    "we'll": "we will",
    "i've": "I have",
    "we've": "we have",
}
GREETING = re.compile(r"^(hey+|hiya|yo|hi+)\b", re.IGNORECASE)
FILLER = re.compile(
    r"\b(I just wanted to let you know that|I wanted to let you know that|please note that|"
    r"for your information,?|just|really|very|actually|basically|literally|totally|simply|"
    r"kind of|sort of)\b\s*",  # never "I think": dropping a hedge turns it into a promise
    re.IGNORECASE,
)
WORDY = {"in order to": "to", "due to the fact that": "because", "at this point in time": "now"}
ZH_FILLER = re.compile(r"其實|基本上|老實講|坦白講|講真")
ZH_PUNCT = {",": "，", "?": "？", "!": "！", ":": "：", ";": "；", "(": "（", ")": "）"}
HAN = r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]"
WORD = re.compile(r"[A-Za-z][A-Za-z']*")


def _words(text: str, table: dict[str, str]) -> str:
    def swap(match: re.Match[str]) -> str:
        word = match.group(0)
        found = table.get(word.lower())
        if found is None or (len(word) == 1 and word.isupper()):  # "U.S.", "R&D" are no shorthand
            return word
        return found[0].upper() + found[1:] if word[0].isupper() and found[0].islower() else found

    return WORD.sub(swap, text)


def _protected(text: str, edit: Callable[[str], str]) -> str:
    """Apply an edit to everything but emails and links (which must come out byte for byte)."""
    kept: list[str] = []

    def hide(match: re.Match[str]) -> str:
        kept.append(match.group(0))
        return f"\x00{len(kept) - 1}\x00"

    hidden = URL.sub(hide, EMAIL.sub(hide, text))
    return re.sub(r"\x00(\d+)\x00", lambda m: kept[int(m.group(1))], edit(hidden))


def _english(text: str, tone: str, shorter: bool) -> str:
    text = _words(text, SHORTHAND | MISSPELLED)
    text = re.sub(r"\bi\b(?!\.\w)", "I", text)  # not "i.e."
    text = re.sub(r"\bI'(m|ll|ve|d)\b", lambda m: "I'" + m.group(1).lower(), text, flags=re.IGNORECASE)
    if tone == "professional":
        text = _words(text, CONTRACTIONS)
        text = GREETING.sub("Hello", text)
        text = re.sub(r"!+", ".", text)
    elif tone == "friendly":
        text = GREETING.sub("Hi", text)
    if shorter:
        for wordy, plain in WORDY.items():
            text = re.sub(rf"\b{wordy}\b", plain, text, flags=re.IGNORECASE)
        text = FILLER.sub("", text)
    # "the the" (words only: "2345 2345" is a phone number)
    text = re.sub(r"\b([A-Za-z]+)(\s+\1\b)+", r"\1", text, flags=re.IGNORECASE)
    # "a apple" -> "an apple"; a capital A only starts a sentence ("Plan A is", "grade A items" are labels)
    text = re.sub(r"\ba(\s+)(?=[aeio][a-z])(?!one\b|once\b|eu)", r"an\1", text)
    text = re.sub(r"(^|[.!?]\s+)A(\s+)(?=[aeio][a-z])(?!one\b|once\b|eu)", r"\1An\2", text)
    text = re.sub(r"\s+([,.!?;:])", r"\1", text)
    text = re.sub(r"([!?])[!?]+", r"\1", text)
    text = re.sub(r",{2,}", ",", text)
    text = re.sub(r"(?<!\.)\.{2}(?!\.)", ".", text)
    text = re.sub(r"([,;!?])(?=[A-Za-z])", r"\1 ", text)
    # "10:00.please" is two sentences; "e.g.", "a.m." and "1.5" are not.
    text = re.sub(r"(?<=[A-Za-z0-9]{2})\.(?=[A-Za-z]{2})", ". ", text)
    text = re.sub(r"(^|[.!?]\s+|\n\s*)([a-z])", lambda m: m.group(1) + m.group(2).upper(), text)
    if text and re.search(r"[A-Za-z0-9)\x00]$", text):
        text += "."
    return text


def _chinese(text: str, shorter: bool) -> str:
    if shorter:
        text = ZH_FILLER.sub("", text)
    text = re.sub(rf"(?<={HAN})\s+(?={HAN})", "", text)
    text = re.sub(r"([!?])[!?]+", r"\1", text)
    text = re.sub(r"\s*([!?])\s*", lambda m: ZH_PUNCT[m.group(1)], text)
    text = re.sub(
        r"\s*(?<!\d)([,:;])\s*|\s*([,:;])(?!\d)\s*", lambda m: ZH_PUNCT[m.group(1) or m.group(2)], text
    )
    text = re.sub(rf"(?<={HAN})\s*\(|\(\s*(?={HAN})", "（", text)
    text = re.sub(rf"(?<={HAN})\s*\)|\)\s*(?={HAN})", "）", text)
    text = re.sub(rf"(?<={HAN})\.(?!\d)", "。", text)
    text = re.sub(r"([！？。，])\1+", r"\1", text)
    if re.search(rf"{HAN}$", text):
        text += "。"
    return text


SENTENCE_END = re.compile(r"(?<=[.!?])\s+|(?<=[。！？])")


def _sentences_once(text: str) -> str:
    """Drop a sentence that repeats an earlier one word for word."""
    seen: set[str] = set()
    kept: list[str] = []
    for part in SENTENCE_END.split(text):
        key = re.sub(r"\W+", "", part.lower())
        if key and key in seen:
            continue
        seen.add(key)
        if part:
            kept.append(part)
    return "".join(
        p if not i or re.search(r"[。！？]$", kept[i - 1]) else " " + p for i, p in enumerate(kept)
    )


def refine(draft: str, *, language: str, tone: str = "friendly", shorter: bool = False) -> str:
    """The draft, cleaned up; paragraphs are kept, each refined on its own."""

    def edit(text: str) -> str:
        text = _chinese(text, shorter) if language == "zh" else _english(text, tone, shorter)
        return _sentences_once(text) if shorter else text

    paragraphs = [re.sub(r"[ \t]+", " ", p).strip() for p in re.split(r"\n\s*\n", draft.strip())]
    refined = []
    for paragraph in filter(None, paragraphs):
        lines = [line.strip() for line in paragraph.split("\n") if line.strip()]
        refined.append(_protected("\n".join(lines), edit))
    return "\n\n".join(refined)
