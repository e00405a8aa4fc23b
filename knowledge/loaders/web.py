"""Web pages: an SSRF-safe fetch with httpx and main-text extraction with trafilatura.

Every hop (the first URL and each redirect) is resolved and refused if any address is private,
loopback, link-local, multicast or reserved, including IPv6 forms that carry such an IPv4 address
(mapped, compatible, 6to4, NAT64) and Teredo; the request then goes to the address that was
checked (the Host header and TLS SNI keep the name), so DNS rebinding between check and connect
cannot redirect it to an internal service.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import httpx

from knowledge.loaders import Extracted, Part, UnreadableSource

Resolver = Callable[[str, int], list[str]]
MAX_REDIRECTS = 5
USER_AGENT = "ParleyBot/0.1 (+knowledge ingestion)"


class UnsafeUrl(UnreadableSource):
    code = "unsafe_url"


def system_resolver(host: str, port: int) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise UnreadableSource(f"the host {host!r} could not be resolved") from exc
    return sorted({str(info[4][0]) for info in infos})


NAT64 = ipaddress.ip_network("64:ff9b::/96")
# Refused whatever they carry: Teredo tunnels to an obfuscated client address (no web server's), and
# local-use NAT64 (RFC 8215) places its IPv4 address where the operator chose, so it cannot be read.
REFUSED_V6 = (ipaddress.ip_network("2001::/32"), ipaddress.ip_network("64:ff9b:1::/48"))
IPV4_TRANSLATED = ipaddress.ip_network("::ffff:0:0:0/96")  # RFC 2765's form, not the mapped ::ffff:0:0/96


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 form carries and a router or the kernel would reach instead: IPv4-mapped
    (::ffff:a.b.c.d), IPv4-compatible (::a.b.c.d), IPv4-translated, 6to4 (2002:AABB:CCDD::) and NAT64
    (64:ff9b::a.b.c.d). `is_global` judges only the IPv6 prefix, so
    http://[2002:7f00:1::]/ (127.0.0.1 in 6to4 form) passed as a public address."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    packed = ip.packed
    if ip in IPV4_TRANSLATED or ip in NAT64:
        return ipaddress.IPv4Address(packed[-4:])
    if packed[:12] == bytes(12) and int(ip) > 1:  # IPv4-compatible; :: and ::1 are judged as IPv6
        return ipaddress.IPv4Address(packed[-4:])
    return None


def _is_public(address: str) -> bool:
    ip: ipaddress.IPv4Address | ipaddress.IPv6Address = ipaddress.ip_address(address.split("%")[0])
    if isinstance(ip, ipaddress.IPv6Address):
        if any(ip in net for net in REFUSED_V6):
            return False
        embedded = _embedded_ipv4(ip)
        if embedded is not None:
            ip = embedded
    return ip.is_global and not (ip.is_multicast or ip.is_reserved or ip.is_link_local or ip.is_loopback)


@dataclass(frozen=True)
class Target:
    url: str
    host: str
    address: str


def check_url(url: str, resolver: Resolver = system_resolver) -> Target:
    """Validate scheme and host and resolve to a public address, or raise UnsafeUrl/UnreadableSource."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https"):
        raise UnsafeUrl("only http:// and https:// URLs can be indexed")
    if not parts.hostname:
        raise UnsafeUrl("the URL has no host name")
    if parts.username or parts.password:
        raise UnsafeUrl("URLs with embedded credentials are refused")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    host = parts.hostname
    try:
        addresses = [str(ipaddress.ip_address(host))]
    except ValueError:
        addresses = resolver(host, port)
    if not addresses:
        raise UnreadableSource(f"the host {host!r} could not be resolved")
    for address in addresses:
        if not _is_public(address):
            raise UnsafeUrl(
                f"the URL's host {host!r} resolves to a private, loopback or link-local address ({address}); refused"
            )
    return Target(url=url.strip(), host=host, address=addresses[0])


def _pinned_request(client: httpx.Client, target: Target) -> httpx.Request:
    parts = urlsplit(target.url)
    literal = f"[{target.address}]" if ":" in target.address else target.address
    netloc = literal + (f":{parts.port}" if parts.port else "")
    pinned = parts._replace(netloc=netloc).geturl()
    host_header = parts.hostname + (f":{parts.port}" if parts.port else "") if parts.hostname else ""
    return client.build_request(
        "GET",
        pinned,
        headers={
            "Host": host_header,
            "User-Agent": USER_AGENT,
            "Accept": "text/html,text/plain,application/pdf,*/*",
        },
        extensions={"sni_hostname": target.host},
    )


def fetch(
    url: str,
    *,
    max_bytes: int,
    timeout: float,
    resolver: Resolver = system_resolver,
    transport: httpx.BaseTransport | None = None,
) -> tuple[bytes, str, str]:
    """GET a URL safely; returns (body, content type, final URL)."""
    with httpx.Client(transport=transport, timeout=timeout, follow_redirects=False) as client:
        current = url
        for _ in range(MAX_REDIRECTS + 1):
            target = check_url(current, resolver)
            try:
                response = client.send(_pinned_request(client, target), stream=True)
            except httpx.TimeoutException as exc:
                raise UnreadableSource(f"the URL did not answer within {timeout:g} s") from exc
            except httpx.HTTPError as exc:
                raise UnreadableSource(f"the URL could not be fetched ({type(exc).__name__})") from exc
            try:
                if response.is_redirect and "location" in response.headers:
                    current = urljoin(current, response.headers["location"])
                    continue
                if response.status_code >= 400:
                    raise UnreadableSource(f"the URL answered HTTP {response.status_code}")
                body = bytearray()
                for piece in response.iter_bytes():
                    body.extend(piece)
                    if len(body) > max_bytes:
                        raise UnreadableSource(
                            f"size limit: the page is larger than the {max_bytes} bytes left in the knowledge limit"
                        )
                content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
                return bytes(body), content_type, current
            except httpx.HTTPError as exc:
                raise UnreadableSource(f"the URL could not be read ({type(exc).__name__})") from exc
            finally:
                response.close()
        raise UnreadableSource(f"the URL redirected more than {MAX_REDIRECTS} times")


def extract_html(html: bytes, url: str) -> Extracted:
    import trafilatura

    text = trafilatura.extract(
        html,
        url=url,
        output_format="markdown",
        include_tables=True,
        include_comments=False,
        favor_recall=True,
    )
    if not text or not text.strip():
        raise UnreadableSource("no main text could be extracted from the page")
    metadata = trafilatura.extract_metadata(html)
    title = metadata.title if metadata is not None and metadata.title else None
    return Extracted(parts=[Part(text=text)], title=title)
