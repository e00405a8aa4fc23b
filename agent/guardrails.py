"""Guardrails: typed verdicts on what comes in (prompt injection, declined topics) and goes out (leaks).

A tripped guardrail is never an exception to the customer: the graph turns the verdict into the
configured decline message (or a safe reply) and records why.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from agent import leaks
from agent.settings import AgentSettings
from core.injection import detect


@dataclass(frozen=True)
class Verdict:
    """Outcome of a guardrail check: ok, or tripped with a kind and the reply to send instead."""

    tripped: bool
    kind: Literal["ok", "prompt_injection", "declined_topic", "leak"] = "ok"
    detail: str = ""
    reply: str = ""


OK = Verdict(tripped=False)


def injection_kind(text: str, previous: str = "") -> str | None:
    """Why the customer's message is an instruction to the assistant (core/injection), or None. An attack
    split over two messages is caught in the two read together, unless the earlier one was caught alone
    (it was declined then, and the message after it is judged on its own)."""
    verdict = detect(text)
    if not verdict.flagged and previous.strip() and not detect(previous).flagged:
        verdict = detect(f"{previous}\n{text}")
    return verdict.reason if verdict.flagged else None


def _declined_reply(language: str) -> str:
    if language == "zh":
        return "抱歉，我只能回答與我們的產品和服務有關的問題。"
    return "Sorry, I can only help with questions about our products and services."


def check_input(text: str, settings: AgentSettings, language: str, previous: str = "") -> Verdict:
    """`previous`: the customer's message before this one in the conversation ("" for the first)."""
    kind = injection_kind(text, previous)
    if kind:
        return Verdict(True, "prompt_injection", kind, _declined_reply(language))
    lowered = text.lower()
    for rule in settings.guardrails:
        words = [rule.topic, *rule.keywords]
        if any(w.lower() in lowered for w in words if w):
            return Verdict(True, "declined_topic", rule.topic, rule.message)
    return OK


def clean_passages(passages: list[str]) -> list[str]:
    """Drop retrieved passages that carry instructions. Ingest quarantines them already (knowledge/
    quarantine.py); this is the second line, for chunks indexed before it did."""
    return [p for p in passages if not detect(p, "passage").flagged]


def check_output(reply: str, system_prompt: str, canary: str) -> Verdict:
    """Refuse replies that leak the system prompt (its canary or its text) or a key, in any reading
    (agent/leaks.py: base64, reversed, rot13, leetspeak, letter-spaced, first words of each line, ...)."""
    found = leaks.leak(reply, system_prompt, canary)
    return Verdict(True, "leak", found) if found else OK
