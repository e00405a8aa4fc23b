"""Spreadsheets (XLSX, CSV, Google Sheets values), indexed row-aware.

Each row becomes one text carrying its column headers ("Item: Deluxe Facial; Price (HK$): 880"),
so a question about one item's price finds that row, not a wall of numbers. Every file is read
within a Budget (knowledge/loaders/budget.py): rows and cells count whatever they hold.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

from knowledge.loaders import Extracted, Part, UnreadableSource
from knowledge.loaders.budget import Budget
from knowledge.loaders.text import decode
from knowledge.loaders.xlsx import read_xlsx


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


def rows_to_parts(sheet: str, rows: Iterable[Sequence[Any]], budget: Budget | None = None) -> list[Part]:
    """First non-empty row is the header; every later non-empty row becomes a Part.

    With a budget, every row and cell is charged as it is met, empty or not (the XLSX reader charges
    its rows itself, before it builds them, and passes none)."""
    headers: list[str] | None = None
    parts: list[Part] = []
    for raw in rows:
        cells = [_cell(v) for v in raw]
        if budget is not None:
            budget.charge_row_of(sheet, cells)
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
    if headers is not None and not parts:
        # A header-only sheet still says something (e.g. a one-row notice); keep it as text.
        parts.append(Part(text="; ".join(h for h in headers if h), kind="row", title=sheet))
    return parts


def load_xlsx(data: bytes) -> Extracted:
    if not data:
        raise UnreadableSource("the spreadsheet is empty")
    if data[:4] == b"\xd0\xcf\x11\xe0":
        raise UnreadableSource("the spreadsheet is encrypted or in the old .xls format; save it as .xlsx")
    budget = Budget("the spreadsheet")
    parts: list[Part] = []
    for title, rows in read_xlsx(data, budget):
        parts.extend(rows_to_parts(title, rows))
    return Extracted(parts=parts).require_text("the spreadsheet")


def load_csv(data: bytes, name: str = "CSV") -> Extracted:
    decoded = decode(data, "the CSV file")
    text = decoded.text
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel
    try:
        parts = rows_to_parts(name, csv.reader(io.StringIO(text), dialect), Budget("the CSV file"))
    except csv.Error as exc:
        raise UnreadableSource(f"the CSV file is malformed: {exc}") from exc
    return Extracted(parts=parts, encoding=decoded.encoding).require_text("the CSV file")
