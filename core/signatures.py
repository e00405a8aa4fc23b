"""Comparing a secret or signature a caller sent with the one expected, in constant time.

`hmac.compare_digest` raises TypeError when either str holds a non-ASCII character, so a forged header
with one such byte used to answer 500 instead of 401. Everything that checks a caller's signature, token
or key goes through `matches`.
"""

from __future__ import annotations

import hmac


def _bytes(value: str | bytes) -> bytes:
    # surrogatepass: a lone surrogate (which JSON can carry) still becomes bytes, and simply never matches
    return value if isinstance(value, bytes) else value.encode("utf-8", "surrogatepass")


def matches(given: str | bytes | None, expected: str | bytes) -> bool:
    """Whether what the caller sent equals what was expected; False for nothing sent or an empty secret."""
    if not given or not expected:
        return False
    return hmac.compare_digest(_bytes(given), _bytes(expected))
