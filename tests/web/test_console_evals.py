"""The Evals page through HTTP, as a browser uses it: a QA user uploads datasets (refusals at the field with
the file's line), makes one from the ratings, runs one with a gate and watches its progress, reads its
scores, gate and report, and compares it with a baseline; another tenant's user sees none of it."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.agent.test_chat import chat
from tests.conftest import auth, new_tenant, upload, wait_for
from tests.helpers.console import csrf, new_member, sign_in, user_ref

FAQ = b"# Nail Bar\n\nQ: How much is a gel manicure?\nA: A gel manicure is HK$350 and takes an hour.\n"
SALON = """\
name: salon
version: 1
cases:
  - id: gel-price
    kind: golden
    question: How much is a gel manicure?
    reference: A gel manicure is HK$350.
    reference_facts: ["HK$350"]
  - id: wants-a-person
    kind: behaviour
    question: Can I speak to a human please
    expect: {handoff: true}
"""
GATE = "thresholds:\n  fact_recall: 1.0\n  behaviour_pass: 1.0\n"


@pytest.fixture(scope="module")
def nails(api: TestClient) -> str:
    key = new_tenant(api, "Nail Bar")
    wait_for(api, key, upload(api, key, "faq.md", FAQ)["id"])
    return key


@pytest.fixture(scope="module")
def qa(app: Any, api: TestClient, nails: str) -> TestClient:
    new_member(api, nails, "qa@nails.example", "qa")
    return sign_in(app, "qa@nails.example", address="10.60.0.1")


def post(person: TestClient, path: str, **data: str) -> Any:
    return person.post(path, data={"csrf": csrf(person, "/console/evals"), **data})


def send_file(person: TestClient, filename: str, text: str, **data: str) -> Any:
    token = csrf(person, "/console/evals")
    files = {"file": (filename, text.encode())}
    return person.post("/console/evals/datasets", data={"csrf": token, **data}, files=files)


def dataset_id(person: TestClient, name: str, version: int = 1) -> str:
    page = person.get("/console/evals").text
    found = re.search(
        rf'<tr id="dataset-(\w+)">\s*<td[^>]*><a [^>]*>{name}</a></td>\s*<td[^>]*>v{version}<', page
    )
    assert found, f"no dataset {name} v{version} on the page"
    return found.group(1)


def start(person: TestClient, dataset: str, **data: str) -> str:
    response = post(person, "/console/evals/runs", dataset_id=dataset, **data)
    assert response.status_code == 303, response.text
    return str(response.headers["location"]).rsplit("/", 1)[1]


def finished(person: TestClient, run_id: str, timeout: float = 120.0) -> str:
    """The run's live part once it no longer asks to be polled."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        part = person.get(f"/console/evals/runs/{run_id}/live")
        assert part.status_code == 200, part.text
        if "data-live" not in part.text:
            return part.text
        time.sleep(0.1)
    raise AssertionError(f"run {run_id} still running")


def test_qa_lands_on_evals_and_uploads_datasets_with_refusals_at_the_field(qa: TestClient) -> None:
    assert qa.get("/console").headers["location"] == "/console/evals"
    empty = qa.get("/console/evals")
    assert empty.status_code == 200 and 'id="no-datasets"' in empty.text and 'id="no-runs"' in empty.text

    broken = send_file(qa, "broken.yaml", SALON.replace("kind: behaviour", "kind: vibes"))
    assert broken.status_code == 422 and 'id="e-file"' in broken.text
    assert "broken.yaml:10: case 2: kind:" in broken.text  # the file, the line and the field at fault
    wrong_type = send_file(qa, "cases.csv", "id,question\n")
    assert wrong_type.status_code == 422 and "A dataset is a .yaml, .yml or .jsonl file." in wrong_type.text
    latin1 = qa.post(
        "/console/evals/datasets",
        data={"csrf": csrf(qa, "/console/evals")},
        files={"file": ("old.yaml", "name: café\n".encode("latin-1"))},
    )
    assert latin1.status_code == 422 and "The file is not UTF-8 text." in latin1.text
    nothing = post(qa, "/console/evals/datasets")
    assert nothing.status_code == 422 and "Choose a dataset file." in nothing.text
    bad_name = send_file(
        qa,
        "x.jsonl",
        '{"id": "a", "kind": "golden", "question": "q", "reference": "r"}\n',
        name="no spaces allowed",
    )
    assert bad_name.status_code == 422 and 'id="e-name"' in bad_name.text

    done = send_file(qa, "salon.yaml", SALON)
    assert done.status_code == 303 and done.headers["location"] == "/console/evals?notice=uploaded"
    again = send_file(qa, "salon.yaml", SALON)  # the same name again: its next version
    assert again.status_code == 303
    jsonl = send_file(
        qa,
        "quick checks.jsonl",
        '{"id": "hi", "kind": "behaviour", "question": "hello", "expect": {"small_talk": true}}\n',
    )
    assert jsonl.status_code == 303
    page = qa.get("/console/evals?notice=uploaded").text
    assert "Dataset uploaded." in page
    dataset_id(qa, "salon", 2)
    cases = qa.get(f"/console/evals/datasets/{dataset_id(qa, 'quick-checks')}")
    assert cases.status_code == 200 and "hello" in cases.text and "Behaviour" in cases.text


