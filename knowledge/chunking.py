"""Structure-aware chunking, with small retrieval units inside each chunk.

Chunks follow the document (knowledge/structure.py reads it): one FAQ question with its answer, one
section under its heading path, one spreadsheet row. A long answer or section is split between its
lines, never inside a list's lead-in, and every piece keeps its question and heading path, so a chunk
read alone still says what it is about.

A chunk's text is its heading path on the first line, then its question (if any), then one line per
paragraph, list item ("- ...") or table row. Units are what gets embedded for matching: the chunk, its
question on its own, and each sentence, list item or row under its question or heading. A question
matches one precise sentence far better than a long passage, and the search returns the unit's parent
chunk (multi-granularity retrieval).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from knowledge.loaders import Part
from knowledge.structure import Line, estimate_tokens, is_question, structure

# Bumped whenever chunks come out differently for the same document: sources indexed with another format
# are indexed again at start (knowledge/sources.py reindex_outdated).
CHUNKING_FORMAT = "structure-2026-12d"
MAX_CHUNK_TOKENS = 200
MAX_UNITS_PER_CHUNK = 16
TITLE_SEPARATOR = " › "

_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(\u3400-\u9fff])|(?<=[。！？；])")
_ABBREVIATION = re.compile(
    r"\b(vs|e\.g|i\.e|etc|approx|incl|excl|no|nos|mr|mrs|ms|dr|st|jan|feb|aug|sept?|oct|nov|dec)\.$", re.I
)
_LEAD_IN = re.compile(r"[:：]$")
_ENDS = re.compile(r"[.。!！?？:：;；]$")

__all__ = [
    "Chunk",
    "chunk_parts",
    "chunk_text",
    "estimate_tokens",
    "parse_chunk",
    "split_sentences",
    "split_units",
    "with_lines",
]


def split_sentences(text: str) -> list[str]:
    pieces: list[str] = []
    for line in text.split("\n"):
        for piece in (s.strip() for s in _SENTENCE.split(line) if s and s.strip()):
            if pieces and _ABBREVIATION.search(pieces[-1]) and not line.startswith(piece):
                pieces[-1] = f"{pieces[-1]} {piece}"  # "Basic vs. Premium" is one sentence
            else:
                pieces.append(piece)
    return [p for p in pieces if len(p) > 1]


def parse_chunk(text: str) -> tuple[str, str, list[str]]:
    """A stored chunk's text read back: (heading path, FAQ question or "", body lines)."""
    lines = [line.strip() for line in text.split("\n") if line.strip()]
    title = ""
    if len(lines) > 1 and not _ENDS.search(lines[0]):
        title, lines = lines[0], lines[1:]
    question = ""
    if len(lines) > 1 and is_question(lines[0]):
        question, lines = lines[0], lines[1:]
    return title, question, lines


def split_units(body: str) -> list[str]:
    """A chunk body's units: list items and table rows whole, paragraphs by sentence."""
    units: list[str] = []
    for line in body.split("\n"):
        line = line.strip()
        if line.startswith("- "):
            units.append(line[2:].strip())
        elif line:
            units.extend(split_sentences(line))
    return [u for u in units if len(u) > 1]


@dataclass
class Chunk:
    title: str
    body: str
    kind: str  # qa | section | row
    units: list[str] = field(default_factory=list)
    question: str = ""

    @property
    def text(self) -> str:
        return f"{self.title}\n{self.body}" if self.title else self.body


def _render(line: Line) -> str:
    return f"- {line.text}" if line.kind == "item" else line.text


def _units(title: str, question: str, lines: list[str]) -> list[str]:
    """The question alone, then each sentence / item / row under the question (or the nearest heading)."""
    context = question or title.split(TITLE_SEPARATOR)[-1]
    units = [question] if question else []
    pieces = split_units("\n".join(lines))
    if len(pieces) > 1 or question:
        units.extend(f"{context}: {p}" if context else p for p in pieces)
    seen: set[str] = set()
    unique = [u for u in units if not (u in seen or seen.add(u))]  # type: ignore[func-returns-value]
    return unique[:MAX_UNITS_PER_CHUNK]


