"""XLSX sheets read row by row within a Budget, so no workbook can cost more than its limits.

openpyxl's read-only mode keeps every parsed `<row>` element under the sheet's root (20 million
empty rows grew the server by 1.9 GB), pads each row to the declared width (a sheet declaring
16,384 columns paid for every one) and loads all shared strings before the first row. Here the
workbook's small parts (manifest, workbook, styles) still go through openpyxl, but sheets and
shared strings are streamed with start/end events: each row and cell is charged to the budget when
its start tag is met, before anything is kept, and each finished element is dropped from its
parent, so memory stays at one row whatever the file holds.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from typing import IO, Any

from openpyxl.reader.excel import ExcelReader
from openpyxl.styles.stylesheet import apply_stylesheet
from openpyxl.utils.cell import range_boundaries
from openpyxl.worksheet._reader import WorkSheetParser
from openpyxl.xml.constants import SHARED_STRINGS, SHEET_MAIN_NS
from openpyxl.xml.functions import iterparse

from core.errors import ParleyError
from knowledge.loaders import UnreadableSource
from knowledge.loaders.budget import MAX_COLUMNS, Budget, OverBudget

MAX_UNPACKED_BYTES = (
    100 * 1024 * 1024
)  # all XML of one workbook; zipfile stops at each member's declared size
MAX_SMALL_PART_BYTES = 8 * 1024 * 1024  # parts parsed whole (manifest, workbook, styles, relationships)
MAX_ELEMENTS = 5_000_000  # every XML element of the sheets and shared strings: bounds the time spent
MAX_ELEMENTS_PER_ROW = 20 * MAX_COLUMNS  # a cell is c + v (+ f, or is + rich-text runs)

_NS = f"{{{SHEET_MAIN_NS}}}"
ROW, CELL, DIMENSION, SI, T, RUN = (_NS + tag for tag in ("row", "c", "dimension", "si", "t", "r"))
STREAMED = ("sheet", "sharedstrings")  # member names (lower case) read by streaming, not whole


def _corrupt(exc: BaseException) -> UnreadableSource:
    return UnreadableSource(f"the spreadsheet is corrupt and cannot be read ({type(exc).__name__})")


def _check_unpacked(archive: zipfile.ZipFile) -> None:
    infos = archive.infolist()
    total = sum(info.file_size for info in infos)
    if total > MAX_UNPACKED_BYTES:
        raise OverBudget(
            f"size limit: the spreadsheet unpacks to {total // (1024 * 1024)} MB; "
            f"the limit is {MAX_UNPACKED_BYTES // (1024 * 1024)} MB unpacked per file"
        )
    for info in infos:
        name = info.filename.lower()
        if info.file_size > MAX_SMALL_PART_BYTES and not any(word in name for word in STREAMED):
            raise OverBudget(
                f"size limit: the spreadsheet's part {info.filename!r} unpacks to "
                f"{info.file_size // (1024 * 1024)} MB; the limit is {MAX_SMALL_PART_BYTES // (1024 * 1024)} MB"
            )


class _Elements:
    """Counts XML elements over the whole file and within one subtree (a row, a shared string)."""

    def __init__(self) -> None:
        self.total = 0
        self.in_subtree = 0

    def charge(self) -> None:
        self.total += 1
        self.in_subtree += 1
        if self.total > MAX_ELEMENTS:
            raise OverBudget(
                f"size limit: the spreadsheet holds more than {MAX_ELEMENTS} XML elements; "
                "save a copy with only the sheets that matter"
            )
        if self.in_subtree > MAX_ELEMENTS_PER_ROW:
            raise UnreadableSource(
                f"the spreadsheet is malformed: one row or string holds more than {MAX_ELEMENTS_PER_ROW} XML elements"
            )


def _stream(source: IO[bytes], elements: _Elements, unit_depth: int) -> Iterator[tuple[str, Any, int]]:
    """(event, element, depth) for a streamed part. `unit_depth` is where the repeating unit sits (a row
    under worksheet/sheetData is 3, a shared string under sst is 2): once a unit, or anything above it,
    has been handed out and finished it is removed from its parent, so the tree holds one unit at most."""
    parents: list[Any] = []
    for event, element in iterparse(source, events=("start", "end")):
        if event == "start":
            if len(parents) < unit_depth:
                elements.in_subtree = 0
            elements.charge()
            parents.append(element)
            yield event, element, len(parents)
            continue
        depth = len(parents)
        yield event, element, depth
        parents.pop()
        if 1 < depth <= unit_depth:
            parents[-1].clear()


def _shared_strings(archive: zipfile.ZipFile, path: str, budget: Budget, elements: _Elements) -> list[str]:
    strings: list[str] = []
    with archive.open(path) as source:
        for event, element, depth in _stream(source, elements, unit_depth=2):
            if depth != 2 or element.tag != SI:
                continue
            if event == "start":
                budget.charge_cells()  # a shared string costs what a cell does, empty or not
                continue
            # Plain text, then rich-text runs; phonetic guides (rPh) are not the cell's text.
            pieces = [child.text or "" for child in element if child.tag == T]
            pieces += [child.findtext(T) or "" for child in element if child.tag == RUN]
            text = "".join(pieces)
            budget.charge_characters(len(text))
            strings.append(text)
    return strings


def _declared_size(ref: str | None) -> tuple[int, int] | None:
    try:
        min_col, min_row, max_col, max_row = range_boundaries(ref or "")
    except (ValueError, TypeError):
        return None  # a missing or odd dimension is only a hint; the rows themselves are counted
    if None in (min_col, min_row, max_col, max_row):
        return None
    return int(max_row) - int(min_row) + 1, int(max_col) - int(min_col) + 1


def _rows(
    archive: zipfile.ZipFile,
    path: str,
    title: str,
    cells: WorkSheetParser,
    budget: Budget,
    elements: _Elements,
) -> Iterator[list[Any]]:
    """Every row of one sheet, empty ones too, as values by column (no padding past its last cell)."""
    row: dict[int, Any] = {}
    in_row = 0
    with archive.open(path) as source:
        for event, element, _ in _stream(source, elements, unit_depth=3):
            tag = element.tag
            if event == "start":
                if tag == ROW:
                    budget.charge_row()
                    row, in_row = {}, 0
                    cells.col_counter = 0
                elif tag == CELL:
                    budget.charge_cells()
                    in_row += 1
                    budget.check_column(title, in_row)
                elif tag == DIMENSION and (size := _declared_size(element.get("ref"))):
                    budget.check_dimensions(title, *size)
                continue
            if tag == CELL:
                cell = cells.parse_cell(element)
                column = int(cell["column"])
                budget.check_column(title, column)
                value = cell["value"]
                if value is not None:
                    budget.charge_characters(len(str(value)))
                    if column >= 1:
                        row[column] = value
            elif tag == ROW:
                yield [row.get(i) for i in range(1, max(row) + 1)] if row else []


def read_xlsx(data: bytes, budget: Budget) -> Iterator[tuple[str, Iterator[list[Any]]]]:
    """(sheet title, its rows) for each worksheet in order; consume each sheet's rows before the next.

    Raises UnreadableSource (OverBudget when a limit is passed) and nothing else."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except Exception as exc:
        raise _corrupt(exc) from exc
    with archive:
        try:
            _check_unpacked(archive)
            reader = ExcelReader(io.BytesIO(data), read_only=True, data_only=True, keep_links=False)
            reader.read_manifest()
            reader.read_workbook()
            workbook = reader.wb
            apply_stylesheet(reader.archive, workbook)
            elements = _Elements()
            strings_part = reader.package.find(SHARED_STRINGS)
            strings = (
                _shared_strings(archive, strings_part.PartName[1:], budget, elements) if strings_part else []
            )
            sheets = [
                (sheet.name, rel.target)
                for sheet, rel in reader.parser.find_sheets()
                if rel.target in archive.namelist() and "chartsheet" not in rel.Type
            ]
        except ParleyError:
            raise
        except Exception as exc:
            raise _corrupt(exc) from exc
        for title, path in sheets:
            cells = WorkSheetParser(
                None,
                strings,
                data_only=True,
                epoch=workbook.epoch,
                date_formats=workbook._date_formats,
                timedelta_formats=workbook._timedelta_formats,
            )
            yield title, _guarded(_rows(archive, path, title, cells, budget, elements))


def _guarded(rows: Iterator[list[Any]]) -> Iterator[list[Any]]:
    try:
        yield from rows
    except ParleyError:
        raise
    except Exception as exc:
        raise _corrupt(exc) from exc
