"""/v1/evals end to end: ratings exported into a dataset, datasets uploaded and validated, a run as a
background job with its report, tenant isolation of datasets and runs; on SQLite and PostgreSQL."""

from __future__ import annotations

import time
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient

from tests.agent.test_chat import chat
from tests.conftest import auth, new_tenant, services, upload, wait_for

FAQ = """# Nail Bar

Q: How much is a gel manicure?
A: A gel manicure costs HK$350 and takes 60 minutes.

Q: 你們幾點開門？
A: 我們每日上午十一時至晚上九時營業。
"""

DATASET = """\
name: nail-bar
version: 3
cases:
  - id: gel
    kind: golden
    question: How much is a gel manicure?
    reference: A gel manicure costs HK$350.
    reference_facts: ["HK$350"]
    reference_sources: [faq.md]
  - id: person
    kind: behaviour
    question: I want to talk to a real person
    expect: {handoff: {team: support}, language: en}
"""


def rate(client: TestClient, key: str, message_id: str, rating: str, **extra: str) -> None:
    body = {"message_id": message_id, "rating": rating, **extra}
    response = client.post("/v1/agent/feedback", headers=auth(key), json=body)
    assert response.status_code == 200, response.text


def finished(client: TestClient, key: str, run_id: str, timeout: float = 60.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = client.get(f"/v1/evals/runs/{run_id}", headers=auth(key)).json()
        if body["status"] in ("done", "failed"):
            return dict(body)
        time.sleep(0.05)
    raise AssertionError(f"eval run {run_id} still {body['status']}")


def test_ratings_export_into_a_dataset(client: TestClient) -> None:
    key = new_tenant(client, "Nail Bar")
    wait_for(client, key, upload(client, key, "faq.md", FAQ.encode())["id"])
    liked = chat(client, key, "How much is a gel manicure?")
    disliked = chat(client, key, "幾點開門？")
    unexplained = chat(client, key, "Do you sell gift cards?")
    rate(client, key, liked["message_id"], "up", comment="spot on")
    rate(client, key, disliked["message_id"], "down", correction="我們每日 11:00 至 21:00 營業。")
    rate(client, key, unexplained["message_id"], "down", comment="no")

    response = client.post("/v1/evals/datasets/from-ratings", headers=auth(key), json={"name": "rated"})
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["cases"], body["skipped"]) == (2, 1) and body["dataset"]["version"] == 1
    assert body["skipped_reasons"] == [
        f"rated-{unexplained['message_id']}: thumbs-down without a corrected answer"
    ]
    stored = client.get(f"/v1/evals/datasets/{body['dataset']['id']}", headers=auth(key)).json()
    cases = {c["kind"]: c for c in stored["content"]["cases"]}
    assert cases["regression"] == {
        "id": f"rated-{liked['message_id']}",
        "kind": "regression",
        "question": "How much is a gel manicure?",
        "reference": liked["reply"],
        "rating": "up",
        "comment": "spot on",
        "rated_reply": liked["reply"],
        "tags": ["rated", "playground"],
    }
    assert cases["golden"]["question"] == "幾點開門？" and cases["golden"]["rating"] == "down"
    assert cases["golden"]["reference"] == "我們每日 11:00 至 21:00 營業。"
    assert cases["golden"]["rated_reply"] == disliked["reply"]

    # The same export as a file to keep in the repository; it loads as a dataset.
    text = client.get("/v1/evals/ratings.yaml?name=rated", headers=auth(key)).text
    assert yaml.safe_load(text)["name"] == "rated" and len(yaml.safe_load(text)["cases"]) == 2
    again = client.post("/v1/evals/datasets", headers=auth(key), json={"content": text})
    assert again.status_code == 201 and again.json()["version"] == 2  # same name: the next version


def test_a_bad_dataset_is_refused_with_its_line(client: TestClient) -> None:
    key = new_tenant(client)
    bad = DATASET.replace("kind: behaviour", "kind: behavior")
    response = client.post("/v1/evals/datasets", headers=auth(key), json={"content": bad})
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid_dataset" and error["message"].startswith("dataset.yaml:11: case 2: kind")
    jsonl = '{"id": "a", "kind": "golden", "question": "q"}\n'
    response = client.post(
        "/v1/evals/datasets", headers=auth(key), json={"content": jsonl, "format": "jsonl", "name": "x"}
    )
    assert response.status_code == 422 and response.json()["error"]["message"].startswith("x.jsonl:1:")
    control = DATASET.replace("real person", "real\x1b person")
    response = client.post("/v1/evals/datasets", headers=auth(key), json={"content": control})
    assert response.status_code == 422, response.text  # was a 500 (yaml's ReaderError)
    assert response.json()["error"]["message"].startswith(
        "dataset.yaml:12: not valid YAML: unacceptable character #x001b"
    )


