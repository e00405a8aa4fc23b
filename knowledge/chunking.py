"""Structure-aware chunking, with small retrieval units inside each chunk.

Chunks follow the document: one FAQ question with its answer, one section under its heading
(split at paragraph then sentence boundaries when long), one spreadsheet row. Each chunk carries
its heading path so that a chunk read alone still says what it is about.

Units are what gets embedded for matching: the whole chunk plus each sentence (and an FAQ's
question on its own). A question matches one precise sentence far better than a long passage,
and the search returns the unit's parent chunk (multi-granularity retrieval).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from knowledge.loaders import Part

MAX_CHUNK_TOKENS = 180
MAX_UNITS_PER_CHUNK = 16

_HEADING = re.compile(r"^(#{1,6})\s+(.*\S)\s*$")
_QUESTION = re.compile(r"(^\s*(q|question|問|问)\s*[:：.．]\s*)|([?？]\s*$)", re.IGNORECASE)
_ANSWER_PREFIX = re.compile(r"^\s*(a|answer|答)\s*[:：.．]\s*", re.IGNORECASE)
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(\u3400-\u9fff])|(?<=[。！？；])")
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")
_MD_NOISE = re.compile(r"(\*\*|__|`|^\s*[-*+]\s+|^\s*\d+[.)]\s+)", re.MULTILINE)


def estimate_tokens(text: str) -> int:
    """Rough model tokens: one per Chinese character, ~1.3 per English word."""
    han = len(_HAN.findall(text))
    words = len(re.findall(r"[A-Za-z0-9]+", text))
    return han + int(words * 1.3) + 1


def split_sentences(text: str) -> list[str]:
    pieces: list[str] = []
    for line in text.split("\n"):
        pieces.extend(s.strip() for s in _SENTENCE.split(line) if s and s.strip())
    return [p for p in pieces if len(p) > 1]


@dataclass
class Chunk:
    title: str
    body: str
    kind: str  # qa | section | row
    units: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return f"{self.title}\n{self.body}" if self.title else self.body


def _clean(text: str) -> str:
    return _MD_NOISE.sub("", text).strip()


def _units(title: str, body: str, question: str | None = None) -> list[str]:
    units: list[str] = []
    if question:
        units.append(question)
    sentences = split_sentences(body)
    if len(sentences) > 1 or question:
        prefix = f"{question or title}: " if (question or title) else ""
        units.extend(prefix + s for s in sentences)
    seen: set[str] = set()
    unique = [u for u in units if not (u in seen or seen.add(u))]  # type: ignore[func-returns-value]
    return unique[:MAX_UNITS_PER_CHUNK]


def _pack(title: str, paragraphs: list[str]) -> list[Chunk]:
    """Group paragraphs under one heading into chunks of at most MAX_CHUNK_TOKENS."""
    chunks: list[Chunk] = []
    current: list[str] = []
    size = 0

    def flush() -> None:
        nonlocal current, size
        if current:
            body = "\n".join(current)
            chunks.append(Chunk(title=title, body=body, kind="section", units=_units(title, body)))
        current, size = [], 0

    for paragraph in paragraphs:
        pieces = [paragraph]
        if estimate_tokens(paragraph) > MAX_CHUNK_TOKENS:
            pieces = split_sentences(paragraph)
        for piece in pieces:
            tokens = estimate_tokens(piece)
            if current and size + tokens > MAX_CHUNK_TOKENS:
                flush()
            current.append(piece)
            size += tokens
    flush()
    return chunks


def chunk_text(text: str, base_title: str = "") -> list[Chunk]:
    headings: list[str] = [base_title] if base_title else []
    levels: list[int] = [0] if base_title else []
    chunks: list[Chunk] = []
    paragraphs: list[str] = []
    question: str | None = None
    answer: list[str] = []

    def title() -> str:
        return " › ".join(h for h in headings if h)

    def close_question() -> None:
        nonlocal question, answer
        if question is not None:
            body = "\n".join(answer).strip()
            if body:
                chunks.append(
                    Chunk(
                        title=title(),
                        body=f"{question}\n{body}",
                        kind="qa",
                        units=_units(title(), body, question),
                    )
                )
            else:
                paragraphs.append(question)
        question, answer = None, []

    def close_section() -> None:
        nonlocal paragraphs
        close_question()
        chunks.extend(_pack(title(), paragraphs))
        paragraphs = []

    for block in re.split(r"\n\s*\n|\n(?=#)|\n(?=\s*(?:Q|Question|問|问)\s*[:：])", text):
        lines = [line for line in block.strip().split("\n") if line.strip()]
        if not lines:
            continue
        heading = _HEADING.match(lines[0])
        if heading:
            close_section()
            level = len(heading.group(1))
            while levels and levels[-1] >= level:
                levels.pop()
                headings.pop()
            levels.append(level)
            headings.append(_clean(heading.group(2)))
            lines = lines[1:]
            if not lines:
                continue
        first = _clean(lines[0])
        if _QUESTION.search(first) and estimate_tokens(first) < 60:
            close_question()
            question = re.sub(r"^\s*(q|question|問|问)\s*[:：.．]\s*", "", first, flags=re.IGNORECASE)
            rest = [_ANSWER_PREFIX.sub("", _clean(line)) for line in lines[1:]]
            answer = [r for r in rest if r]
            continue
        cleaned = " ".join(_clean(line) for line in lines) if len(lines) > 1 else first
        cleaned = _ANSWER_PREFIX.sub("", cleaned)
        if (
            question is not None
            and estimate_tokens("\n".join(answer)) + estimate_tokens(cleaned) <= MAX_CHUNK_TOKENS
        ):
            answer.append(cleaned)
        else:
            close_question()
            paragraphs.append(cleaned)
    close_section()
    return chunks


def chunk_parts(parts: list[Part]) -> list[Chunk]:
    chunks: list[Chunk] = []
    for part in parts:
        if part.kind == "row":
            chunks.append(Chunk(title=part.title, body=part.text, kind="row", units=[]))
        else:
            chunks.extend(chunk_text(part.text, part.title))
    return chunks
