"""PDF files through pypdf: page count (for the limit), text per page, clear failure reasons."""

from __future__ import annotations

import io
import logging
import re

from pypdf import PdfReader
from pypdf.errors import PdfReadError

from knowledge.loaders import Extracted, Part, UnreadableSource

logging.getLogger("pypdf").setLevel(logging.ERROR)  # pypdf warns loudly about harmless quirks

_SENTENCE_END = re.compile(r"[.!?:;。！？：；)）]$")


def _open(data: bytes) -> PdfReader:
    if not data.strip():
        raise UnreadableSource("the PDF is empty")
    if not data.lstrip()[:5].startswith(b"%PDF"):
        raise UnreadableSource("the file is not a PDF (no %PDF header); it may be corrupt")
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            # Many "protected" PDFs only restrict printing and open with an empty password.
            try:
                opened = reader.decrypt("")
            except Exception as exc:
                raise UnreadableSource("the PDF is encrypted; upload a copy without a password") from exc
            if not opened:
                raise UnreadableSource("the PDF is encrypted; upload a copy without a password")
        _ = len(reader.pages)
        return reader
    except UnreadableSource:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, OSError) as exc:
        raise UnreadableSource(f"the PDF is corrupt and cannot be read ({type(exc).__name__})") from exc


def count_pages(data: bytes) -> int:
    return len(_open(data).pages)


def _paragraphs(page_text: str) -> str:
    """Re-join hard-wrapped lines into paragraphs; short bare lines become headings.

    A line ending a sentence ends its paragraph when it is visibly shorter than the page's text
    width (the last line of a wrapped paragraph) or when a heading follows it.
    """
    lines = [line.strip() for line in page_text.splitlines()]
    width = max((len(line) for line in lines), default=0)

    def heading_like(i: int) -> bool:
        line = lines[i]
        nxt = lines[i + 1] if i + 1 < len(lines) else ""
        return bool(line) and len(line) < 70 and not _SENTENCE_END.search(line) and bool(nxt)

    out: list[str] = []
    current: list[str] = []

    def flush() -> None:
        if current:
            out.append(" ".join(current))
            current.clear()

    for i, line in enumerate(lines):
        if not line:
            flush()
            continue
        if heading_like(i) and (not current or _SENTENCE_END.search(current[-1])):
            flush()
            out.append("# " + line)
            continue
        current.append(line)
        next_is_heading = i + 1 < len(lines) and heading_like(i + 1)
        if _SENTENCE_END.search(line) and (len(line) < 0.85 * width or next_is_heading):
            flush()
    flush()
    return "\n\n".join(out)


def load_pdf(data: bytes, *, max_pages: int) -> Extracted:
    reader = _open(data)
    pages = len(reader.pages)
    if pages > max_pages:
        raise UnreadableSource(f"the PDF has {pages} pages; the limit is {max_pages} pages per file")
    parts = []
    for number, page in enumerate(reader.pages, start=1):
        try:
            text = page.extract_text() or ""
        except Exception as exc:  # a single broken page stream
            raise UnreadableSource(f"page {number} of the PDF is corrupt ({type(exc).__name__})") from exc
        if text.strip():
            parts.append(Part(text=_paragraphs(text)))
    if not parts:
        raise UnreadableSource("the PDF has no extractable text (is it a scanned image? run OCR first)")
    return Extracted(parts=parts, pages=pages)