def _pieces(lines: list[str], budget: int) -> list[list[str]]:
    """Lines packed into groups within `budget` tokens; a lead-in ("...:") opens the next group when its
    list is cut, and an over-long line is cut at sentence ends."""
    flat: list[str] = []
    for line in lines:
        if estimate_tokens(line) > budget:
            flat.extend(split_sentences(line))
        else:
            flat.append(line)
    groups: list[list[str]] = []
    current: list[str] = []
    size = 0
    lead = ""
    for line in flat:
        tokens = estimate_tokens(line)
        if current and size + tokens > budget:
            groups.append(current)
            carried = lead if lead and line.startswith("- ") and lead not in current[-1:] else ""
            current, size = ([carried] if carried else []), estimate_tokens(carried) if carried else 0
        current.append(line)
        size += tokens
        if _LEAD_IN.search(line):
            lead = line
        elif not line.startswith("- "):
            lead = ""
    if current:
        groups.append(current)
    return groups


def with_lines(chunk: Chunk, lines: list[str]) -> Chunk:
    """The chunk with only `lines` under its title and question (quarantine takes some lines out)."""
    body = "\n".join([chunk.question, *lines] if chunk.question else lines)
    units = _units(chunk.title, chunk.question, lines)
    return Chunk(title=chunk.title, body=body, kind=chunk.kind, units=units, question=chunk.question)


def _emit(chunks: list[Chunk], title: str, question: str, lines: list[str]) -> None:
    if question and not lines:
        lines = []  # a question with no answer still tells what the section covers
    budget = MAX_CHUNK_TOKENS - estimate_tokens(title) - estimate_tokens(question)
    groups = _pieces(lines, max(60, budget)) if lines else [[]]
    for group in groups:
        if not group and not question:
            continue
        body = "\n".join([question, *group] if question else group)
        chunks.append(
            Chunk(
                title=title,
                body=body,
                kind="qa" if question else "section",
                units=_units(title, question, group),
                question=question,
            )
        )


def chunk_text(text: str, base_title: str = "") -> list[Chunk]:
    headings: list[tuple[int, str]] = [(0, base_title)] if base_title else []  # Markdown levels
    plain: list[str] = []  # plain-text headings under them (no levels: see below)
    chunks: list[Chunk] = []
    question = ""
    question_level = 0
    lines: list[str] = []
    since_heading = False  # content seen since the last heading

    def title() -> str:
        return TITLE_SEPARATOR.join([t for _, t in headings if t] + plain)

    def close() -> None:
        nonlocal question, lines
        if question or lines:
            _emit(chunks, title(), question, lines)
        question, lines = "", []

    def open_level(level: int) -> None:
        while headings and headings[-1][0] >= level > 0 and headings[-1][0] > 0:
            headings.pop()

    for line in structure(text):
        if line.kind == "blank":
            continue
        if line.kind == "heading":
            if question and not lines and line.level > question_level > 0:
                headings.append((question_level, question))  # "## Switch later?" over "### ..." parts
                question = ""
            close()
            if line.level:
                open_level(line.level)
                headings.append((line.level, line.text))
                plain.clear()
            else:
                # Plain text has no levels: a heading right under another is its child; after content a
                # new one replaces the path, under the first of a nested path (a title over its sections).
                if since_heading:
                    plain[:] = plain[:1] if len(plain) > 1 else []
                plain.append(line.text)
            since_heading = False
            continue
        since_heading = True
        if line.kind == "question":
            close()
            if line.level:  # a question written as a Markdown heading sits under the headings above it
                open_level(line.level)
            question, question_level = line.text, line.level
            continue
        lines.append(_render(line))
    close()
    return chunks


def row_chunk(part: Part) -> Chunk:
    """A spreadsheet row ("Header: value; Header: value"). A FAQ kept in a sheet (a question column and an
    answer column) becomes a question with its answer; any other row is one unit, as written."""
    fields = [field.partition(": ") for field in part.text.split("; ")]
    asked = next((value for _, sep, value in fields if sep and is_question(value.strip())), "")
    if not asked:
        return Chunk(title=part.title, body=part.text, kind="row", units=[])
    rest = [value.strip() for _, sep, value in fields if sep and value.strip() != asked and value.strip()]
    lines = [line for value in rest for line in value.split("\n") if line.strip()]
    return Chunk(
        title=part.title,
        body="\n".join([asked.strip(), *lines]),
        kind="qa",
        units=_units(part.title, asked.strip(), lines),
        question=asked.strip(),
    )


def chunk_parts(parts: list[Part]) -> list[Chunk]:
    chunks: list[Chunk] = []
    for part in parts:
        if part.kind == "row":
            chunks.append(row_chunk(part))
        else:
            chunks.extend(chunk_text(part.text, part.title))
    return chunks
