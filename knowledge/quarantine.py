"""Quarantine at ingest: passages of a document that carry instructions are kept out of the index.

A document is information, never orders: a line that tells the assistant to ignore its rules, speaks as
the system, asks it to reveal its prompt, or writes down a staff password is taken out of its chunk before
anything is embedded (core/injection decides, in every reading: base64, reversed, spaced, ...). The rest
of the chunk stays searchable. What was taken out is kept on the source with the reason, for the admin to
see (GET /v1/knowledge/sources/{id}), and never reaches the responder.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.injection import detect
from knowledge.chunking import Chunk, with_lines

KEPT = 100  # passages listed per source (the count is exact)
SHOWN_CHARS = 1000


@dataclass(frozen=True)
class Quarantined:
    """A passage kept out of the index, and why (the detector's features and the reading they fired on)."""

    text: str
    reason: str

    def as_dict(self) -> dict[str, str]:
        return {"text": self.text[:SHOWN_CHARS], "reason": self.reason}


def _whole(chunk: Chunk, reason: str) -> tuple[None, list[Quarantined]]:
    return None, [Quarantined(chunk.text, reason)]


def screen(chunk: Chunk) -> tuple[Chunk | None, list[Quarantined]]:
    """The chunk without its instruction lines (None when nothing of it is left), and what was taken out."""
    verdict = detect(chunk.text, "passage")
    if not verdict.flagged:
        return chunk, []
    if chunk.kind == "row":
        return _whole(chunk, verdict.reason)  # a row is one record: it goes as a whole
    for head in (chunk.title, chunk.question):
        head_verdict = detect(head, "passage") if head else None
        if head_verdict and head_verdict.flagged:
            return _whole(chunk, head_verdict.reason)
    lines = [line for line in chunk.body.split("\n") if line.strip()]
    if chunk.question and lines and lines[0] == chunk.question:
        lines = lines[1:]
    kept: list[str] = []
    out: list[Quarantined] = []
    for line in lines:
        line_verdict = detect(line, "passage")
        if line_verdict.flagged:
            out.append(Quarantined(line.removeprefix("- "), line_verdict.reason))
        else:
            kept.append(line)
    if not out:
        return _whole(chunk, verdict.reason)  # spread over lines: none alone, the chunk together
    if not kept or detect("\n".join(kept), "passage").flagged:
        return None, [Quarantined(chunk.text, verdict.reason)] if kept else out
    return with_lines(chunk, kept), out


def quarantine(chunks: list[Chunk]) -> tuple[list[Chunk], list[Quarantined]]:
    """(the chunks to index, the passages kept out of the index)."""
    clean: list[Chunk] = []
    held: list[Quarantined] = []
    for chunk in chunks:
        kept, out = screen(chunk)
        if kept is not None:
            clean.append(kept)
        held.extend(out)
    return clean, held
