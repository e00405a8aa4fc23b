"""Text encodings detected with charset-normalizer and shown on the source."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from knowledge.demo import policy_pdf
from knowledge.loaders import UnreadableSource
from knowledge.loaders.spreadsheet import load_csv
from knowledge.loaders.text import decode, load_text
from tests.conftest import auth, new_tenant, search, upload, wait_for

JAPANESE = "当店では八達通でのお支払いを受け付けております。営業時間は午前十時から午後九時までです。"


def ingest(client: TestClient, key: str, filename: str, data: bytes) -> dict:
    return wait_for(client, key, upload(client, key, filename, data)["id"])


def test_shift_jis_is_read_as_japanese_and_the_encoding_is_shown(client: TestClient) -> None:
    key = new_tenant(client)
    source = ingest(client, key, "お知らせ.txt", JAPANESE.encode("shift_jis"))
    assert source["status"] == "ready" and source["encoding"] == "cp932", source
    assert "八達通でのお支払い" in search(client, key, "八達通で支払えますか")[0]["text"]
    listed = client.get("/v1/knowledge/sources", headers=auth(key)).json()["sources"]
    assert [s["encoding"] for s in listed] == ["cp932"]


def test_each_text_kind_records_its_encoding(client: TestClient) -> None:
    key = new_tenant(client)
    big5 = ingest(client, key, "legacy.txt", "本店接受八達通付款。".encode("big5hkscs"))
    utf8 = ingest(client, key, "notes.md", b"# Hours\n\nOpen 10am to 9pm.")
    bom = ingest(client, key, "bom.txt", "\ufeffCafé hours: 8am".encode())
    csv = ingest(client, key, "menu.csv", "Item,Price\nCafé crème,28\n".encode("cp1252"))
    pdf = ingest(client, key, "policies.pdf", policy_pdf())
    assert [s["encoding"] for s in (big5, utf8, bom, csv, pdf)] == [
        "big5hkscs",
        "utf-8",
        "utf-8-sig",
        "cp1252",
        None,
    ]
    assert "Item: Café crème" in search(client, key, "café crème price")[0]["text"]


@pytest.mark.parametrize(
    ("text", "codec", "expected"),
    [
        ("本店接受八達通付款。", "big5hkscs", "big5hkscs"),
        ("我們的門市位於深水埗，歡迎光臨。", "big5hkscs", "big5hkscs"),
        (JAPANESE, "shift_jis", "cp932"),
        ("营业时间为早上十时至晚上九时。我们的门市位于旺角。", "gb18030", "gb18030"),
        ("Café crème à volonté, naïve façade.", "latin-1", "cp1252"),
        ("Opening hours: 10am to 9pm", "utf-16", "utf-16"),
        ("Opening hours: 10am to 9pm", "utf-8", "utf-8"),
    ],
)
def test_decode(text: str, codec: str, expected: str) -> None:
    decoded = decode(text.encode(codec))
    assert decoded.text == text and decoded.encoding == expected


def test_undetectable_or_binary_bytes_are_refused() -> None:
    with pytest.raises(UnreadableSource, match="binary"):
        decode(b"\x00\x01\x02\x03" * 50)
    with pytest.raises(UnreadableSource, match="empty"):
        decode(b"  \n")
    with pytest.raises(UnreadableSource, match="utf-16"):
        decode(b"\xff\xfe\x00")


def test_loaders_carry_the_encoding() -> None:
    assert load_text(JAPANESE.encode("shift_jis"), markdown=False).encoding == "cp932"
    assert load_csv("Item,Price\n八達通,1\n".encode("big5hkscs")).encoding == "big5hkscs"
