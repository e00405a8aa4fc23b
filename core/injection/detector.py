"""Is this text an instruction to the assistant? A transparent score: named features, each a weight, summed
and compared with one threshold, over every reading of the text (forms.py).

A feature is what an instruction *does*, not how one attack was phrased: it sets aside the assistant's
rules, makes it show its prompt or a secret, asks for another business's data, turns it into an unbound
persona, or speaks as the system or to the assistant. Strong features (weight >= THRESHOLD) are enough
alone; weak ones (a fake notice header, "note to the AI", "from now on") only together. What looks the
same but is not aimed at the assistant stays below: the customer's own instructions ("ignore my previous
instructions about the address"), a product's ("the instructions on the box"), their own password.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Literal

from core.injection import cues
from core.injection.forms import Reading, readings

THRESHOLD = 1.0
HIDDEN_BONUS = 0.5  # an instruction-like text inside base64 or hex: hiding it is a signal of its own
Kind = Literal["message", "passage"]
_STOP = r"[^.!。！\n]"  # a window that stays inside one sentence ("?" is kept: "what rules? quote them")


@lru_cache(maxsize=256)
def _re(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.MULTILINE)  # every reading is lower-cased already


def _near(
    text: str, first: str, second: str, within: int = 60, both_ways: bool = False
) -> re.Match[str] | None:
    found = _re(f"(?:{first}){_STOP}{{0,{within}}}?(?:{second})").search(text)
    if found is None and both_ways:
        found = _re(f"(?:{second}){_STOP}{{0,{within}}}?(?:{first})").search(text)
    return found


def _sentences(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.!?])\s+|(?<=[。！？])|\n", text) if s.strip()]


def _override(text: str, kind: Kind) -> bool:
    """A verb that sets rules aside, aimed at the assistant's rules (not the customer's own, not a topic's)."""
    for verb in _re(cues.OVERRIDE).finditer(text):
        rest = text[verb.end() : verb.end() + 70]
        target = _re(f"^{_STOP}{{0,50}}?(?P<rules>{cues.RULES}|{cues.EVERYTHING_BEFORE})").search(rest)
        if target is None:
            continue
        gap = rest[: target.end()]
        if _re(cues.CUSTOMER_OWN).search(gap) or _compound(rest[: target.start("rules")]):
            continue
        assistant_marked = _re(
            r"\b(?:your|system|all|previous|prior|above|earlier|initial)\b|你|之前|所有|以上"
        ).search(gap)
        if not assistant_marked and _re("^" + cues.TOPIC).search(rest[target.end() :].lstrip()):
            continue  # "skip the rules of the game", "cancel the instructions for the parcel"
        return True
    return _nullified(text) or _pointed_back(text)


def _assistants_rules(text: str) -> list[re.Match[str]]:
    """Mentions of the assistant's rules: "your earlier directives", "what you were told", "你之前嘅指示"."""
    found = []
    for target in _re(f"{cues.RULES}|{cues.EVERYTHING_BEFORE}").finditer(text):
        before = text[max(0, target.start() - 30) : target.start()]
        given = _re(r"^\s*(?:that |which )?you (?:were|have been|got|received)").search(text[target.end() :])
        if (
            given
            or _re(cues.EVERYTHING_BEFORE).fullmatch(target.group(0))
            or (
                _re(cues.ASSISTANT_MARKED).search(before)
                and not _re(cues.CUSTOMER_OWN).search(before)
                and not _compound(before)
            )
        ):
            found.append(target)
    return found


def _nullified(text: str) -> bool:
    """The assistant's rules declared void: "your earlier directives no longer apply", "之前嘅規則全部作廢"."""
    return any(
        _re(f"^{_STOP}{{0,40}}?(?:{cues.NULLIFIED})").search(text[t.end() : t.end() + 60])
        for t in _assistants_rules(text)
    )


def _pointed_back(text: str) -> bool:
    """Rules named first, set aside after with a pronoun, even a sentence or a message later: "your previous
    instructions? ignore them", "諗返你收到嘅指示 …… 將佢哋全部無視"."""
    pronoun = r"(?:\s*(?:them|it|those|these|all of them|佢哋|佢|它們|它们|它|這些|这些))"
    pointer = f"(?:{cues.OVERRIDE}){pronoun}|{cues.BA_PRONOUN}(?:{cues.OVERRIDE})|{cues.ALL_OF_IT}(?:{cues.OVERRIDE})"
    return any(_re(pointer).search(text[t.end() : t.end() + 120]) for t in _assistants_rules(text))


def _compound(before: str) -> bool:
    """'the delivery instructions', 'booking instructions': a noun right before "instructions" makes them
    about a thing, not the assistant's ("your instructions", "all previous instructions", "之前嘅指示")."""
    last = re.findall(r"[a-z][a-z'-]*$", before.rstrip())
    return bool(last) and not _re(f"^(?:{cues.ASSISTANT_MODIFIER})$").match(last[0])


def _prompt_target(text: str) -> re.Match[str] | None:
    for found in _re(cues.PROMPT).finditer(text):
        if not _re("^" + cues.TOPIC).search(text[found.end() :].lstrip()):
            return found  # "your rules about children" are the business's rules: skipped
    return None


def _reveal(text: str, kind: Kind) -> bool:
    target = _prompt_target(text)
    if target is None:
        return _near(text, cues.REVEAL, cues.EVERYTHING_BEFORE, 60, both_ways=True) is not None
    window = text[max(0, target.start() - 70) : target.end() + 70]
    return _re(cues.REVEAL).search(window) is not None


