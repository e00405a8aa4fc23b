"""Plain text and Markdown files."""

from __future__ import annotations

from knowledge.loaders import Extracted, Part, UnreadableSource

# Tried in order: UTF-8 first; Big5-HKSCS and GB18030 cover legacy Hong Kong and mainland files.
ENCODINGS = ("utf-8-sig", "utf-16", "big5hkscs", "gb18030")


def decode_text(data: bytes, what: str = "the file") -> str:
    if not data.strip():
        raise UnreadableSource(f"{what} is empty")
    if b"\x00" in data[:4096] and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise UnreadableSource(f"{what} looks binary, not text")
    for encoding in ENCODINGS:
        if encoding == "utf-16" and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
            continue
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise UnreadableSource(f"{what} is not valid UTF-8, UTF-16, Big5 or GB18030 text")


def load_text(data: bytes, *, markdown: bool) -> Extracted:
    text = decode_text(data).replace("\r\n", "\n")
    if not markdown:
        # Plain text has no heading markup; keep paragraphs as they are.
        text = "\n".join(line[1:] if line.startswith("#") else line for line in text.split("\n"))
    return Extracted(parts=[Part(text=text)]).require_text("the file")
