"""Dataset files: YAML and JSONL load; a bad file fails with its name and the line of the problem."""

from __future__ import annotations

from pathlib import Path

import pytest

from evals.cli import main, read_run
from evals.dataset import DatasetError, load

ROOT = Path(__file__).resolve().parents[2]

GOOD = """\
name: tiny
version: 2
cases:
  - id: price
    kind: golden
    question: How much is a gel manicure?
    reference: HK$350
    reference_facts: ["350"]
  - id: person
    kind: behaviour
    question: 我想搵真人
    expect: {handoff: {team: support}, language: zh}
  - id: liked
    kind: regression
    question: Opening hours?
    reference: 10:00 to 20:00
    rating: up
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_yaml_dataset_loads_every_kind(tmp_path: Path) -> None:
    dataset = load(write(tmp_path, "tiny.yaml", GOOD))
    assert (dataset.name, dataset.version) == ("tiny", "2")
    assert [c.kind for c in dataset.cases] == ["golden", "behaviour", "regression"]
    expect = dataset.cases[1].expect
    assert expect is not None and expect.language == "zh"
    assert (
        expect.handoff is not None
        and not isinstance(expect.handoff, bool)
        and expect.handoff.team == "support"
    )


def test_jsonl_dataset_loads_one_case_per_line(tmp_path: Path) -> None:
    text = (
        '{"id": "a", "kind": "golden", "question": "幾點開門？", "reference": "十點"}\n\n'
        '{"id": "b", "kind": "behaviour", "question": "hi", "expect": {"no_leak": true}}\n'
    )
    dataset = load(write(tmp_path, "rated.jsonl", text))
    assert dataset.name == "rated" and [c.id for c in dataset.cases] == ["a", "b"]


@pytest.mark.parametrize(
    ("text", "where", "words"),
    [
        # the line of the bad field, or of the case when a field is missing
        (GOOD.replace("    reference: HK$350\n", ""), ":4:", "golden case needs a reference"),
        (GOOD.replace("kind: behaviour", "kind: behavior"), ":10:", "kind"),
        (
            GOOD.replace("expect: {handoff: {team: support}, language: zh}", "expect: {}"),
            ":12:",
            "at least one",
        ),
        (GOOD.replace("language: zh", "language: fr"), ":12:", "language"),
        (GOOD.replace("rating: up", "rating: meh"), ":17:", "rating"),
        (GOOD.replace("reference_facts", "reference_fact"), ":8:", "reference_fact"),
        (GOOD.replace("id: liked", "id: price"), ":13:", "repeats the case on line 4"),
        (GOOD.replace("  - id: person", "  - id: person\n bad"), ":10:", "not valid YAML"),
        ("cases: []\n", ":1:", "name"),
        # A control character (pasted from a spreadsheet, say): the reader refuses it, with its line.
        (GOOD.replace("Opening hours?", "Opening\x07 hours?"), ":15:", "unacceptable character #x0007"),
    ],
)
def test_a_bad_yaml_file_names_the_file_and_line(tmp_path: Path, text: str, where: str, words: str) -> None:
    path = write(tmp_path, "bad.yaml", text)
    with pytest.raises(DatasetError) as error:
        load(path)
    assert str(path) + where in error.value.message, error.value.message
    assert words in error.value.message


def test_a_bad_jsonl_line_is_named(tmp_path: Path) -> None:
    good = '{"id": "a", "kind": "golden", "question": "q", "reference": "r"}'
    path = write(tmp_path, "x.jsonl", good + "\n" + '{"id": "b", "kind": "golden", "question": "q"}\n')
    with pytest.raises(DatasetError, match=r"x\.jsonl:2: .*needs a reference"):
        load(path)
    write(tmp_path, "y.jsonl", good + "\n\n{not json}\n")
    with pytest.raises(DatasetError, match=r"y\.jsonl:3: not valid JSON"):
        load(tmp_path / "y.jsonl")


def test_cli_validate_exits_2_with_the_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = write(tmp_path, "bad.yaml", GOOD.replace("kind: regression", "kind: nope"))
    assert main(["validate", str(ROOT / "evals/datasets/demo.yaml")]) == 0
    assert main(["validate", str(bad)]) == 2
    assert f"{bad}:14:" in capsys.readouterr().err


def test_the_shipped_demo_dataset_is_valid_and_bilingual() -> None:
    dataset = load(ROOT / "evals/datasets/demo.yaml")
    tags = {t for c in dataset.cases for t in c.tags}
    assert {"en", "zh", "cross-language"} <= tags
    assert {c.kind for c in dataset.cases} == {"golden", "behaviour"}


def test_a_control_character_is_a_bad_file_not_a_crash(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = write(tmp_path, "bad.yaml", GOOD.replace("HK$350", "HK$350\x00"))
    assert main(["validate", str(bad)]) == 2
    err = capsys.readouterr().err
    assert (
        err.startswith(f"error: {bad}:7: not valid YAML: unacceptable character #x0000")
        and "Traceback" not in err
    )


def test_the_committed_demo_baseline_is_a_run_of_the_demo_dataset() -> None:
    # `make evals` gates against it (max_regression); replace it when demo.yaml's cases change.
    baseline = read_run(ROOT / "evals/datasets/demo.baseline.json")
    dataset = load(ROOT / "evals/datasets/demo.yaml")
    assert baseline["dataset"]["name"] == dataset.name
    assert baseline["dataset"]["version"] == dataset.version
    assert [r["case_id"] for r in baseline["results"]] == [c.id for c in dataset.cases]