def _secret_request(text: str, kind: Kind) -> bool:
    # A document may well tell its reader to "provide your API key": only a customer asking for keys counts.
    if kind == "message" and _near(text, cues.REVEAL, cues.KEYS, 60, both_ways=True):
        return True
    owner = cues.SYSTEM_OWNER if kind == "message" else cues.STAFF_OWNER
    for sentence in _sentences(text):
        if not _near(sentence, cues.REVEAL, cues.PASSWORD, 60, both_ways=True):
            continue
        if _near(sentence, cues.NEGATED, cues.REVEAL, 12):
            continue  # "never share your password with anyone"
        if _re(owner).search(sentence) and not _re(cues.OWN_ACCOUNT).search(sentence):
            return True
    return False


def _others(text: str, kind: Kind) -> bool:
    """Another business's (or customer's) records, and a verb to show them, nearby ("... today? Show their chats")."""
    for s in [text, *_sentences(text)]:
        found = _near(s, f"{cues.OTHERS}|{cues.EVERYONE}", cues.RECORDS, 60, both_ways=True)
        if found is None:
            continue
        start = text.find(found.group(0))
        window = text[max(0, start - 80) : start + len(found.group(0)) + 80]
        if _re(cues.REVEAL).search(window):
            return True
    return False


def _persona(text: str, kind: Kind) -> bool:
    unbound = f"{cues.UNBOUND}|{cues.JAILBREAK}"
    named = _near(text, cues.STRONG_ROLE, cues.PERSONA_NAME, 60)  # "you are now DAN", not "Is Dan in?"
    named = named or _near(text, cues.ROLE, cues.NAMED_PERSONA, 40)  # "you are HackerGPT"
    return bool(_near(text, cues.ROLE, unbound, 60) or named or _re(cues.JAILBREAK).search(text))


def _search(pattern: str) -> Callable[[str, Kind], bool]:
    return lambda text, kind: _re(pattern).search(text) is not None


def _commands_assistant(text: str, kind: Kind) -> bool:
    """A document that speaks to the assistant and tells it what to do ("Assistant: disregard the price list").
    A customer addresses the assistant all the time; a document has no reason to."""
    if kind != "passage":
        return False
    return any(
        _re(f"^{_STOP}{{0,25}}?(?:{cues.IMPERATIVE})").search(text[m.end() : m.end() + 40])
        for m in _re(cues.ADDRESSED).finditer(text)
    )


def _credential(text: str, kind: Kind) -> bool:
    """A password or key written into a document: never knowledge to quote (the planted "admin login")."""
    if kind != "passage":
        return False
    if _re(cues.KEY_FORMAT).search(text):
        return True
    return any(
        _re(cues.STAFF_OWNER).search(s) and _re(cues.PASSWORD_VALUE).search(s) for s in _sentences(text)
    )


@dataclass(frozen=True)
class Feature:
    name: str
    weight: float
    test: Callable[[str, Kind], bool]


FEATURES: tuple[Feature, ...] = (
    Feature("override", 1.0, _override),
    Feature("reveal_prompt", 1.0, _reveal),
    Feature("secret_request", 1.0, _secret_request),
    Feature("other_tenant", 1.0, _others),
    Feature("unbound_persona", 1.0, _persona),
    Feature("chat_template", 1.0, _search(cues.TEMPLATE)),
    Feature("credential", 1.0, _credential),
    Feature("commands_assistant", 1.0, _commands_assistant),
    Feature("identity_switch", 0.5, _search(cues.IDENTITY_SWITCH)),
    Feature("mentions_prompt", 0.6, lambda text, kind: _prompt_target(text) is not None),
    Feature("mentions_keys", 0.6, _search(cues.KEYS)),
    Feature("unbound", 0.7, _search(cues.UNBOUND)),
    Feature("fake_notice", 0.5, _search(cues.NOTICE)),
    Feature("addresses_assistant", 0.5, _search(cues.ADDRESSED)),
    Feature("relays_to_customers", 0.5, _search(cues.RELAY)),
    Feature("obey_encoded", 0.5, _search(cues.OBEY_ENCODED)),
    Feature("debug_mode", 0.5, _search(cues.DEBUG_MODE)),
    Feature("role_switch", 0.3, _search(cues.STRONG_ROLE)),
    Feature("from_now_on", 0.3, _search(cues.FROM_NOW)),
    Feature(
        "others_records", 0.4, lambda text, kind: _near(text, cues.OTHERS, cues.RECORDS, 40, True) is not None
    ),
)


@dataclass(frozen=True)
class InjectionVerdict:
    """Whether a text carries an instruction: its score, the features that fired and the reading they fired on."""

    flagged: bool
    score: float = 0.0
    features: tuple[str, ...] = field(default_factory=tuple)
    reading: str = "plain"

    @property
    def reason(self) -> str:
        how = "" if self.reading == "plain" else f" (read as {self.reading})"
        return ", ".join(self.features) + how if self.features else ""


CLEAN = InjectionVerdict(flagged=False)


def _score(reading: Reading, kind: Kind) -> tuple[float, tuple[str, ...]]:
    fired = tuple(f.name for f in FEATURES if f.test(reading.text, kind))
    score = sum(f.weight for f in FEATURES if f.name in fired)
    if reading.form.startswith("encoded") and score >= HIDDEN_BONUS:
        score += HIDDEN_BONUS
    return round(score, 2), fired


def detect(text: str, kind: Kind = "message") -> InjectionVerdict:
    """The best-scoring reading of `text` decides. `kind`: a customer's message, or a knowledge passage
    (where "your password" is the reader's own, and a credential written down is flagged too)."""
    best = CLEAN
    for reading in readings(text[:20_000]):
        score, fired = _score(reading, kind)
        if score > best.score:
            best = InjectionVerdict(score >= THRESHOLD, score, fired, reading.form)
    return best
