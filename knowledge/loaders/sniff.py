"""What a file really holds, told from its first bytes, against what its name says.

A PDF uploaded as `.txt` was indexed as PDF syntax. The content decides: a PDF, a workbook or a
web page under another supported name is loaded as what it is (what the person meant to share);
content that cannot be indexed under any name (a Word file, an image, an archive, binary junk) is
refused with both the name and the content in the reason. Text under a binary name (.pdf, .xlsx)
is refused the same way, since nothing in it says which loader would fit.
"""

from __future__ import annotations

import io
import zipfile

from knowledge.loaders import UnreadableSource

HEAD = 8192
LOADABLE = ("pdf", "xlsx", "html")  # content kinds that have a loader whatever the file is called
TEXT_TYPES = ("txt", "md", "csv")
DESCRIPTIONS = {
    "pdf": "a PDF",
    "xlsx": "an Excel workbook (.xlsx)",
    "html": "a web page (HTML)",
    "docx": "a Word document (.docx)",
    "pptx": "a PowerPoint presentation (.pptx)",
    "opendocument": "an OpenDocument file",
    "zip": "a ZIP archive",
    "ole": "an old-format or password-protected Office file (.xls, .doc)",
    "image": "an image",
    "archive": "a compressed archive",
    "executable": "a program",
    "binary": "binary data",
    "text": "plain text",
}
TYPE_NAMES = {
    "pdf": "a PDF",
    "xlsx": "an Excel workbook",
    "csv": "a CSV file",
    "txt": "text",
    "md": "Markdown",
}
MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "image"),
    (b"\xff\xd8\xff", "image"),
    (b"GIF87a", "image"),
    (b"GIF89a", "image"),
    (b"RIFF", "binary"),
    (b"\x1f\x8b", "archive"),
    (b"7z\xbc\xaf\x27\x1c", "archive"),
    (b"Rar!\x1a\x07", "archive"),
    (b"\xfd7zXZ\x00", "archive"),
    (b"\x7fELF", "executable"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "ole"),
)
HTML_STARTS = (b"<!doctype html", b"<html")
TEXT_BOMS = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")


class ContentMismatch(UnreadableSource):
    code = "content_mismatch"


def _zip_kind(data: bytes) -> str:
    try:
        names = set(zipfile.ZipFile(io.BytesIO(data)).namelist())
    except Exception:
        return "zip"  # a broken archive: the XLSX loader says it is corrupt when that is its name
    if "xl/workbook.xml" in names:
        return "xlsx"
    if "word/document.xml" in names:
        return "docx"
    if "ppt/presentation.xml" in names:
        return "pptx"
    if "mimetype" in names:
        return "opendocument"
    return "zip"


def _looks_binary(head: bytes) -> bool:
    if head.startswith(TEXT_BOMS[1:]):
        return False  # UTF-16 text is full of NUL bytes
    if b"\x00" in head:
        return True
    controls = sum(1 for byte in head if byte < 32 and byte not in b"\t\n\r\f\x1b")
    return controls > len(head) // 10


def sniff(data: bytes) -> str:
    """The kind of content: a key of DESCRIPTIONS ("text" when nothing else matches)."""
    head = data[:HEAD]
    if b"%PDF-" in head[:1024]:  # readers accept up to 1 KB of junk before the header
        return "pdf"
    if head.startswith(b"PK\x03\x04"):
        return _zip_kind(data)
    for magic, kind in MAGIC:
        if head.startswith(magic):
            return kind
    start = head.removeprefix(TEXT_BOMS[0]).lstrip()[:64].lower()
    if start.startswith(HTML_STARTS):
        return "html"
    return "binary" if _looks_binary(head) else "text"


def real_type(file_type: str, data: bytes, claim: str = "the file's name") -> str:
    """The file type to load `data` as, given the type its name says; ContentMismatch when it cannot be."""
    kind = sniff(data)
    if kind == file_type or (kind == "text" and file_type in TEXT_TYPES):
        return file_type
    if kind in LOADABLE:
        return kind
    if file_type == "xlsx" and kind in ("zip", "ole"):
        return file_type  # the XLSX loader says why (corrupt, encrypted, the old .xls format)
    raise ContentMismatch(
        f"{claim} says {TYPE_NAMES.get(file_type, file_type)} but it holds {DESCRIPTIONS[kind]}, "
        f"not {TYPE_NAMES.get(file_type, file_type)}; "
        "upload a PDF, an Excel workbook (.xlsx), a CSV, or a text or Markdown file"
    )
