"""Loaders turn a source's bytes (or a remote document) into structured parts for chunking.

Each loader raises UnreadableSource with a reason a person can act on ("the PDF is encrypted");
that reason becomes the source's `error` and no other source is touched.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from core.errors import InvalidInput


class UnreadableSource(InvalidInput):
    code = "unreadable_source"


@dataclass
class Part:
    """A piece of a document: free text (markdown-ish, headings with #) or one spreadsheet row."""

    text: str
    kind: Literal["text", "row"] = "text"
    title: str = ""


@dataclass
class Extracted:
    parts: list[Part] = field(default_factory=list)
    pages: int | None = None
    title: str | None = None
    encoding: str | None = None
    """The text encoding a text-like file was read in (knowledge/loaders/text.py); None for PDF, XLSX, HTML."""

    def require_text(self, what: str) -> Extracted:
        if not any(part.text.strip() for part in self.parts):
            raise UnreadableSource(f"{what} contains no text to index")
        return self
