"""Reading a document's structure line by line: headings, FAQ questions, list items, table rows, text.

Works on Markdown (loaders mark PDF, web and Google Doc headings with #) and on plain text pasted from
anywhere: with or without blank lines, questions as lines ending in ?/？ or starting "Q:"/"問：" or
numbered, bullets of any common shape, Chinese full-width punctuation.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

Kind = Literal["heading", "question", "item", "row", "text", "code", "blank"]

_MD_HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
_QUESTION_PREFIX = re.compile(
    r"^\s*(?:q(?:uestion)?\s*\d*|問題?\s*\d*|问题?\s*\d*|常見問題\s*\d*)\s*[:：.．)）]\s*", re.IGNORECASE
)
_ANSWER_PREFIX = re.compile(r"^\s*(?:a(?:nswer)?\s*\d*|答案?|回答)\s*[:：.．)）]\s*", re.IGNORECASE)
_NUMBERING = re.compile(r"^\s*(?:\d{1,3}|[a-zA-Z])\s*[.)、．]\s+|^\s*[（(]\s*\d{1,3}\s*[)）]\s*|^\s*[①-⑳]\s*")
_BULLET = re.compile(r"^\s*[-*+•·●▪◦‧・→–—]\s+")
_QUESTION_END = re.compile(r"[?？][\s\"'”’)）」』]*$")
_TERMINAL = re.compile(r"[.。!！?？:：;；,，、]$")
_TABLE_RULE = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$")
_CALLOUT = re.compile(r"^\s*\[!(note|tip|important|warning|caution|info)\]\s*", re.IGNORECASE)
_IMAGE = re.compile(r"!\[[^\]]*\]\([^)]*\)")
_LINK = re.compile(r"\[([^\]]+)\]\(([^)\s]+)[^)]*\)")
_EMPHASIS = re.compile(r"\*\*|__|(?<!\w)\*(?=\S)|(?<=\S)\*(?!\w)|`|~~")
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")
_WORD = re.compile(r"[A-Za-z0-9]+")
# Short answers that stand alone on a line and must not be taken for headings.
_BARE_ANSWERS = frozenset(
    ["yes", "no", "sure", "n/a", "是", "否", "可以", "不可以", "不可", "有", "沒有", "冇"]
)


@dataclass
class Line:
    kind: Kind
    text: str
    level: int = 0
    """Heading level (1 = top); 0 for other lines."""


def estimate_tokens(text: str) -> int:
    """Rough model tokens: one per Chinese character, ~1.3 per English word."""
    return len(_HAN.findall(text)) + int(len(_WORD.findall(text)) * 1.3) + 1


def _link(match: re.Match[str]) -> str:
    text, target = match.group(1), match.group(2)
    if target.startswith(("http://", "https://")) and target.rstrip("/") not in text:
        bare = target.split("://", 1)[1].rstrip("/")
        return text if bare in text else f"{text} ({target})"
    if target.startswith("mailto:"):
        return text if "@" in text else f"{text} ({target[7:]})"
    return text  # a relative link means nothing outside the site it came from


def clean(text: str) -> str:
    """Inline Markdown taken out: emphasis, code ticks, images; links as their text (and address)."""
    text = _IMAGE.sub("", text)
    text = _LINK.sub(_link, text)
    text = _EMPHASIS.sub("", text)
    return re.sub(r"[ \t]+", " ", text).strip()


def is_question(text: str) -> bool:
    return bool(_QUESTION_END.search(text)) and estimate_tokens(text) <= 60


def _heading_like(text: str) -> bool:
    """A bare line that could title what follows: short, no end punctuation, not a number or a bare answer."""
    if not text or _TERMINAL.search(text) or text.casefold() in _BARE_ANSWERS:
        return False
    if len(_WORD.findall(text)) > 8 or len(_HAN.findall(text)) > 20 or len(text) > 60:
        return False
    first = text[0]
    return first.isupper() or bool(_HAN.match(first))


def _table_cells(line: str) -> list[str]:
    return [clean(cell) for cell in line.strip().strip("|").split("|")]


def _rows(lines: list[str]) -> Iterator[str]:
    """A Markdown table as one line per data row: "key: value" for two columns, else "header: cell; ..."."""
    header: list[str] = []
    for i, raw in enumerate(lines):
        if _TABLE_RULE.match(raw):
            continue
        cells = _table_cells(raw)
        # The header: the row over the rule line, or (a table pasted without one) a first row of three or
        # more cells over other rows.
        ruled = len(lines) > 1 and bool(_TABLE_RULE.match(lines[1]))
        if i == 0 and (ruled or (len(lines) > 1 and len(cells) >= 3)):
            header = cells
            continue
        if len(cells) == 2 and all(cells):
            yield f"{cells[0]}: {cells[1]}"
        elif header:
            yield "; ".join(f"{h}: {c}" if h else c for h, c in zip(header, cells, strict=False) if c)
        else:
            yield " | ".join(c for c in cells if c)


def read_lines(text: str) -> Iterator[Line]:
    """Classify each line. Plain-text headings (no #) are told by what follows them: see `_promote`."""
    raw_lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    i = 0
    fenced = False
    while i < len(raw_lines):
        raw = raw_lines[i]
        if raw.lstrip().startswith(("```", "~~~")):
            fenced = not fenced
            i += 1
            continue
        if fenced:  # code: commands a customer may need, never headings or questions
            i += 1
            if raw.strip():
                yield Line("code", raw.strip())
            continue
        if raw.lstrip().startswith("|") and raw.count("|") >= 2:
            table = []
            while i < len(raw_lines) and raw_lines[i].lstrip().startswith("|"):
                table.append(raw_lines[i])
                i += 1
            for row in _rows(table):
                yield Line("row", row)
            continue
        i += 1
        stripped = raw.strip()
        if stripped.startswith(">"):
            stripped = _CALLOUT.sub("", stripped.lstrip("> ").strip())
        if not stripped:
            yield Line("blank", "")
            continue
        heading = _MD_HEADING.match(stripped)
        if heading:
            title = clean(heading.group(2))
            if is_question(title):
                yield Line("question", _QUESTION_PREFIX.sub("", title), level=len(heading.group(1)))
            elif title:
                yield Line("heading", title, level=len(heading.group(1)))
            continue
        if _QUESTION_PREFIX.match(stripped):
            yield Line("question", clean(_QUESTION_PREFIX.sub("", stripped)))
            continue
        answer = _ANSWER_PREFIX.match(stripped)
        if answer:
            yield Line("text", clean(stripped[answer.end() :]))
            continue
        bullet = _BULLET.match(stripped) or _NUMBERING.match(stripped)
        body = clean(stripped[bullet.end() :] if bullet else stripped)
        if not body:
            continue
        if is_question(body) and not (bullet and _BULLET.match(stripped)):
            yield Line("question", body)
        elif bullet:
            yield Line("item", body)
        else:
            yield Line("text", body)


def _titles_what_follows(line: Line, previous: Line | None, following: Line | None, blanks: bool) -> bool:
    """Whether a bare short line is a plain-text heading: it stands over a question, another such line,
    or (after a finished sentence) a full paragraph; between blank lines any text may follow."""
    if following is None or not _heading_like(line.text):
        return False
    if previous is not None and previous.kind == "question" and not blanks:
        return False  # the answer to the question above, however short ("Monthly: HK$199")
    if following.kind in ("question", "heading"):
        return True
    if following.kind == "text" and _heading_like(following.text):
        return True
    if blanks:
        return following.kind in ("text", "item", "row")
    # After a finished sentence (a list or a table ends without one), a short line over a paragraph, a
    # lead-in ("Every plan includes:"), a list or a table titles it.
    finished = (
        previous is None
        or previous.kind in ("heading", "item", "row")
        or bool(_TERMINAL.search(previous.text))
    )
    paragraph = (
        following.kind == "text"
        and len(following.text) > 2 * len(line.text)
        and bool(_TERMINAL.search(following.text))
    )
    block = following.kind in ("item", "row") or (following.kind == "text" and following.text[-1:] in ":：")
    return finished and (paragraph or block) and estimate_tokens(line.text) <= 16


def _continues(previous: Line | None, line: Line) -> bool:
    """Whether the line goes on with the sentence above it: that one has no end punctuation and this one
    starts in lower case (English wrapped by an editor; Chinese has no case to tell)."""
    return (
        previous is not None
        and previous.kind in ("text", "item")
        and line.kind == "text"
        and line.text[:1].islower()
        and not _TERMINAL.search(previous.text)
    )


def structure(text: str) -> list[Line]:
    """The document's lines, wrapped paragraphs joined, with plain-text headings recognised (see
    `_titles_what_follows`, which judges a line by the whole paragraph under it)."""
    lines: list[Line] = []
    for line in read_lines(text):
        if _continues(lines[-1] if lines else None, line):
            # A paragraph wrapped at a fixed width: "...your booking is kept for" / "another week."
            lines[-1] = Line(lines[-1].kind, f"{lines[-1].text} {line.text}")
        else:
            lines.append(line)
    out: list[Line] = []
    for i, line in enumerate(lines):
        if line.kind == "text":
            following = next((n for n in lines[i + 1 :] if n.kind != "blank"), None)
            previous = next((p for p in reversed(out) if p.kind != "blank"), None)
            blanks = (i + 1 < len(lines) and lines[i + 1].kind == "blank") and (
                i == 0 or lines[i - 1].kind == "blank"
            )
            if _titles_what_follows(line, previous, following, blanks):
                out.append(Line("heading", line.text, level=0))
                continue
        out.append(line)
    return out
