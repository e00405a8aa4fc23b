"""URL sources (SSRF refusal, extraction, failures) and Google Docs/Sheets through googleapiclient's HttpMock."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from googleapiclient.http import HttpMockSequence

from knowledge.demo import policy_pdf
from knowledge.loaders.google import HttpServices
from knowledge.sources import Fetchers
from tests.conftest import auth, new_tenant, search, services, wait_for

PUBLIC = {
    "shop.example": ["93.184.216.34"],
    "cdn.example": ["93.184.216.35"],
    "evil.example": ["10.0.0.7"],
    "rebind.example": ["169.254.169.254"],
    "v6local.example": ["::1"],
}

PAGE = b"""<!doctype html><html><head><title>Harbour Tea House - Menu</title></head><body>
<nav>Home | Menu | Contact | Login</nav>
<article><h1>Our menu</h1>
<p>Our signature milk tea costs HK$28 and is brewed from a blend of five Ceylon teas every morning.</p>
<p>The pineapple bun with butter costs HK$16 and comes out of the oven every hour from 7am.</p>
</article><footer>Copyright Harbour Tea House. Cookie settings.</footer></body></html>"""


def handler(request: httpx.Request) -> httpx.Response:
    host = request.headers["host"]
    path = request.url.path
    if host == "shop.example" and path == "/menu":
        return httpx.Response(200, content=PAGE, headers={"content-type": "text/html; charset=utf-8"})
    if host == "shop.example" and path == "/policies.pdf":
        return httpx.Response(200, content=policy_pdf(), headers={"content-type": "application/pdf"})
    if host == "shop.example" and path == "/old-menu":
        return httpx.Response(301, headers={"location": "https://cdn.example/menu"})
    if host == "cdn.example" and path == "/menu":
        return httpx.Response(200, content=PAGE, headers={"content-type": "text/html"})
    if host == "shop.example" and path == "/sneaky":
        return httpx.Response(302, headers={"location": "http://evil.example/admin"})
    if host == "shop.example" and path == "/video":
        return httpx.Response(200, content=b"\x00\x00", headers={"content-type": "video/mp4"})
    if host == "shop.example" and path == "/empty":
        return httpx.Response(
            200, content=b"<html><body></body></html>", headers={"content-type": "text/html"}
        )
    return httpx.Response(404)


def resolver(host: str, port: int) -> list[str]:
    return PUBLIC.get(host, ["127.0.0.1"] if host == "localhost" else [])


@pytest.fixture
def fetchers() -> Fetchers:
    return Fetchers(resolver=resolver, transport=httpx.MockTransport(handler))


def add_url(client: TestClient, key: str, url: str) -> Any:
    return client.post("/v1/knowledge/sources", json={"url": url}, headers=auth(key))


def test_url_main_text_is_extracted_and_indexed(client: TestClient) -> None:
    key = new_tenant(client)
    created = add_url(client, key, "https://shop.example/menu")
    assert created.status_code == 202 and created.json()["kind"] == "url"
    source = wait_for(client, key, created.json()["id"])
    assert source["status"] == "ready", source
    assert source["name"] == "Our menu" and source["origin"] == "https://shop.example/menu"
    hits = search(client, key, "how much is the milk tea")
    assert "HK$28" in hits[0]["text"]
    assert all("Cookie settings" not in h["text"] and "Login" not in h["text"] for h in hits)


def test_url_serving_a_pdf(client: TestClient) -> None:
    key = new_tenant(client)
    source = wait_for(client, key, add_url(client, key, "https://shop.example/policies.pdf").json()["id"])
    assert source["status"] == "ready" and source["pages"] == 1


def test_redirects_are_followed_and_each_hop_is_checked(client: TestClient) -> None:
    key = new_tenant(client)
    ok = wait_for(client, key, add_url(client, key, "https://shop.example/old-menu").json()["id"])
    assert ok["status"] == "ready"
    sneaky = wait_for(client, key, add_url(client, key, "https://shop.example/sneaky").json()["id"])
    assert sneaky["status"] == "failed" and "private" in sneaky["error"] and "evil.example" in sneaky["error"]


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000/v1/tenants",
        "http://localhost/admin",
        "http://10.1.2.3/",
        "http://192.168.0.1/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/",
        "http://[fe80::1]/",
        "http://evil.example/",
        "http://rebind.example/",
        "http://v6local.example/",
        "http://0.0.0.0/",
        "http://[::ffff:127.0.0.1]/",
    ],
)
def test_private_addresses_are_refused(client: TestClient, url: str) -> None:
    key = new_tenant(client)
    response = add_url(client, key, url)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "unsafe_url"
    assert client.get("/v1/knowledge/sources", headers=auth(key)).json()["sources"] == []


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"url": "ftp://shop.example/file"}, "http"),
        ({"url": "file:///etc/passwd"}, "http"),
        ({"url": "https://user:pw@shop.example/"}, "credentials"),
        ({}, "exactly one"),
        ({"url": "https://shop.example/", "google_doc_id": "abc"}, "exactly one"),
    ],
)
def test_bad_remote_bodies(client: TestClient, body: dict[str, Any], fragment: str) -> None:
    key = new_tenant(client)
    response = client.post("/v1/knowledge/sources", json=body, headers=auth(key))
    assert response.status_code == 422 and fragment in response.json()["error"]["message"]


@pytest.mark.parametrize(
    ("path", "reason"),
    [("/missing", "HTTP 404"), ("/video", "video/mp4"), ("/empty", "no main text")],
)
def test_url_failures_have_reasons(client: TestClient, path: str, reason: str) -> None:
    key = new_tenant(client)
    source = wait_for(client, key, add_url(client, key, f"https://shop.example{path}").json()["id"])
    assert source["status"] == "failed" and reason in source["error"]


def test_put_refetches_a_url_and_can_point_it_elsewhere(client: TestClient) -> None:
    key = new_tenant(client)
    source = wait_for(client, key, add_url(client, key, "https://shop.example/menu").json()["id"])
    again = client.put(f"/v1/knowledge/sources/{source['id']}", json={}, headers=auth(key))
    assert again.status_code == 202
    assert wait_for(client, key, source["id"])["status"] == "ready"
    moved = client.put(
        f"/v1/knowledge/sources/{source['id']}",
        json={"url": "https://shop.example/policies.pdf"},
        headers=auth(key),
    )
    assert moved.status_code == 202
    assert wait_for(client, key, source["id"])["pages"] == 1
    refused = client.put(
        f"/v1/knowledge/sources/{source['id']}", json={"url": "http://10.0.0.1/"}, headers=auth(key)
    )
    assert refused.status_code == 422
    assert client.get(f"/v1/knowledge/sources/{source['id']}", headers=auth(key)).json()["status"] == "ready"


# --- Google Docs and Sheets -------------------------------------------------------------------------

GOOGLE_DOC = {
    "documentId": "1AbCdEfGhIjKlMnOp",
    "title": "Staff handbook",
    "body": {
        "content": [
            {"sectionBreak": {"sectionStyle": {}}},
            {
                "paragraph": {
                    "elements": [{"textRun": {"content": "Uniform policy\n"}}],
                    "paragraphStyle": {"namedStyleType": "HEADING_1"},
                }
            },
            {
                "paragraph": {
                    "elements": [
                        {"textRun": {"content": "Staff wear the lotus-green uniform "}},
                        {"textRun": {"content": "from Monday to Friday.\n", "textStyle": {"bold": True}}},
                    ],
                    "paragraphStyle": {"namedStyleType": "NORMAL_TEXT"},
                }
            },
            {
                "table": {
                    "rows": 1,
                    "columns": 2,
                    "tableRows": [
                        {
                            "tableCells": [
                                {
                                    "content": [
                                        {
                                            "paragraph": {
                                                "elements": [{"textRun": {"content": "Locker deposit\n"}}]
                                            }
                                        }
                                    ]
                                },
                                {
                                    "content": [
                                        {"paragraph": {"elements": [{"textRun": {"content": "HK$150\n"}}]}}
                                    ]
                                },
                            ]
                        }
                    ],
                }
            },
        ]
    },
}

SHEET_META = {"properties": {"title": "Stock list"}, "sheets": [{"properties": {"title": "Serums"}}]}
SHEET_VALUES = {
    "spreadsheetId": "1SheetIdXyZ",
    "valueRanges": [
        {
            "range": "Serums!A1:C3",
            "majorDimension": "ROWS",
            "values": [
                ["Product", "Price (HK$)", "In stock"],
                ["Peptide Serum", "620", "yes"],
                ["Retinol Night Serum", "580", "no"],
            ],
        }
    ],
}


def google_fetchers(responses: list[tuple[dict[str, str], str]]) -> Fetchers:
    return Fetchers(google=lambda: HttpServices(lambda: HttpMockSequence(list(responses))))


def test_google_doc(client: TestClient) -> None:
    services(client).knowledge.sources.fetchers = google_fetchers(
        [({"status": "200"}, json.dumps(GOOGLE_DOC))]
    )
    key = new_tenant(client)
    created = client.post(
        "/v1/knowledge/sources", json={"google_doc_id": "1AbCdEfGhIjKlMnOp"}, headers=auth(key)
    )
    assert created.status_code == 202 and created.json()["kind"] == "google_doc"
    source = wait_for(client, key, created.json()["id"])
    assert source["status"] == "ready" and source["name"] == "Staff handbook"
    assert "lotus-green" in search(client, key, "what uniform do staff wear")[0]["text"]
    assert "HK$150" in search(client, key, "locker deposit", k=3)[0]["text"]


def test_google_sheet_rows(client: TestClient) -> None:
    services(client).knowledge.sources.fetchers = google_fetchers(
        [({"status": "200"}, json.dumps(SHEET_META)), ({"status": "200"}, json.dumps(SHEET_VALUES))]
    )
    key = new_tenant(client)
    created = client.post("/v1/knowledge/sources", json={"google_sheet_id": "1SheetIdXyZ"}, headers=auth(key))
    source = wait_for(client, key, created.json()["id"])
    assert source["status"] == "ready" and source["chunks"] == 2 and source["name"] == "Stock list"
    hit = search(client, key, "price of the retinol serum")[0]
    assert hit["text"] == "Serums\nProduct: Retinol Night Serum; Price (HK$): 580; In stock: no"


def test_google_doc_not_shared(client: TestClient) -> None:
    error = {"error": {"code": 404, "message": "Requested entity was not found.", "status": "NOT_FOUND"}}
    services(client).knowledge.sources.fetchers = google_fetchers([({"status": "404"}, json.dumps(error))])
    key = new_tenant(client)
    created = client.post("/v1/knowledge/sources", json={"google_doc_id": "missingDoc"}, headers=auth(key))
    source = wait_for(client, key, created.json()["id"])
    assert source["status"] == "failed" and "not shared with" in source["error"]


def test_google_needs_a_service_account(client: TestClient) -> None:
    key = new_tenant(client)
    response = client.post("/v1/knowledge/sources", json={"google_doc_id": "1AbC"}, headers=auth(key))
    assert (
        response.status_code == 422
        and "PARLEY_GOOGLE_SERVICE_ACCOUNT_FILE" in response.json()["error"]["message"]
    )
    bad_id = client.post("/v1/knowledge/sources", json={"google_sheet_id": "../../etc"}, headers=auth(key))
    assert bad_id.status_code == 422 and "google_sheet_id" in bad_id.json()["error"]["message"]
