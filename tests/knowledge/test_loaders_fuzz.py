"""Property-based fuzzing of every loader: whatever the bytes, a loader returns what it read or raises
one of the project's own errors (core/errors.py), and each example finishes within the deadline."""

from __future__ import annotations

import contextlib
import io
import zipfile
from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.errors import ParleyError
from knowledge.demo import policy_pdf, price_list_xlsx
from knowledge.ingest_job import extract_file
from knowledge.loaders.google import HttpServices, load_google_doc, load_google_sheet
from knowledge.loaders.pdf import load_pdf
from knowledge.loaders.spreadsheet import load_csv, load_xlsx, rows_to_parts
from knowledge.loaders.text import load_text
from knowledge.loaders.web import extract_html
from tests.knowledge.xlsx_parts import sheet_bytes

FUZZ = settings(
    max_examples=40,
    deadline=2000,  # ms per example: bounded time, with room for a busy machine
    database=None,  # nothing written into the repository
    suppress_health_check=[HealthCheck.too_slow],
)
PDF = policy_pdf()
XLSX = price_list_xlsx()


def loads_or_refuses(load: Callable[[bytes], Any], data: bytes) -> None:
    with contextlib.suppress(ParleyError):  # the project's own errors are the allowed failures
        load(data)


def mutated(original: bytes) -> st.SearchStrategy[bytes]:
    """The original with a random slice replaced: mostly-valid files reach deeper into a parser."""
    return st.tuples(st.integers(0, len(original)), st.integers(0, 64), st.binary(max_size=64)).map(
        lambda t: original[: t[0]] + t[2] + original[t[0] + t[1] :]
    )


def rezipped(original: bytes) -> st.SearchStrategy[bytes]:
    """An XLSX whose one member is mutated, re-zipped so the archive itself stays valid."""
    names = zipfile.ZipFile(io.BytesIO(original)).namelist()

    def build(choice: tuple[str, int, int, bytes]) -> bytes:
        name, at, cut, insert = choice
        source = zipfile.ZipFile(io.BytesIO(original))
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w") as archive:
            for member in names:
                data = source.read(member)
                if member == name:
                    at = min(at, len(data))
                    data = data[:at] + insert + data[at + cut :]
                archive.writestr(member, data)
        return out.getvalue()

    return st.tuples(
        st.sampled_from(names), st.integers(0, 4000), st.integers(0, 40), st.binary(max_size=40)
    ).map(build)


ANY_BYTES = st.binary(max_size=4096)
TEXTISH = st.text(max_size=2000).flatmap(
    lambda text: st.sampled_from(["utf-8", "utf-16", "big5hkscs", "gb18030", "shift_jis", "latin-1"]).map(
        lambda codec: text.encode(codec, errors="ignore")
    )
)


@FUZZ
@given(st.one_of(ANY_BYTES, mutated(PDF), st.binary(max_size=512).map(lambda b: b"%PDF-1.4\n" + b)))
def test_pdf(data: bytes) -> None:
    loads_or_refuses(lambda d: load_pdf(d, max_pages=50), data)


@FUZZ
@given(
    st.one_of(
        ANY_BYTES, mutated(XLSX), rezipped(XLSX), st.binary(max_size=512).map(lambda b: b"PK\x03\x04" + b)
    )
)
def test_xlsx(data: bytes) -> None:
    loads_or_refuses(load_xlsx, data)


@FUZZ
@given(st.binary(max_size=1024))
def test_xlsx_sheet_xml(body: bytes) -> None:
    loads_or_refuses(load_xlsx, sheet_bytes(b'<row><c t="inlineStr"><is><t>x</t></is></c></row>' + body))


@FUZZ
@given(st.one_of(ANY_BYTES, TEXTISH))
def test_csv(data: bytes) -> None:
    loads_or_refuses(load_csv, data)


@FUZZ
@given(st.one_of(ANY_BYTES, TEXTISH), st.booleans())
def test_text_and_markdown(data: bytes, markdown: bool) -> None:
    loads_or_refuses(lambda d: load_text(d, markdown=markdown), data)


@FUZZ
@given(st.one_of(ANY_BYTES, TEXTISH, st.text(max_size=500).map(lambda t: f"<html><body><p>{t}</p>".encode())))
def test_html(data: bytes) -> None:
    loads_or_refuses(lambda d: extract_html(d, "https://shop.example/"), data)


@FUZZ
@given(
    st.sampled_from(["pdf", "xlsx", "csv", "txt", "md"]), st.one_of(ANY_BYTES, mutated(PDF), mutated(XLSX))
)
def test_extract_file_under_any_name(file_type: str, data: bytes) -> None:
    loads_or_refuses(lambda d: extract_file(file_type, d, 50), data)


CELLS = st.one_of(st.none(), st.text(max_size=20), st.integers(), st.floats(), st.booleans())


@FUZZ
@given(st.lists(st.lists(CELLS, max_size=12), max_size=30))
def test_rows_to_parts(rows: list[list[Any]]) -> None:
    rows_to_parts("Sheet", rows)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=10),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=20,
)
DOC_KEYS = st.sampled_from(
    [
        "body",
        "content",
        "paragraph",
        "elements",
        "textRun",
        "content",
        "paragraphStyle",
        "namedStyleType",
        "table",
        "tableRows",
        "tableCells",
        "bullet",
        "tabs",
        "documentTab",
        "title",
    ]
)
SHAPED = st.recursive(
    st.none() | st.text(max_size=10) | st.integers(),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(DOC_KEYS, children, max_size=4),
    max_leaves=25,
)


class _Fake:
    """A Google API client whose every call answers `answer` (both services and their request chains)."""

    def __init__(self, answer: Any) -> None:
        self._answer = answer

    def __getattr__(self, name: str) -> Any:
        return lambda *args, **kwargs: self

    def execute(self, **kwargs: Any) -> Any:
        return self._answer


class _Services(HttpServices):
    def __init__(self, answer: Any) -> None:
        super().__init__(lambda: None)
        self._fake = _Fake(answer)

    def build(self, api: str, version: str) -> Any:
        return self._fake


@FUZZ
@given(st.one_of(JSON, SHAPED))
def test_google_doc_and_sheet(answer: Any) -> None:
    for load in (load_google_doc, load_google_sheet):
        with contextlib.suppress(ParleyError):
            load(_Services(answer), "doc-id")
