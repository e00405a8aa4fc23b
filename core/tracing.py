"""Optional OpenTelemetry traces: a span per HTTP request and per agent turn, exported over OTLP/HTTP when
OTEL_EXPORTER_OTLP_ENDPOINT is set (config.py reads it). Unset, nothing of OpenTelemetry is imported and
every span here is a no-op. Install the `otel` extra (`pip install 'parley[otel]'`) to use it.

Each app instance owns its tracer provider (not OpenTelemetry's process-global one), so an app that
stops flushes and shuts down its own exporter. A request carrying a W3C `traceparent` header continues
the caller's trace; an agent turn run inside a request is a child of the request's span.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from starlette.types import Scope

SERVICE_NAME = "parley"


class RequestSpan:
    def __init__(self, span: Any) -> None:
        self._span = span

    def finish(self, route: str, status: int) -> None:
        self._span.update_name(f"{self._span.name} {route}")
        self._span.set_attribute("http.route", route)
        self._span.set_attribute("http.response.status_code", status)
        if status >= 500:
            from opentelemetry.trace import Status, StatusCode

            self._span.set_status(Status(StatusCode.ERROR))


class Tracing:
    """`Tracing()` traces nothing; `Tracing.from_settings` exports when an endpoint is configured."""

    def __init__(self, provider: Any = None) -> None:
        self._provider = provider
        self._tracer = provider.get_tracer("parley") if provider is not None else None

    @property
    def enabled(self) -> bool:
        return self._tracer is not None

    @classmethod
    def from_settings(cls, endpoint: str | None, service_name: str = SERVICE_NAME) -> Tracing:
        if not endpoint:
            return cls()
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
        exporter = OTLPSpanExporter(endpoint=endpoint.rstrip("/") + "/v1/traces")
        provider.add_span_processor(BatchSpanProcessor(exporter))
        return cls(provider)

    @contextlib.contextmanager
    def request(self, scope: Scope) -> Iterator[RequestSpan | None]:
        if self._tracer is None:
            yield None
            return
        from opentelemetry.propagate import extract
        from opentelemetry.trace import SpanKind

        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope.get("headers", [])}
        attributes = {"http.request.method": scope["method"], "url.path": scope["path"]}
        with self._tracer.start_as_current_span(
            scope["method"], context=extract(headers), kind=SpanKind.SERVER, attributes=attributes
        ) as span:
            yield RequestSpan(span)

    @contextlib.contextmanager
    def span(self, name: str, **attributes: str | int | float | bool) -> Iterator[Any]:
        """A span for a piece of work (an agent turn); yields the span (None when tracing is off)."""
        if self._tracer is None:
            yield None
            return
        with self._tracer.start_as_current_span(name, attributes=attributes) as span:
            yield span

    def shutdown(self) -> None:
        """Flush what is buffered and stop the exporter (the app stopping)."""
        if self._provider is not None:
            self._provider.shutdown()