def test_a_run_end_to_end_with_report_and_gate(client: TestClient) -> None:
    key = new_tenant(client, "Nail Bar")
    wait_for(client, key, upload(client, key, "faq.md", FAQ.encode())["id"])
    dataset = client.post("/v1/evals/datasets", headers=auth(key), json={"content": DATASET}).json()
    assert (dataset["name"], dataset["cases"]) == ("nail-bar", 2)
    contacts_before = client.get("/v1/contacts", headers=auth(key)).json()

    gate = {"thresholds": {"fact_recall": 1.0, "behaviour_pass": 1.0}}
    response = client.post(
        "/v1/evals/runs", headers=auth(key), json={"dataset_id": dataset["id"], "gate": gate}
    )
    assert response.status_code == 202, response.text
    assert response.json()["status"] in ("queued", "running", "done")
    first = finished(client, key, response.json()["id"])
    assert first["status"] == "done", first["error"]
    assert (first["done_cases"], first["total_cases"]) == (2, 2)
    report = first["report"]
    assert report["gate"]["passed"] and report["summary"]["metrics"]["fact_recall"] == 1.0
    results = {r["case_id"]: r for r in report["results"]}
    assert "HK$350" in results["gel"]["reply"] and results["gel"]["contexts"][0]["name"] == "faq.md"
    assert results["person"]["handoff"] and results["person"]["handoff_team"] == "support"
    assert results["person"]["checks"]["handoff"]["passed"]
    # The run's test customers were erased: the tenant's contacts are as they were.
    assert client.get("/v1/contacts", headers=auth(key)).json() == contacts_before

    second = client.post(
        "/v1/evals/runs",
        headers=auth(key),
        json={
            "dataset_id": dataset["id"],
            "baseline_run_id": first["id"],
            "gate": {**gate, "max_regression": 0.0},
        },
    ).json()
    second = finished(client, key, second["id"])
    assert second["baseline_run_id"] == first["id"] and second["report"]["gate"]["passed"]
    page = client.get(f"/v1/evals/runs/{second['id']}/report.html", headers=auth(key))
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert f"previous run {first['id']}" in page.text and page.text.count('class="diff"') == 2
    runs = client.get("/v1/evals/runs", headers=auth(key)).json()["runs"]
    assert [r["id"] for r in runs] == [second["id"], first["id"]] and runs[0]["report"] is None


def test_datasets_and_runs_are_the_tenants_own(client: TestClient) -> None:
    a, b = new_tenant(client, "A"), new_tenant(client, "B")
    dataset = client.post("/v1/evals/datasets", headers=auth(a), json={"content": DATASET}).json()
    run = client.post("/v1/evals/runs", headers=auth(a), json={"dataset_id": dataset["id"]}).json()
    finished(client, a, run["id"])

    assert client.get("/v1/evals/datasets", headers=auth(b)).json() == {"datasets": []}
    assert client.get("/v1/evals/runs", headers=auth(b)).json() == {"runs": []}
    for path in (
        f"/v1/evals/datasets/{dataset['id']}",
        f"/v1/evals/runs/{run['id']}",
        f"/v1/evals/runs/{run['id']}/report.html",
    ):
        response = client.get(path, headers=auth(b))
        assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"
    stolen = client.post("/v1/evals/runs", headers=auth(b), json={"dataset_id": dataset["id"]})
    assert stolen.status_code == 404
    own = client.post("/v1/evals/datasets", headers=auth(b), json={"content": DATASET}).json()
    borrowed = client.post(
        "/v1/evals/runs", headers=auth(b), json={"dataset_id": own["id"], "baseline_run_id": run["id"]}
    )
    assert borrowed.status_code == 404  # another tenant's run is no baseline
    assert own["version"] == 1  # versions count per tenant
    exported = client.post("/v1/evals/datasets/from-ratings", headers=auth(b), json={}).json()
    assert exported == {"dataset": None, "cases": 0, "skipped": 0, "skipped_reasons": []}  # A's are not B's


