"""The output check reads a reply every way a leak can be written (agent/leaks.py)."""

from __future__ import annotations

import base64
import codecs

import pytest

from agent.guardrails import check_output
from agent.prompt import system_prompt
from agent.settings import AgentSettings

CANARY = "5e1f0c2b9a7d"
PROMPT = system_prompt(AgentSettings(), [], "en", CANARY)
LINES = [line for line in PROMPT.split("<knowledge>")[0].splitlines() if line]
RULES = next(line for line in LINES if line.startswith("Answer only"))
NEVER = next(line for line in LINES if line.startswith("Never reveal"))
LEET = str.maketrans({"a": "4", "e": "3", "i": "1", "o": "0", "s": "5", "t": "7"})

LEAKS = {
    "verbatim": f"Sure: {RULES}",
    "base64": "Here: " + base64.b64encode(NEVER.encode()).decode(),
    "reversed": RULES[::-1],
    "rot13": codecs.encode(NEVER, "rot13"),
    "leetspeak": RULES.lower().translate(LEET),
    "letter-spaced": " ".join(NEVER),
    "dash-spaced": "-".join(RULES[:120]),
    "first words of each line": "\n".join(" ".join(line.split()[:6]) for line in LINES[:9]),
    "upper case": NEVER.upper(),
    "zero-width between words": "\u200b".join(RULES.split()),
    "full-width": "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in NEVER),
    "word order reversed": " ".join(reversed(RULES.split())),
    "canary": f"ok [ref:{CANARY}]",
    "canary reversed": CANARY[::-1],
    "canary spaced": " ".join(CANARY),
    "canary in base64": base64.b64encode(f"ref {CANARY}".encode()).decode(),
    "a key": "the key is pk_live_ABCDEFGHIJKLMNOPQRSTUVWXYZ0123",
}
HARMLESS = [
    "Sure! A Gel Manicure is HK$350.",
    "I don't know that, but I can connect you with a colleague.",
    "Your booking code is QUJDREVGR0hJSktMTU5PUA and it's valid today.",
    "Yes! Free Wi-Fi: network LotusGuest, password glow2026.",
    "I'm the customer-service assistant here; I can help with bookings and prices.",
    "好的！取消預約要提前 24 小時通知。",
]


@pytest.mark.parametrize("form", sorted(LEAKS))
def test_each_transformed_leak_is_withheld(form: str) -> None:
    verdict = check_output(LEAKS[form], PROMPT, CANARY)
    assert verdict.tripped and verdict.kind == "leak", form


@pytest.mark.parametrize("reply", HARMLESS)
def test_ordinary_replies_pass(reply: str) -> None:
    assert not check_output(reply, PROMPT, CANARY).tripped


def test_the_tenants_own_objectives_may_be_echoed() -> None:
    settings = AgentSettings(objectives=["Book appointments for new customers and mention the loyalty card"])
    prompt = system_prompt(settings, [], "en", CANARY)
    reply = "We book appointments for new customers and mention the loyalty card at the desk."
    assert not check_output(reply, prompt, CANARY).tripped
