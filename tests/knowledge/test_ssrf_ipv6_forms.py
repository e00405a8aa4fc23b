"""The SSRF guard sees through IPv6 forms that carry an IPv4 address (6to4, NAT64, mapped, compatible)
and refuses Teredo, whether the form is written in the URL or returned by DNS."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from knowledge.loaders.web import UnsafeUrl, check_url
from knowledge.sources import Fetchers
from tests.conftest import auth, new_tenant

REFUSED = {
    "6to4 of 127.0.0.1": "2002:7f00:1::",
    "6to4 of 10.0.0.1": "2002:a00:1::1",
    "6to4 of 169.254.169.254": "2002:a9fe:a9fe::",
    "Teredo": "2001:0:4136:e378:8000:63bf:3fff:fdd2",
    "Teredo carrying a public client": "2001:0:5db8:d822::1",
    "NAT64 of 127.0.0.1": "64:ff9b::7f00:1",
    "NAT64 of 192.168.1.1": "64:ff9b::c0a8:101",
    "NAT64 of 169.254.169.254": "64:ff9b::a9fe:a9fe",
    "local-use NAT64": "64:ff9b:1::a00:1",
    "IPv4-mapped 127.0.0.1": "::ffff:127.0.0.1",
    "IPv4-mapped 10.1.2.3": "::ffff:a01:203",
    "IPv4-mapped 169.254.169.254": "::ffff:169.254.169.254",
    "IPv4-compatible 127.0.0.1": "::127.0.0.1",
    "IPv4-compatible 10.0.0.1": "::a00:1",
    "IPv4-translated 127.0.0.1": "::ffff:0:7f00:1",
}
ALLOWED = {
    "6to4 of a public address": "2002:5db8:d822::1",
    "NAT64 of a public address": "64:ff9b::5db8:d822",
    "a public IPv6 address": "2606:4700:4700::1111",
}
DNS = {f"h{i}.example": [address] for i, address in enumerate(REFUSED.values())}
# The guard refuses a URL before anything is stored: which database it is makes no difference here.
SQLITE_ONLY = pytest.mark.parametrize("database", ["sqlite"], indirect=True)


@pytest.fixture
def fetchers() -> Fetchers:
    return Fetchers(resolver=lambda host, port: DNS.get(host, []))


@SQLITE_ONLY
@pytest.mark.parametrize("address", REFUSED.values(), ids=REFUSED.keys())
def test_literal_forms_are_refused_through_the_api(client: TestClient, address: str) -> None:
    key = new_tenant(client)
    response = client.post("/v1/knowledge/sources", json={"url": f"http://[{address}]/"}, headers=auth(key))
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "unsafe_url"
    assert client.get("/v1/knowledge/sources", headers=auth(key)).json()["sources"] == []


@SQLITE_ONLY
def test_names_resolving_to_these_forms_are_refused_through_the_api(client: TestClient) -> None:
    key = new_tenant(client)
    for host, addresses in DNS.items():
        response = client.post(
            "/v1/knowledge/sources", json={"url": f"https://{host}/menu"}, headers=auth(key)
        )
        assert response.status_code == 422, (host, addresses, response.text)
        assert addresses[0] in response.json()["error"]["message"]


@pytest.mark.parametrize("address", ALLOWED.values(), ids=ALLOWED.keys())
def test_public_addresses_in_these_forms_still_pass(address: str) -> None:
    assert check_url(f"http://[{address}]/").address == address


@pytest.mark.parametrize("address", REFUSED.values(), ids=REFUSED.keys())
def test_check_url_refuses(address: str) -> None:
    with pytest.raises(UnsafeUrl):
        check_url(f"http://[{address}]:8080/admin")
