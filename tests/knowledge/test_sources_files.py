"""File sources through the HTTP API: each type, each limit, each failure reason."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from fpdf import FPDF
from openpyxl import Workbook
from pypdf import PdfReader, PdfWriter

from knowledge.demo import policy_pdf, price_list_xlsx
from tests.conftest import auth, new_tenant, search, services, upload, wait_for


def make_pdf(pages: list[str]) -> bytes:
    pdf = FPDF()
    pdf.set_font("Helvetica", size=11)
    for text in pages:
        pdf.add_page()
        if text:
            pdf.multi_cell(0, 6, text)
    return bytes(pdf.output())


def xlsx(rows: list[list[Any]], title: str = "Prices") -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = title
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def ingest(client: TestClient, key: str, filename: str, data: bytes) -> dict[str, Any]:
    return wait_for(client, key, upload(client, key, filename, data)["id"])


def test_pdf_is_indexed_and_searchable(client: TestClient) -> None:
    key = new_tenant(client)
    created = upload(client, key, "policies.pdf", policy_pdf())
    assert created["status"] == "queued" and created["kind"] == "file" and created["name"] == "policies.pdf"
    source = wait_for(client, key, created["id"])
    assert source["status"] == "ready", source
    assert source["chunks"] >= 8 and source["pages"] == 1 and source["file_type"] == "pdf"
    hits = search(client, key, "How long before my appointment can I cancel for free?")
    assert "24 hours" in hits[0]["text"]
    assert hits[0]["source"] == {"id": source["id"], "name": "policies.pdf"}


def test_xlsx_rows_are_indexed_with_their_headers(client: TestClient) -> None:
    key = new_tenant(client)
    source = ingest(client, key, "prices.xlsx", price_list_xlsx())
    assert source["status"] == "ready" and source["chunks"] == 12
    hits = search(client, key, "price of the Gold Lifting Facial")
    assert "Gold Lifting Facial" in hits[0]["text"] and "Price (HK$): 1280" in hits[0]["text"]


def test_csv_rows_are_indexed(client: TestClient) -> None:
    key = new_tenant(client)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerows(
        [["Product", "Price (HK$)", "Stock"], ["Rose Toner", "260", "12"], ["Vitamin C Serum", "540", "0"]]
    )
    source = ingest(client, key, "stock.csv", buffer.getvalue().encode())
    assert source["status"] == "ready" and source["chunks"] == 2
    hits = search(client, key, "How much is the vitamin C serum?")
    assert hits[0]["text"].endswith("Product: Vitamin C Serum; Price (HK$): 540; Stock: 0")


def test_text_and_markdown(client: TestClient) -> None:
    key = new_tenant(client)
    md = "# Shipping\n\nWe ship to Macau within 3 days.\n\n# Returns\n\nReturns are accepted within 7 days."
    assert ingest(client, key, "notes.md", md.encode())["status"] == "ready"
    txt = "我們的門市位於旺角彌敦道。\n\n營業時間為早上十時至晚上九時。".encode()
    assert ingest(client, key, "門市.txt", txt)["status"] == "ready"
    assert "Macau" in search(client, key, "Do you deliver to Macau?")[0]["text"]
    assert "旺角" in search(client, key, "門市在哪裡？")[0]["text"]


def test_big5_text_is_decoded(client: TestClient) -> None:
    key = new_tenant(client)
    source = ingest(client, key, "legacy.txt", "本店接受八達通付款。".encode("big5hkscs"))
    assert source["status"] == "ready"
    assert "八達通" in search(client, key, "可以用八達通嗎")[0]["text"]


@pytest.mark.parametrize(
    ("filename", "data", "reason"),
    [
        ("broken.pdf", b"%PDF-1.4\n1 0 obj garbage\n%%EOF", "corrupt"),
        ("image-only.pdf", make_pdf([""]), "no extractable text"),
        ("broken.xlsx", b"PK\x03\x04 not really a zip", "corrupt"),
        ("blank.txt", b"   \n\n  ", "empty"),
        ("header-less.csv", b"\n\n", "empty"),
    ],
)
def test_unreadable_files_fail_with_a_reason(
    client: TestClient, filename: str, data: bytes, reason: str
) -> None:
    key = new_tenant(client)
    source = ingest(client, key, filename, data)
    assert source["status"] == "failed"
    assert reason in source["error"], source["error"]
    assert source["chunks"] == 0


def test_encrypted_pdf_fails_with_a_reason(client: TestClient) -> None:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(make_pdf(["Secret price list: HK$100"]))))
    writer.encrypt("s3cret-password", algorithm="RC4-128")
    buffer = io.BytesIO()
    writer.write(buffer)
    key = new_tenant(client)
    source = ingest(client, key, "locked.pdf", buffer.getvalue())
    assert source["status"] == "failed" and "encrypted" in source["error"]


def test_a_failing_source_touches_no_other_source(client: TestClient) -> None:
    key = new_tenant(client)
    good = ingest(client, key, "policies.pdf", policy_pdf())
    bad = ingest(client, key, "broken.pdf", b"%PDF-1.4 garbage")
    assert bad["status"] == "failed"
    assert client.get(f"/v1/knowledge/sources/{good['id']}", headers=auth(key)).json()["status"] == "ready"
    assert "24 hours" in search(client, key, "cancel appointment free of charge")[0]["text"]


def test_empty_upload_is_a_422(client: TestClient) -> None:
    key = new_tenant(client)
    response = client.post("/v1/knowledge/sources", files={"file": ("empty.txt", b"")}, headers=auth(key))
    assert response.status_code == 422 and "empty" in response.json()["error"]["message"]


def test_unsupported_type_is_a_415_listing_the_supported_ones(client: TestClient) -> None:
    key = new_tenant(client)
    response = client.post("/v1/knowledge/sources", files={"file": ("deck.pptx", b"PK..")}, headers=auth(key))
    assert response.status_code == 415
    assert ".pptx" in response.json()["error"]["message"] and ".pdf" in response.json()["error"]["message"]


def test_multipart_without_file_and_other_media_types(client: TestClient) -> None:
    key = new_tenant(client)
    no_file = client.post("/v1/knowledge/sources", files={"document": ("a.txt", b"x")}, headers=auth(key))
    assert no_file.status_code == 422 and "`file`" in no_file.json()["error"]["message"]
    plain = client.post(
        "/v1/knowledge/sources", content=b"hello", headers={**auth(key), "Content-Type": "text/plain"}
    )
    assert plain.status_code == 415


def test_source_count_limit(app_factory: Callable[..., Any]) -> None:
    with TestClient(app_factory(max_sources=2, worker=False)) as client:
        key = new_tenant(client)
        upload(client, key, "a.txt", b"alpha")
        upload(client, key, "b.txt", b"beta")
        response = client.post(
            "/v1/knowledge/sources", files={"file": ("c.txt", b"gamma")}, headers=auth(key)
        )
        assert response.status_code == 409
        assert response.json()["error"]["code"] == "source_limit"
        assert "at most 2 knowledge sources" in response.json()["error"]["message"]
        assert len(client.get("/v1/knowledge/sources", headers=auth(key)).json()["sources"]) == 2


def test_total_size_limit(app_factory: Callable[..., Any]) -> None:
    with TestClient(app_factory(max_total_bytes=1000, worker=False)) as client:
        key = new_tenant(client)
        upload(client, key, "a.txt", b"a" * 600)
        response = client.post(
            "/v1/knowledge/sources", files={"file": ("b.txt", b"b" * 600)}, headers=auth(key)
        )
        assert response.status_code == 413
        assert response.json()["error"]["code"] == "size_limit"
        assert "size limit" in response.json()["error"]["message"]
        # Another tenant has its own allowance.
        other = new_tenant(client, "Other")
        upload(client, other, "b.txt", b"b" * 600)


def test_page_limit(app_factory: Callable[..., Any]) -> None:
    with TestClient(app_factory(max_pages_per_file=3, worker=False)) as client:
        key = new_tenant(client)
        response = client.post(
            "/v1/knowledge/sources", files={"file": ("long.pdf", make_pdf(["page"] * 4))}, headers=auth(key)
        )
        assert response.status_code == 413
        assert response.json()["error"]["code"] == "page_limit"
        assert (
            "4 pages" in response.json()["error"]["message"]
            and "at most 3" in response.json()["error"]["message"]
        )
        upload(client, key, "short.pdf", make_pdf(["page"] * 3))


def test_default_limits_are_the_products_promise(client: TestClient) -> None:
    settings = services(client).settings
    assert (settings.max_sources, settings.max_total_bytes, settings.max_pages_per_file) == (
        10,
        20 * 1024**2,
        1000,
    )


def test_unknown_source_is_a_404(client: TestClient) -> None:
    key = new_tenant(client)
    response = client.get("/v1/knowledge/sources/nope", headers=auth(key))
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"
