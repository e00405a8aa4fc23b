"""OpenTelemetry traces, exported over OTLP/HTTP to a fake collector on loopback when the endpoint is set:
a span per request named by its route template, continuing a caller's `traceparent`, and an agent turn
span inside the chat request's span."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import auth, new_tenant, services

trace_service = pytest.importorskip("opentelemetry.proto.collector.trace.v1.trace_service_pb2")


class Collector:
    def __init__(self) -> None:
        self.spans: list[Any] = []
        received = self.spans

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers["Content-Length"]))
                request = trace_service.ExportTraceServiceRequest()
                request.ParseFromString(body)
                for resource in request.resource_spans:
                    for scope in resource.scope_spans:
                        received.extend(scope.spans)
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.end_headers()

            def log_message(self, *_: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self._server.shutdown()


@pytest.fixture
def collector() -> Iterator[Collector]:
    server = Collector()
    yield server
    server.stop()


def test_requests_and_agent_turns_are_traced(app_factory: Callable[..., Any], collector: Collector) -> None:
    caller_trace = "4bf92f3577b34da6a3ce929d0e0e4736"
    with TestClient(app_factory(otel_endpoint=collector.url)) as client:
        key = new_tenant(client)
        traced = {"traceparent": f"00-{caller_trace}-00f067aa0ba902b7-01"}
        assert client.get("/v1/knowledge/sources", headers={**auth(key), **traced}).status_code == 200
        reply = client.post("/v1/agent/chat", json={"message": "hello"}, headers=auth(key))
        assert reply.status_code == 200
    # the app stopped: its exporter flushed
    by_name = {span.name: span for span in collector.spans}
    listed = by_name["GET /v1/knowledge/sources"]
    assert listed.trace_id.hex() == caller_trace  # the caller's trace continues
    chat, turn = by_name["POST /v1/agent/chat"], by_name["agent.turn"]
    assert turn.trace_id == chat.trace_id and turn.parent_span_id == chat.span_id
    attributes = {a.key: a.value for a in turn.attributes}
    assert attributes["channel"].string_value == "playground"
    assert {a.key: a.value for a in chat.attributes}["http.response.status_code"].int_value == 200


def test_no_endpoint_no_tracing(client: TestClient) -> None:
    assert not services(client).core.tracing.enabled
