"""Guardrails: typed verdicts on what comes in (prompt injection, declined topics) and goes out (leaks).

A tripped guardrail is never an exception to the customer: the graph turns the verdict into the
configured decline message (or a safe reply) and records why.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from agent.settings import AgentSettings

# Injection attempts seen in the wild, English and Chinese. Each pattern is one kind of attack.
INJECTION_PATTERNS: dict[str, re.Pattern[str]] = {
    name: re.compile(pattern, re.IGNORECASE)
    for name, pattern in {
        "ignore_instructions": r"\b(ignore|disregard|forget|override)\b.{0,40}\b(previous|prior|above|earlier|all|your)\b.{0,20}\b(instructions?|rules?|prompts?|guidelines?)",
        "reveal_prompt": r"\b(print|show|reveal|display|output|tell me|what is|what's|repeat|leak)\b.{0,30}\b(system|hidden|initial|original|secret)\s+(prompt|instructions?|message|rules)",
        "repeat_above": r"\brepeat\b.{0,30}\b(text|words|everything)\b.{0,20}\b(above|before|verbatim)",
        "role_override": r"\byou are (now|no longer)\b|\bfrom now on,? you (are|will)\b",
        "jailbreak": r"\b(jailbreak|DAN mode|developer mode|do anything now|god mode)\b",
        "no_restrictions": r"\b(without|no|ignore)\s+(any\s+)?(restrictions|limitations|filters|safety|rules)\b",
        "pretend": r"\b(pretend|act|behave)\b.{0,20}\b(as if|like|to be)\b.{0,40}\b(unrestricted|unfiltered|evil|no rules|another ai|system)",
        "fake_system": r"(<\|im_start\|>|<\|system\|>|\[/?INST\]|###\s*(system|instruction)|BEGIN SYSTEM|^\s*system\s*:)",
        "api_key_request": r"\b(api[_ ]?key|access token|secret key|password)s?\b.{0,30}\b(give|show|print|send|reveal|tell)|\b(give|show|print|send|reveal|tell)\b.{0,30}\b(api[_ ]?key|access token|secret key)",
        "other_tenant": r"\b(other|another|different)\s+(tenant|business|company|customer)'?s?\b.{0,30}\b(data|documents?|knowledge|records|prompt)",
        "zh_ignore": r"(忽略|無視|无视|忘記|忘记).{0,10}(之前|以上|先前|所有|你的).{0,6}(指示|指令|規則|规则|提示)",
        "zh_reveal": r"(顯示|显示|輸出|输出|告訴我|告诉我|打印|透露).{0,10}(系統|系统|隱藏|隐藏|原始).{0,4}(提示|指令|訊息|信息)",
        "zh_role": r"(你現在是|你现在是|從現在開始你|从现在开始你|扮演).{0,20}(沒有限制|没有限制|不受限制|任何)",
    }.items()
}


@dataclass(frozen=True)
class Verdict:
    """Outcome of a guardrail check: ok, or tripped with a kind and the reply to send instead."""

    tripped: bool
    kind: Literal["ok", "prompt_injection", "declined_topic", "leak"] = "ok"
    detail: str = ""
    reply: str = ""


OK = Verdict(tripped=False)


def injection_kind(text: str) -> str | None:
    for name, pattern in INJECTION_PATTERNS.items():
        if pattern.search(text):
            return name
    return None


def _declined_reply(language: str) -> str:
    if language == "zh":
        return "抱歉，我只能回答與我們的產品和服務有關的問題。"
    return "Sorry, I can only help with questions about our products and services."


def check_input(text: str, settings: AgentSettings, language: str) -> Verdict:
    kind = injection_kind(text)
    if kind:
        return Verdict(True, "prompt_injection", kind, _declined_reply(language))
    lowered = text.lower()
    for rule in settings.guardrails:
        words = [rule.topic, *rule.keywords]
        if any(w.lower() in lowered for w in words if w):
            return Verdict(True, "declined_topic", rule.topic, rule.message)
    return OK


def clean_passages(passages: list[str]) -> list[str]:
    """Drop retrieved passages that carry instructions (injection hidden inside uploaded documents)."""
    return [p for p in passages if injection_kind(p) is None]


# What must never leave: our key formats and common provider key formats.
SECRET_PATTERN = re.compile(r"\b(pk_|pa_)[A-Za-z0-9_\-]{20,}|\bsk-[A-Za-z0-9]{20,}|\bAKIA[0-9A-Z]{16}\b")


TENANT_LINES = ("Objectives:", "Handoff phrases:", "Tone:")


def check_output(reply: str, system_prompt: str, canary: str) -> Verdict:
    """Refuse replies that leak the system prompt (its canary or a long verbatim stretch) or a key."""
    if canary and canary in reply:
        return Verdict(True, "leak", "system prompt canary")
    if SECRET_PATTERN.search(reply):
        return Verdict(True, "leak", "credential")
    instructions = system_prompt.split("<knowledge>")[0]
    said = " ".join(reply.split()).lower()
    for line in instructions.splitlines():
        if line.startswith(TENANT_LINES):
            continue  # the tenant's own objectives and phrases are not secret and may be echoed
        words = line.split()
        # Any run of eight consecutive words of the instructions, quoted back, is a leak.
        for start in range(0, max(0, len(words) - 7)):
            if " ".join(words[start : start + 8]).lower() in said:
                return Verdict(True, "leak", "system prompt text")
    return OK
