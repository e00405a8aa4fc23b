"""Hand-made XLSX files for loader tests: a real workbook from openpyxl with one part replaced."""

from __future__ import annotations

import io
import zipfile

from openpyxl import Workbook

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
SHARED_STRINGS_TYPE = (
    b'<Override PartName="/xl/sharedStrings.xml" '
    b'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
)


def sheet_xml(body: bytes, dimension: str | None = None) -> bytes:
    declared = b'<dimension ref="' + dimension.encode() + b'"/>' if dimension else b""
    return (
        b'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="'
        + MAIN.encode()
        + b'">'
        + declared
        + b"<sheetData>"
        + body
        + b"</sheetData></worksheet>"
    )


def text_row(number: int, *values: str) -> bytes:
    cells = b"".join(
        b'<c r="%s%d" t="inlineStr"><is><t>%s</t></is></c>' % (chr(65 + i).encode(), number, v.encode())
        for i, v in enumerate(values)
    )
    return b'<row r="%d">%s</row>' % (number, cells)


def workbook_with(parts: dict[str, bytes]) -> bytes:
    """openpyxl's one-sheet workbook with the given members replaced (or added)."""
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["Item", "Price"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    original = zipfile.ZipFile(io.BytesIO(buffer.getvalue()))
    if "xl/sharedStrings.xml" in parts:  # openpyxl writes inline strings: declare the table's part
        types = original.read("[Content_Types].xml").replace(b"</Types>", SHARED_STRINGS_TYPE + b"</Types>")
        parts = {"[Content_Types].xml": types, **parts}
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        names = [info.filename for info in original.infolist()]
        for name in names:
            archive.writestr(name, parts.get(name, original.read(name)))
        for name, data in parts.items():
            if name not in names:
                archive.writestr(name, data)
    return out.getvalue()


def sheet_bytes(body: bytes, dimension: str | None = None) -> bytes:
    return workbook_with({"xl/worksheets/sheet1.xml": sheet_xml(body, dimension)})


def empty_rows(n: int) -> bytes:
    """The memory bomb of issue 18, scaled: n empty `<row></row>` after a header row."""
    return sheet_bytes(text_row(1, "Item", "Price") + b"<row></row>" * n)


def wide_declared(columns: str = "XFD") -> bytes:
    """A tiny sheet declaring 16,384 columns (A1:XFD100) over 100 one-cell rows."""
    body = b"".join(text_row(i, "x") for i in range(1, 101))
    return sheet_bytes(body, f"A1:{columns}100")