def test_a_run_shows_progress_then_scores_gate_comparison_and_report(
    api: TestClient, nails: str, qa: TestClient
) -> None:
    salon = dataset_id(qa, "salon", 1)
    first = start(qa, salon, gate=GATE)
    page = qa.get(f"/console/evals/runs/{first}")
    assert page.status_code == 200 and 'data-poll="/console/evals/runs/' in page.text
    listed = qa.get("/console/evals/runs").text
    assert f'href="/console/evals/runs/{first}"' in listed and "of 2 cases" in listed

    part = finished(qa, first)
    assert 'id="run-status">Done<' in part and "2 of 2 cases" in part
    assert 'id="gate-verdict" class="verdict pass">The gate passed.' in part
    assert re.search(r'<tr data-metric="fact_recall">.*?1\.000', part, re.S)
    assert 'id="no-comparison"' in part  # nothing earlier to compare with
    assert f'src="/console/evals/runs/{first}/report.html"' in part

    report = qa.get(f"/console/evals/runs/{first}/report.html")
    assert report.status_code == 200 and "<h2>Gate</h2>" in report.text
    assert report.text == api.get(f"/v1/evals/runs/{first}/report.html", headers=auth(nails)).text
    assert "frame-ancestors 'self'" in report.headers["content-security-policy"]
    assert "sandbox" in report.headers["content-security-policy"]
    assert report.headers["x-frame-options"] == "SAMEORIGIN"

    # The second version of the dataset against the first run, with a gate that cannot pass.
    second = start(qa, dataset_id(qa, "salon", 2), baseline=first, gate="thresholds:\n  chrf: 1.01\n")
    part = finished(qa, second)
    assert "The gate failed." in part and "chrf: " in part and "is below the threshold 1.01" in part
    assert f"Against run {first}." in part
    assert re.search(r'<tr data-metric="fact_recall" data-direction="same">', part)
    assert "Cases: 0 better, 0 worse, 2 the same, 0 not in the baseline." in part
    assert f"report.html?baseline={first}" in part
    runs = qa.get("/console/evals/runs").text  # each run's verdict in the list
    assert re.search(rf'id="run-row-{first}".*?<span class="pass">Passed</span>', runs, re.S)
    assert re.search(rf'id="run-row-{second}".*?<span class="fail">Failed</span>', runs, re.S)
    compared = qa.get(f"/console/evals/runs/{second}/report.html?baseline={first}")
    assert compared.status_code == 200 and f"previous run {first}" in compared.text
    # The first run compared with the later one, picked on its page.
    picked = qa.get(f"/console/evals/runs/{first}?baseline={second}")
    assert picked.status_code == 200 and f"Against run {second}." in picked.text

    # Each start is audited as the QA user who pressed it.
    events = api.get("/v1/audit", params={"entity": "eval_run"}, headers=auth(nails)).json()
    assert {e["actor"] for e in events} == {user_ref(api, nails, "qa@nails.example")}
    assert {e["entity_id"] for e in events} == {first, second}


