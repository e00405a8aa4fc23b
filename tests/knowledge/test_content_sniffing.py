"""Content sniffed against the file's name: loadable content is loaded as what it is, the rest refused."""

from __future__ import annotations

import io
import zipfile

import httpx
import pytest
from fastapi.testclient import TestClient

from knowledge.demo import policy_pdf, price_list_xlsx
from knowledge.loaders.sniff import ContentMismatch, real_type, sniff
from knowledge.sources import Fetchers
from tests.conftest import auth, new_tenant, search, upload, wait_for

PAGE = b"""<!DOCTYPE html><html><head><title>Opening hours</title></head><body><article>
<h1>Opening hours</h1><p>The Mong Kok shop opens from ten in the morning until nine at night, every day
of the week including public holidays.</p></article></body></html>"""


def docx() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<w:document/>")
    return buffer.getvalue()


def handler(request: httpx.Request) -> httpx.Response:
    if request.url.path == "/policies.txt":  # a server that labels a PDF as text
        return httpx.Response(200, content=policy_pdf(), headers={"content-type": "text/plain"})
    return httpx.Response(404)


@pytest.fixture
def fetchers() -> Fetchers:
    return Fetchers(resolver=lambda host, port: ["93.184.216.34"], transport=httpx.MockTransport(handler))


def ingest(client: TestClient, key: str, filename: str, data: bytes) -> dict:
    return wait_for(client, key, upload(client, key, filename, data)["id"])


def test_a_pdf_named_txt_is_loaded_as_a_pdf(client: TestClient) -> None:
    key = new_tenant(client)
    created = upload(client, key, "policies.txt", policy_pdf())
    assert created["file_type"] == "pdf" and created["name"] == "policies.txt"
    source = wait_for(client, key, created["id"])
    assert source["status"] == "ready" and source["pages"] == 1, source
    hits = search(client, key, "How long before my appointment can I cancel for free?")
    assert "24 hours" in hits[0]["text"] and "%PDF" not in hits[0]["text"] and " obj" not in hits[0]["text"]


def test_a_workbook_named_csv_and_a_page_named_txt_are_loaded_as_what_they_are(
    client: TestClient,
) -> None:
    key = new_tenant(client)
    sheet = ingest(client, key, "prices.csv", price_list_xlsx())
    assert sheet["status"] == "ready" and sheet["file_type"] == "xlsx" and sheet["chunks"] == 12
    page = ingest(client, key, "hours.txt", PAGE)
    assert page["status"] == "ready" and page["file_type"] == "html", page
    hits = search(client, key, "When does the Mong Kok shop open?")
    assert "nine at night" in hits[0]["text"] and "<p>" not in hits[0]["text"]


@pytest.mark.parametrize(
    ("filename", "data", "fragments"),
    [
        ("notes.txt", b"\x00\x01\x02\x03" * 50, ["binary data", "text"]),
        ("notes.md", docx(), ["Word document", "Markdown"]),
        ("photo.txt", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, ["an image"]),
        ("renamed.pdf", b"this is not a pdf at all", ["plain text", "not a PDF"]),
        ("prices.xlsx", b"Item,Price\nRose Toner,260\n", ["plain text", "not an Excel workbook"]),
    ],
)
def test_content_no_loader_reads_is_refused_with_both_names(
    client: TestClient, filename: str, data: bytes, fragments: list[str]
) -> None:
    key = new_tenant(client)
    response = client.post("/v1/knowledge/sources", files={"file": (filename, data)}, headers=auth(key))
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "content_mismatch" and filename in error["message"]
    assert all(f in error["message"] for f in fragments), error["message"]
    assert client.get("/v1/knowledge/sources", headers=auth(key)).json()["sources"] == []


def test_a_refused_replacement_leaves_the_source_as_it_was(client: TestClient) -> None:
    key = new_tenant(client)
    source = ingest(client, key, "hours.md", b"# Hours\n\nOpen from 10am to 9pm every day.")
    response = client.put(
        f"/v1/knowledge/sources/{source['id']}",
        files={"file": ("hours.md", b"\x00\x01binary" * 40)},
        headers=auth(key),
    )
    assert response.status_code == 422 and response.json()["error"]["code"] == "content_mismatch"
    after = client.get(f"/v1/knowledge/sources/{source['id']}", headers=auth(key)).json()
    assert after == source
    assert "10am to 9pm" in search(client, key, "opening hours")[0]["text"]


def test_a_url_labelled_text_that_serves_a_pdf_is_read_as_a_pdf(client: TestClient) -> None:
    key = new_tenant(client)
    created = client.post(
        "/v1/knowledge/sources", json={"url": "https://shop.example/policies.txt"}, headers=auth(key)
    )
    source = wait_for(client, key, created.json()["id"])
    assert source["status"] == "ready" and source["pages"] == 1, source


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (b"%PDF-1.7\n", "pdf"),
        (b"\r\n  junk before the header %PDF-1.4", "pdf"),
        (b"\xef\xbb\xbf<!DOCTYPE html><p>x", "html"),
        (b"  <HTML><body>x", "html"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 8, "ole"),
        (b"\x1f\x8b\x08\x00", "archive"),
        (b"\xff\xd8\xff\xe0", "image"),
        (b"PK\x03\x04 broken", "zip"),
        (b"\xff\xfeH\x00i\x00", "text"),
        ("營業時間：上午十時至晚上九時".encode("big5hkscs"), "text"),
        (b"MZ Beauty price list", "text"),
        (b"\x01\x02\x03\x04\x05\x06 mostly control bytes \x07\x08\x0b\x0e\x0f\x10\x11\x12", "binary"),
    ],
)
def test_sniff(data: bytes, kind: str) -> None:
    assert sniff(data) == kind


def test_real_type() -> None:
    assert real_type("txt", policy_pdf()) == "pdf"
    assert real_type("pdf", price_list_xlsx()) == "xlsx"
    assert real_type("csv", b"a,b\n1,2\n") == "csv"
    assert real_type("xlsx", b"PK\x03\x04 broken") == "xlsx"  # the XLSX loader names the damage
    with pytest.raises(ContentMismatch, match="holds a Word document"):
        real_type("txt", docx())
