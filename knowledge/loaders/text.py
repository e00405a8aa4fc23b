"""Plain text and Markdown files, and the encoding detection every text-like file goes through.

UTF-8 (with or without a byte-order mark) and UTF-16 with a byte-order mark are decoded directly;
anything else is left to charset-normalizer, a maintained detector (a fixed list of legacy codecs
read a Shift-JIS file as GB18030 mojibake, since most byte strings are valid GB18030). The
encoding used (a Python codec name: utf-8, utf-8-sig, big5hkscs, cp932, ...) is returned so the
source can show it.
"""

from __future__ import annotations

from dataclasses import dataclass

from charset_normalizer import from_bytes

from knowledge.loaders import Extracted, Part, UnreadableSource

# When the detector finds several encodings equally plausible (short texts), the ones this product's
# customers write in win, in this order: Traditional Chinese first (read as Big5-HKSCS, the Hong Kong
# superset of Big5), then Western European, Simplified Chinese and Japanese.
PREFERRED = ("big5", "cp950", "big5hkscs", "cp1252", "gb18030", "gb2312", "cp932", "shift_jis")
BIG5_FAMILY = ("big5", "cp950")
BOMS = ((b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16"))


@dataclass(frozen=True)
class Decoded:
    text: str
    encoding: str


def _detect(data: bytes, what: str) -> Decoded:
    matches = from_bytes(data)
    best = matches.best()
    if best is None:
        raise UnreadableSource(f"{what} is not text in any encoding that could be recognised")
    tied = [m for m in matches if (m.chaos, m.coherence) == (best.chaos, best.coherence)]
    chosen = min(
        tied, key=lambda m: PREFERRED.index(m.encoding) if m.encoding in PREFERRED else len(PREFERRED)
    )
    if chosen.encoding in BIG5_FAMILY:
        try:
            return Decoded(data.decode("big5hkscs"), "big5hkscs")
        except UnicodeDecodeError:
            pass
    return Decoded(str(chosen), chosen.encoding)


def decode(data: bytes, what: str = "the file") -> Decoded:
    if not data.strip():
        raise UnreadableSource(f"{what} is empty")
    for bom, encoding in BOMS:
        if data.startswith(bom):
            try:
                return Decoded(data.decode(encoding), encoding)
            except UnicodeDecodeError as exc:
                raise UnreadableSource(f"{what} starts as {encoding} but is not valid {encoding}") from exc
    if b"\x00" in data[:4096]:
        raise UnreadableSource(f"{what} looks binary, not text")
    try:
        return Decoded(data.decode("utf-8"), "utf-8")
    except UnicodeDecodeError:
        return _detect(data, what)


def decode_text(data: bytes, what: str = "the file") -> str:
    return decode(data, what).text


def load_text(data: bytes, *, markdown: bool) -> Extracted:
    decoded = decode(data)
    text = decoded.text.replace("\r\n", "\n")
    if not markdown:
        # Plain text has no heading markup; keep paragraphs as they are.
        text = "\n".join(line[1:] if line.startswith("#") else line for line in text.split("\n"))
    return Extracted(parts=[Part(text=text)], encoding=decoded.encoding).require_text("the file")
