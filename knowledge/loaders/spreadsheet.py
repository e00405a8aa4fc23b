"""Spreadsheets (XLSX, CSV, Google Sheets values), indexed row-aware.

Each row becomes one text carrying its column headers ("Item: Deluxe Facial; Price (HK$): 880"),
so a question about one item's price finds that row, not a wall of numbers.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

from knowledge.loaders import Extracted, Part, UnreadableSource
from knowledge.loaders.text import decode_text

MAX_ROWS = 100_000


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def rows_to_parts(sheet: str, rows: Iterable[Sequence[Any]]) -> list[Part]:
    """First non-empty row is the header; every later non-empty row becomes a Part."""
    headers: list[str] | None = None
    parts: list[Part] = []
    for raw in rows:
        cells = [_cell(v) for v in raw]
        if not any(cells):
            continue
        if headers is None:
            headers = [h or f"Column {i + 1}" for i, h in enumerate(cells)]
            continue
        fields = []
        for i, value in enumerate(cells):
            if value:
                header = headers[i] if i < len(headers) else f"Column {i + 1}"
                fields.append(f"{header}: {value}")
        if fields:
            parts.append(Part(text="; ".join(fields), kind="row", title=sheet))
        if len(parts) > MAX_ROWS:
            raise UnreadableSource(f"sheet {sheet!r} has more than {MAX_ROWS} rows")
    if headers is not None and not parts:
        # A header-only sheet still says something (e.g. a one-row notice); keep it as text.
        parts.append(Part(text="; ".join(h for h in headers if h), kind="row", title=sheet))
    return parts


def load_xlsx(data: bytes) -> Extracted:
    from openpyxl import load_workbook

    if not data:
        raise UnreadableSource("the spreadsheet is empty")
    if data[:4] == b"\xd0\xcf\x11\xe0":
        raise UnreadableSource("the spreadsheet is encrypted or in the old .xls format; save it as .xlsx")
    try:
        # read_only streams rows instead of building the whole workbook in memory.
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise UnreadableSource(
            f"the spreadsheet is corrupt and cannot be read ({type(exc).__name__})"
        ) from exc
    try:
        parts: list[Part] = []
        for sheet in workbook.worksheets:
            parts.extend(rows_to_parts(sheet.title, sheet.iter_rows(values_only=True)))
    finally:
        workbook.close()
    return Extracted(parts=parts).require_text("the spreadsheet")


def load_csv(data: bytes, name: str = "CSV") -> Extracted:
    text = decode_text(data, "the CSV file")
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel
    try:
        parts = rows_to_parts(name, csv.reader(io.StringIO(text), dialect))
    except csv.Error as exc:
        raise UnreadableSource(f"the CSV file is malformed: {exc}") from exc
    return Extracted(parts=parts).require_text("the CSV file")