def test_evals_are_for_admins(client: TestClient) -> None:
    admin = new_tenant(client)
    created = client.post("/v1/api-keys", headers=auth(admin), json={"role": "staff", "name": "qa"})
    staff = created.json()["api_key"]
    assert client.get("/v1/evals/runs", headers=auth(staff)).status_code == 403
    assert client.get("/v1/evals/runs").status_code == 401


def test_a_baseline_must_be_a_finished_run_of_the_same_dataset(client: TestClient) -> None:
    key = new_tenant(client, "Nail Bar")
    evals = services(client).evals
    dataset = client.post("/v1/evals/datasets", headers=auth(key), json={"content": DATASET}).json()
    other = client.post(
        "/v1/evals/datasets", headers=auth(key), json={"content": DATASET.replace("nail-bar", "other")}
    ).json()
    tenant_id = services(client).core.tenants.find_by_name("Nail Bar").id
    # A run that never ran (queued), one still running and one that failed: none has a report.
    pending = evals.store.create_run(tenant_id, evals.store.dataset(tenant_id, dataset["id"]), {})
    for status in ("queued", "running", "failed"):
        evals.store.update(pending.id, status=status)
        response = client.post(
            "/v1/evals/runs",
            headers=auth(key),
            json={"dataset_id": dataset["id"], "baseline_run_id": pending.id},
        )
        assert response.status_code == 409, response.text
        error = response.json()["error"]
        assert error["code"] == "baseline_not_finished" and f"is {status}" in error["message"]

    done = finished(
        client,
        key,
        client.post("/v1/evals/runs", headers=auth(key), json={"dataset_id": other["id"]}).json()["id"],
    )
    assert done["status"] == "done"
    response = client.post(
        "/v1/evals/runs", headers=auth(key), json={"dataset_id": dataset["id"], "baseline_run_id": done["id"]}
    )
    assert response.status_code == 422
    assert response.json()["error"] == {
        "code": "baseline_other_dataset",
        "message": f"baseline run {done['id']} is of dataset 'other', not 'nail-bar'",
    }
    # max_regression says "against the baseline": without one it is refused, not silently ignored.
    gate = {"thresholds": {}, "max_regression": 0.05}
    response = client.post(
        "/v1/evals/runs", headers=auth(key), json={"dataset_id": dataset["id"], "gate": gate}
    )
    assert response.status_code == 422 and response.json()["error"]["code"] == "no_baseline"
    assert [r["id"] for r in client.get("/v1/evals/runs", headers=auth(key)).json()["runs"]] == [
        done["id"],
        pending.id,
    ]  # nothing was queued by the refused requests


def test_a_run_whose_baseline_lost_its_report_fails(client: TestClient) -> None:
    # start() checks the baseline; a job that finds it without a report (reset since) fails the run
    # rather than gating on thresholds alone.
    key = new_tenant(client, "Nail Bar")
    evals = services(client).evals
    dataset = client.post("/v1/evals/datasets", headers=auth(key), json={"content": DATASET}).json()
    tenant_id = services(client).core.tenants.find_by_name("Nail Bar").id
    row = evals.store.dataset(tenant_id, dataset["id"])
    baseline = evals.store.create_run(tenant_id, row, {})
    run = evals.store.create_run(tenant_id, row, {"baseline_run_id": baseline.id, "gate": None})
    evals._run_job({"tenant_id": tenant_id, "run_id": run.id})
    failed = client.get(f"/v1/evals/runs/{run.id}", headers=auth(key)).json()
    assert failed["status"] == "failed" and failed["report"] is None
    assert failed["error"] == f"Conflict: baseline run {baseline.id} has no report"


