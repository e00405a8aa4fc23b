"""The project's error types. Domain code raises these; routes map them to HTTP responses."""

from __future__ import annotations


class ParleyError(Exception):
    """Base class: `code` is machine-readable, the message is for people."""

    code = "error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code


class NotFound(ParleyError):
    code = "not_found"


class InvalidInput(ParleyError):
    code = "invalid_input"


class LimitExceeded(ParleyError):
    code = "limit_exceeded"


class Unauthorized(ParleyError):
    code = "unauthorized"


class Forbidden(ParleyError):
    code = "forbidden"


class Conflict(ParleyError):
    code = "conflict"


class RateLimited(ParleyError):
    """Too many attempts; `retry_after` says in how many seconds the caller may try again."""

    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: int, code: str | None = None) -> None:
        super().__init__(message, code=code)
        self.retry_after = retry_after
