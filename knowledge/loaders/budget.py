"""A per-file parsing budget: rows, cells, columns and characters, charged while a file is read.

A spreadsheet costs memory and time per row and per cell whether or not the cell holds anything
(a 428 KB XLSX of 20 million empty rows once took the server from 435 MB to 2.3 GB), so every
row and cell is charged as it is met, before it is kept, and reading stops at the first limit
with a reason that names it. The limits are far above any price list or FAQ sheet.
"""

from __future__ import annotations

from dataclasses import dataclass

from knowledge.loaders import UnreadableSource

MAX_ROWS = 100_000
MAX_CELLS = 1_000_000
MAX_COLUMNS = 500
MAX_CHARACTERS = 10_000_000


class OverBudget(UnreadableSource):
    code = "over_budget"


@dataclass
class Budget:
    """What one file may cost; `charge_*` raise OverBudget the moment a limit is passed."""

    what: str = "the spreadsheet"
    max_rows: int = MAX_ROWS
    max_cells: int = MAX_CELLS
    max_columns: int = MAX_COLUMNS
    max_characters: int = MAX_CHARACTERS
    rows: int = 0
    cells: int = 0
    characters: int = 0

    def check_dimensions(self, sheet: str, rows: int, columns: int) -> None:
        """A sheet's declared size, refused before any row is read."""
        if columns > self.max_columns:
            raise OverBudget(
                f"column limit: sheet {sheet!r} declares {columns} columns; "
                f"the limit is {self.max_columns} columns per sheet"
            )
        if rows > self.max_rows:
            raise OverBudget(
                f"row limit: sheet {sheet!r} declares {rows} rows; the limit is {self.max_rows} rows per file"
            )

    def charge_row(self) -> None:
        self.rows += 1
        if self.rows > self.max_rows:
            raise OverBudget(
                f"row limit: {self.what} has more than {self.max_rows} rows (empty rows count too); "
                f"the limit is {self.max_rows} rows per file"
            )

    def charge_cells(self, n: int = 1) -> None:
        self.cells += n
        if self.cells > self.max_cells:
            raise OverBudget(
                f"cell limit: {self.what} has more than {self.max_cells} cells (empty cells count too); "
                f"the limit is {self.max_cells} cells per file"
            )

    def check_column(self, sheet: str, column: int) -> None:
        if column > self.max_columns:
            raise OverBudget(
                f"column limit: sheet {sheet!r} has a cell in column {column}; "
                f"the limit is {self.max_columns} columns per sheet"
            )

    def charge_characters(self, n: int) -> None:
        self.characters += n
        if self.characters > self.max_characters:
            raise OverBudget(
                f"text limit: {self.what} holds more than {self.max_characters} characters; "
                f"the limit is {self.max_characters} characters per file"
            )

    def charge_row_of(self, sheet: str, cells: list[str]) -> None:
        """A row already read (CSV, Google Sheets values): the row, its cells and their text."""
        self.charge_row()
        self.check_column(sheet, len(cells))
        self.charge_cells(len(cells))
        self.charge_characters(sum(len(c) for c in cells))
