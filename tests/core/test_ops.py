"""Operations over HTTP: /healthz, /readyz (database, knowledge index, live workers by job kind), and
/metrics (requests by route template, jobs, the queue, agent turns, handoffs, model calls, the token)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import auth, new_tenant, upload, wait_for


def scrape(client: TestClient, token: str | None = None) -> str:
    response = client.get("/metrics", headers=auth(token) if token else {})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return response.text


def value(text: str, name: str, **labels: str) -> float:
    """The sum of the samples called `name` whose labels include `labels` (0 when there is none)."""
    total = 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                total += sample.value
    return total


def test_healthz_is_open_and_cheap(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_ready_with_the_in_process_worker(client: TestClient) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "ready"
    assert body["checks"] == {
        "database": {"ok": True},
        "knowledge_index": {"ok": True},
        "workers": {"ok": True},
    }


def test_http_only_process_is_not_ready_without_workers(app_factory: Callable[..., Any]) -> None:
    with TestClient(app_factory(worker=False)) as client:
        response = client.get("/readyz")
        assert response.status_code == 503
        body = response.json()
        assert body["status"] == "not_ready"
        assert body["checks"]["database"] == {"ok": True}
        assert body["checks"]["knowledge_index"] == {"ok": True}
        detail = body["checks"]["workers"]["detail"]
        assert not body["checks"]["workers"]["ok"]
        for kind in ("knowledge.ingest", "channels.reply", "core.retention"):
            assert kind in detail
        assert client.get("/healthz").status_code == 200  # alive all the same

    # An operator who does not tie the API's readiness to the workers says so.
    with TestClient(app_factory(worker=False, ready_requires_worker=False)) as client:
        assert client.get("/readyz").status_code == 200
        assert "workers" not in client.get("/readyz").json()["checks"]


def test_a_worker_for_some_kinds_leaves_the_others_uncovered(app_factory: Callable[..., Any]) -> None:
    with TestClient(app_factory(worker_kinds=["knowledge.ingest", "core.retention"])) as client:
        response = client.get("/readyz")
        assert response.status_code == 503
        detail = response.json()["checks"]["workers"]["detail"]
        assert "channels.reply" in detail and "knowledge.ingest" not in detail


def test_unknown_worker_kind_refuses_to_start(app_factory: Callable[..., Any]) -> None:
    try:
        with TestClient(app_factory(worker_kinds=["knowledge.ingset"])):
            raise AssertionError("the app started with an unknown job kind")
    except ValueError as exc:
        assert "knowledge.ingset" in str(exc) and "knowledge.ingest" in str(exc)


def test_metrics_count_requests_by_route_template(client: TestClient) -> None:
    key = new_tenant(client)
    route = "/v1/knowledge/sources/{source_id}"
    before = value(scrape(client), "parley_http_requests_total", route=route, status="404")
    for missing in ("a" * 32, "b" * 32):
        assert client.get(f"/v1/knowledge/sources/{missing}", headers=auth(key)).status_code == 404
    text = scrape(client)
    assert value(text, "parley_http_requests_total", method="GET", route=route, status="404") == before + 2
    assert value(text, "parley_http_request_duration_seconds_count", route=route) >= 2
    assert "a" * 32 not in text  # raw paths never become labels
    client.get("/no/such/page")
    assert value(scrape(client), "parley_http_requests_total", route="unmatched", status="404") >= 1


def test_metrics_count_jobs_and_the_queue(app_factory: Callable[..., Any]) -> None:
    with TestClient(app_factory(worker=False)) as client:
        key = new_tenant(client)
        upload(client, key, "faq.md", b"# Hours\n\nWe open at 9am.")
        time.sleep(0.05)
        text = scrape(client)
        assert value(text, "parley_jobs", kind="knowledge.ingest", state="queued") == 1
        assert value(text, "parley_jobs_oldest_ready_age_seconds", kind="knowledge.ingest") > 0
    with TestClient(app_factory()) as client:  # the same database, now with a worker
        key = new_tenant(client, "Other")
        before = value(scrape(client), "parley_jobs_finished_total", kind="knowledge.ingest", outcome="done")
        wait_for(client, key, upload(client, key, "faq.md", b"# Hours\n\nWe open at 9am.")["id"])
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            text = scrape(client)
            done = value(text, "parley_jobs_finished_total", kind="knowledge.ingest", outcome="done")
            if (
                done >= before + 2
                and value(text, "parley_jobs", kind="knowledge.ingest", state="queued") == 0
            ):
                break
            time.sleep(0.1)
        assert done >= before + 2  # the first app's upload and this one
        assert value(text, "parley_job_duration_seconds_count", kind="knowledge.ingest") >= 2


def test_metrics_count_turns_handoffs_and_model_calls(client: TestClient) -> None:
    key = new_tenant(client)
    wait_for(
        client, key, upload(client, key, "faq.md", b"# Hours\n\nQ: When do you open?\nA: At 9am daily.")["id"]
    )
    before = scrape(client)
    answer = client.post("/v1/agent/chat", json={"message": "When do you open?"}, headers=auth(key))
    assert answer.status_code == 200, answer.text
    person = client.post(
        "/v1/agent/chat", json={"message": "I want to talk to a real person"}, headers=auth(key)
    )
    assert person.json()["handoff"] is True
    after = scrape(client)

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew("parley_agent_turns_total", channel="playground") == 2
    assert grew("parley_agent_turn_duration_seconds_count", channel="playground") == 2
    assert grew("parley_handoffs_total", channel="playground") == 1
    assert grew("parley_model_request_duration_seconds_count") >= 1  # the answer's model call


def test_metrics_token(app_factory: Callable[..., Any]) -> None:
    token = "metrics-token-0123456789abcdef"
    with TestClient(app_factory(metrics_token=token)) as client:
        refused = client.get("/metrics")
        assert refused.status_code == 401
        assert refused.json()["error"]["code"] == "unauthorized"
        assert client.get("/metrics", headers=auth("wrong-token")).status_code == 401
        assert "parley_http_requests_total" in scrape(client, token)
        assert client.get("/healthz").status_code == 200  # the probes stay open