def test_ratings_that_make_no_valid_case_are_skipped_with_the_reason(client: TestClient) -> None:
    key = new_tenant(client, "Nail Bar")
    inbox = services(client).inbox_store
    tenant_id = services(client).core.tenants.find_by_name("Nail Bar").id
    liked = chat(client, key, "How much is a gel manicure?")
    rate(client, key, liked["message_id"], "up")
    # A channel delivered a message longer than a case allows; an agent reply was empty (both liked).
    conversation = liked["conversation_id"]
    inbox.add_message(tenant_id, conversation, "customer", "x" * 5000)
    long_reply = inbox.add_message(tenant_id, conversation, "agent", "Sorry, that is too long for me.")
    inbox.add_message(tenant_id, conversation, "customer", "hello?")
    empty_reply = inbox.add_message(tenant_id, conversation, "agent", "  ")
    for message in (long_reply, empty_reply):
        rate(client, key, message.id, "up")

    response = client.post("/v1/evals/datasets/from-ratings", headers=auth(key), json={"name": "rated"})
    assert response.status_code == 201, response.text  # was a 500 (pydantic's ValidationError)
    body = response.json()
    assert (body["cases"], body["skipped"]) == (1, 2)
    assert sorted(body["skipped_reasons"]) == sorted(
        [
            f"rated-{long_reply.id}: question: String should have at most 4000 characters",
            f"rated-{empty_reply.id}: a regression case needs a reference answer",
        ]
    )
    text = client.get("/v1/evals/ratings.yaml", headers=auth(key))
    assert text.status_code == 200 and [c["id"] for c in yaml.safe_load(text.text)["cases"]] == [
        f"rated-{liked['message_id']}"
    ]


def test_dataset_names_from_the_query_and_jsonl_follow_the_file_rule(client: TestClient) -> None:
    key = new_tenant(client)
    for name in ("bad name", "../etc", "x" * 201, ""):
        response = client.get("/v1/evals/ratings.yaml", headers=auth(key), params={"name": name})
        assert response.status_code == 422, (name, response.text)
    jsonl = '{"id": "a", "kind": "golden", "question": "q", "reference": "r"}\n'
    for name in ("bad name", "a/b", ""):
        body = {"content": jsonl, "format": "jsonl", "name": name}
        assert client.post("/v1/evals/datasets", headers=auth(key), json=body).status_code == 422, name
    body = {"content": jsonl, "format": "jsonl", "name": "good-name_1.0"}
    response = client.post("/v1/evals/datasets", headers=auth(key), json=body)
    assert response.status_code == 201 and response.json()["name"] == "good-name_1.0"


def test_a_failing_case_leaves_no_customer_and_a_failing_erase_fails_no_run(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = new_tenant(client, "Nail Bar")
    turns, evals = services(client).turns, services(client).evals
    dataset = client.post("/v1/evals/datasets", headers=auth(key), json={"content": DATASET}).json()
    contacts_before = client.get("/v1/contacts", headers=auth(key)).json()
    answer = turns.answer

    def broken(tenant_id: str, conversation_id: str, message: str, *args: Any, **kwargs: Any) -> Any:
        if "gel manicure" in message:
            raise RuntimeError("the model fell over")
        return answer(tenant_id, conversation_id, message, *args, **kwargs)

    monkeypatch.setattr(turns, "answer", broken)
    run = client.post("/v1/evals/runs", headers=auth(key), json={"dataset_id": dataset["id"]}).json()
    done = finished(client, key, run["id"])
    assert done["status"] == "done", done["error"]
    results = {r["case_id"]: r for r in done["report"]["results"]}
    assert results["gel"]["errors"] == ["RuntimeError: the model fell over"]
    assert results["person"]["scores"]["behaviour_pass"] == 1.0
    # The failed case's test customer was erased too.
    assert client.get("/v1/contacts", headers=auth(key)).json() == contacts_before

    erase, calls = evals._erase, []

    def erase_fails_once(tenant_id: str, contact_id: str) -> None:
        calls.append(contact_id)
        if len(calls) == 1:
            raise OSError("database went away")
        erase(tenant_id, contact_id)

    monkeypatch.setattr(evals, "_erase", erase_fails_once)
    run = client.post("/v1/evals/runs", headers=auth(key), json={"dataset_id": dataset["id"]}).json()
    done = finished(client, key, run["id"])
    assert done["status"] == "done", done["error"]
    results = {r["case_id"]: r for r in done["report"]["results"]}
    assert results["gel"]["erase_error"] == "OSError: database went away"
    assert results["gel"]["errors"] == [
        "RuntimeError: the model fell over",
        "erase: OSError: database went away",
    ]
    assert results["person"]["erase_error"] is None and results["person"]["scores"]["behaviour_pass"] == 1.0