def test_refused_runs_say_why_at_the_field(qa: TestClient) -> None:
    salon = dataset_id(qa, "salon", 1)
    bad_gate = post(qa, "/console/evals/runs", dataset_id=salon, gate="thresholds:\n  fact_recall: high\n")
    assert bad_gate.status_code == 422 and 'id="e-gate"' in bad_gate.text
    assert "gate:2: not a gate file: thresholds.fact_recall" in bad_gate.text
    no_baseline = post(qa, "/console/evals/runs", dataset_id=salon, gate="max_regression: 0.05\n")
    assert no_baseline.status_code == 422 and "needs a baseline_run_id" in no_baseline.text
    other = dataset_id(qa, "quick-checks")
    salon_run = re.findall(r'href="/console/evals/runs/(\w+)"', qa.get("/console/evals/runs").text)[-1]
    mixed = post(qa, "/console/evals/runs", dataset_id=other, baseline=salon_run)
    assert (
        mixed.status_code == 422
        and 'id="e-baseline"' in mixed.text
        and "is of dataset &#39;salon&#39;" in mixed.text
    )
    assert "selected>quick-checks v1" in mixed.text  # the form comes back as it was filled
    unknown = post(qa, "/console/evals/runs", dataset_id="nope")
    assert unknown.status_code == 404 and "Not found." in unknown.text
    gone = post(qa, "/console/evals/runs", dataset_id=salon, baseline="nope")
    assert (
        gone.status_code == 422 and 'id="e-baseline"' in gone.text and "eval run nope not found" in gone.text
    )
    own = qa.get(f"/console/evals/runs/{salon_run}?baseline={salon_run}")
    assert own.status_code == 422 and "cannot be its own baseline" in own.text


def test_a_dataset_from_the_ratings(api: TestClient, nails: str, qa: TestClient) -> None:
    liked = chat(api, nails, "How much is a gel manicure?")
    unexplained = chat(api, nails, "Do you do eyelash extensions?")
    for message_id, rating in ((liked["message_id"], "up"), (unexplained["message_id"], "down")):
        body = {"message_id": message_id, "rating": rating}
        assert api.post("/v1/agent/feedback", json=body, headers=auth(nails)).status_code == 200
    made = post(qa, "/console/evals/datasets/from-ratings", name="rated")
    assert made.status_code == 200 and "Dataset rated v1 made with 1 case(s)." in made.text
    assert "1 rating(s) skipped:" in made.text and "thumbs-down without a corrected answer" in made.text
    assert 'id="dataset-' in made.text and ">rated</a>" in made.text
    file = qa.get("/console/evals/ratings.yaml")
    assert (
        file.status_code == 200
        and file.headers["content-disposition"] == 'attachment; filename="ratings.yaml"'
    )
    assert f"rated-{liked['message_id']}" in file.text and "kind: regression" in file.text
    stored = qa.get(f"/console/evals/datasets/{dataset_id(qa, 'rated')}/dataset.yaml")
    assert stored.status_code == 200 and "name: rated" in stored.text and "kind: regression" in stored.text
    bad = post(qa, "/console/evals/datasets/from-ratings", name="rated set!")
    assert bad.status_code == 422 and 'id="e-ratings_name"' in bad.text


def test_another_tenant_and_other_roles_see_nothing(
    app: Any, api: TestClient, nails: str, qa: TestClient
) -> None:
    run_id = re.findall(r'href="/console/evals/runs/(\w+)"', qa.get("/console/evals/runs").text)[-1]
    salon = dataset_id(qa, "salon", 1)
    rival = new_tenant(api, "Rival Nails")
    new_member(api, rival, "qa@rival.example", "qa")
    outsider = sign_in(app, "qa@rival.example", address="10.60.0.2")
    for path in (
        f"/console/evals/runs/{run_id}",
        f"/console/evals/runs/{run_id}/live",
        f"/console/evals/runs/{run_id}/report.html",
        f"/console/evals/datasets/{salon}",
        f"/console/evals/datasets/{salon}/dataset.yaml",
    ):
        assert outsider.get(path).status_code == 404, path
    assert run_id not in outsider.get("/console/evals").text
    assert post(outsider, "/console/evals/runs", dataset_id=salon).status_code == 404
    assert api.get("/v1/evals/runs", headers=auth(rival)).json() == {"runs": []}

    new_member(api, nails, "agent@nails.example", "agent")
    agent = sign_in(app, "agent@nails.example", address="10.60.0.3")
    for path in ("/console/evals", f"/console/evals/runs/{run_id}/report.html"):
        assert agent.get(path).status_code == 403, path
    forged = agent.post(
        "/console/evals/runs", data={"csrf": csrf(agent, "/console/inbox"), "dataset_id": salon}
    )
    assert forged.status_code == 403 and "Your role cannot do this here." in forged.text
    no_token = qa.post("/console/evals/runs", data={"dataset_id": salon})
    assert no_token.status_code == 403 and "This form has expired" in no_token.text
