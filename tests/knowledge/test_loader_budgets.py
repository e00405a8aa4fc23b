"""Spreadsheets read within a per-file budget: rows and cells count whatever they hold, declared
dimensions are capped before any row is read, and a file over budget fails with the limit named."""

from __future__ import annotations

import io
import tracemalloc

import pytest
from fastapi.testclient import TestClient

from knowledge.demo import price_list_xlsx
from knowledge.loaders import UnreadableSource
from knowledge.loaders.budget import MAX_CELLS, MAX_COLUMNS, MAX_ROWS, Budget, OverBudget
from knowledge.loaders.spreadsheet import load_csv, load_xlsx, rows_to_parts
from knowledge.loaders.xlsx import MAX_UNPACKED_BYTES, read_xlsx
from tests.conftest import auth, new_tenant, search, upload, wait_for
from tests.knowledge.xlsx_parts import (
    MAIN,
    empty_rows,
    sheet_bytes,
    sheet_xml,
    text_row,
    wide_declared,
    workbook_with,
)


def ingest(client: TestClient, key: str, filename: str, data: bytes) -> dict:
    return wait_for(client, key, upload(client, key, filename, data)["id"])


# --- through the HTTP upload API ------------------------------------------------------------------


def test_empty_rows_count_toward_the_row_limit(client: TestClient) -> None:
    key = new_tenant(client)
    source = ingest(client, key, "bomb.xlsx", empty_rows(MAX_ROWS + 10))
    assert source["status"] == "failed" and source["chunks"] == 0
    assert "row limit" in source["error"] and "empty rows count too" in source["error"], source["error"]
    assert str(MAX_ROWS) in source["error"]


def test_a_sheet_declaring_16384_columns_is_refused_before_reading(client: TestClient) -> None:
    key = new_tenant(client)
    source = ingest(client, key, "wide.xlsx", wide_declared())
    assert source["status"] == "failed"
    assert "column limit" in source["error"] and "16384 columns" in source["error"], source["error"]
    assert f"{MAX_COLUMNS} columns" in source["error"]


def test_an_over_budget_replacement_keeps_the_indexed_version(client: TestClient) -> None:
    key = new_tenant(client)
    good = ingest(client, key, "prices.xlsx", price_list_xlsx())
    assert good["status"] == "ready"
    response = client.put(
        f"/v1/knowledge/sources/{good['id']}",
        files={"file": ("prices.xlsx", empty_rows(MAX_ROWS + 1))},
        headers=auth(key),
    )
    assert response.status_code == 202
    failed = wait_for(client, key, good["id"])
    assert failed["status"] == "failed" and "row limit" in failed["error"]
    assert "previous version" in failed["error"] and failed["chunks"] == good["chunks"]
    assert "Gold Lifting Facial" in search(client, key, "price of the Gold Lifting Facial")[0]["text"]


def test_blank_csv_lines_count_toward_the_row_limit(client: TestClient) -> None:
    key = new_tenant(client)
    source = ingest(client, key, "blank.csv", b"Item,Price\n" + b",\n" * (MAX_ROWS + 1))
    assert source["status"] == "failed" and "row limit" in source["error"], source["error"]


def test_a_normal_sheet_still_loads(client: TestClient) -> None:
    key = new_tenant(client)
    body = text_row(1, "Item", "Price") + b"<row></row>" * 1000 + text_row(1002, "Rose Toner", "260")
    source = ingest(client, key, "toner.xlsx", sheet_bytes(body, "A1:B1002"))
    assert source["status"] == "ready" and source["chunks"] == 1, source
    assert "Price: 260" in search(client, key, "rose toner price")[0]["text"]


# --- the loaders themselves -----------------------------------------------------------------------


def test_the_bomb_is_refused_within_a_small_memory_bound() -> None:
    bomb = empty_rows(5_000_000)  # 55 MB of XML in a 110 KB file
    tracemalloc.start()
    try:
        with pytest.raises(OverBudget, match="row limit"):
            load_xlsx(bomb)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 20 * 1024 * 1024, peak


def test_unpacked_size_is_capped_before_parsing() -> None:
    with pytest.raises(OverBudget, match="unpacks to"):
        load_xlsx(empty_rows(MAX_UNPACKED_BYTES // len(b"<row></row>") + 1))


def test_a_cell_past_the_column_limit_is_refused_without_padding() -> None:
    far = b'<row r="1"><c r="XFD1" t="inlineStr"><is><t>x</t></is></c></row>'
    with pytest.raises(OverBudget, match="column 16384"):
        load_xlsx(sheet_bytes(far))


def test_a_row_of_more_cells_than_columns_is_refused() -> None:
    row = b"<row>" + b"<c/>" * (MAX_COLUMNS + 1) + b"</row>"
    with pytest.raises(OverBudget, match="column limit"):
        load_xlsx(sheet_bytes(row))


def test_empty_cells_count_toward_the_cell_limit() -> None:
    budget = Budget(max_cells=50)
    rows = [[None] * 10 for _ in range(6)]
    with pytest.raises(OverBudget, match="cell limit"):
        rows_to_parts("Sheet", rows, budget)
    assert MAX_CELLS >= 1_000_000


def test_shared_strings_are_charged_too() -> None:
    strings = f'<sst xmlns="{MAIN}">'.encode() + b"<si><t>x</t></si><si/>" * 100 + b"</sst>"
    data = workbook_with({"xl/sharedStrings.xml": strings})
    with pytest.raises(OverBudget, match="cell limit"):
        for _, rows in read_xlsx(data, Budget(max_cells=150)):
            list(rows)


def test_characters_are_charged() -> None:
    budget = Budget(max_characters=100)
    with pytest.raises(OverBudget, match="text limit"):
        rows_to_parts("Sheet", [["a" * 60], ["b" * 60]], budget)


def test_values_keep_their_types_and_headers() -> None:
    extracted = load_xlsx(price_list_xlsx())
    assert len(extracted.parts) == 12
    assert "Price (HK$): 1280" in " ".join(p.text for p in extracted.parts)


def test_shared_strings_and_rich_text_are_read() -> None:
    strings = (
        f'<sst xmlns="{MAIN}">'.encode()
        + b"<si><t>Item</t></si><si><r><t>Rose </t></r><r><t>Toner</t></r><rPh><t>ro-zu</t></rPh></si>"
        + b"</sst>"
    )
    body = b'<row r="1"><c r="A1" t="s"><v>0</v></c></row><row r="2"><c r="A2" t="s"><v>1</v></c></row>'
    data = workbook_with({"xl/sharedStrings.xml": strings, "xl/worksheets/sheet1.xml": sheet_xml(body)})
    assert [p.text for p in load_xlsx(data).parts] == ["Item: Rose Toner"]


def test_a_bad_shared_string_index_is_a_clear_error() -> None:
    body = b'<row r="1"><c r="A1" t="s"><v>99</v></c></row>'
    with pytest.raises(UnreadableSource, match="corrupt"):
        load_xlsx(sheet_bytes(body))


def test_csv_rows_are_charged() -> None:
    with pytest.raises(OverBudget, match="column limit"):
        load_csv(b",".join([b"x"] * (MAX_COLUMNS + 1)) + b"\n")
    assert load_csv(io.BytesIO(b"Item,Price\nRose Toner,260\n").read()).parts[0].text == (
        "Item: Rose Toner; Price: 260"
    )
