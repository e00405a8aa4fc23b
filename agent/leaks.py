"""Does a reply leak the system prompt, its canary or a key, in any reading?

A model that obeys "answer in base64", "spell it backwards" or "give me the first words of each line" leaks
the prompt in a form a verbatim comparison misses. The reply is read every way core/injection/forms.py
knows (spacing and invisible characters undone, leetspeak, rot13, reversed, base64 and hex runs decoded)
and, in each reading, compared with the prompt's instruction lines word by word: one long run of the
prompt's words is a leak, and so are many short runs spread over several lines (the first words of each).
"""

from __future__ import annotations

import re
from collections import defaultdict

from core.injection.cues import KEY_FORMAT
from core.injection.forms import readings

TENANT_LINES = ("Objectives:", "Handoff phrases:", "Tone:")
"""The tenant's own objectives and phrases are not secret and may be echoed."""
LONG_RUN = 8  # this many consecutive words of the instructions, anywhere in a reply, is a leak
SHORT_RUN = 4  # shorter runs count towards SPREAD when...
SPREAD = 12  # ...they cover this many words of the instructions, over at least two of its lines
_WORD = re.compile(r"[a-z0-9]+|[\u3400-\u9fff]")
_KEY = re.compile(KEY_FORMAT, re.IGNORECASE)


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def instruction_lines(system_prompt: str) -> list[list[str]]:
    head = system_prompt.split("<knowledge>")[0]
    return [words(line) for line in head.splitlines() if line.strip() and not line.startswith(TENANT_LINES)]


def _overlap(said: list[str], lines: list[list[str]]) -> str | None:
    starts: dict[tuple[str, ...], list[tuple[int, int]]] = defaultdict(list)
    for n, line in enumerate(lines):
        for i in range(len(line) - SHORT_RUN + 1):
            starts[tuple(line[i : i + SHORT_RUN])].append((n, i))
    covered: set[tuple[int, int]] = set()
    for j in range(len(said) - SHORT_RUN + 1):
        for n, i in starts.get(tuple(said[j : j + SHORT_RUN]), []):
            length = SHORT_RUN
            line = lines[n]
            while i + length < len(line) and j + length < len(said) and line[i + length] == said[j + length]:
                length += 1
            if length >= LONG_RUN:
                return "system prompt text"
            covered.update((n, k) for k in range(i, i + length))
    if len(covered) >= SPREAD and len({n for n, _ in covered}) >= 2:
        return "system prompt text (in pieces)"
    return None


def leak(reply: str, system_prompt: str, canary: str) -> str | None:
    """What the reply leaks ("system prompt canary", "credential", "system prompt text"), or None."""
    lines = instruction_lines(system_prompt)
    canary = canary.lower()
    for reading in readings(reply):
        how = "" if reading.form == "plain" else f" ({reading.form})"
        compact = re.sub(r"[^a-z0-9]", "", reading.text)
        if canary and canary in compact:
            return "system prompt canary" + how
        if _KEY.search(reading.text):
            return "credential" + how
        said = words(reading.text)
        found = _overlap(said, lines) or _overlap(said[::-1], lines)
        if found:
            return found + how
    return None
