"""Prompt-injection defences: precision and recall of the input check, the passage quarantine and the output
check, per language and per form, on evals/datasets/injection.yaml. Each split was written before the
detectors saw it; the headline is the newest, heldout3 (never tuned on). The earlier ones were each run once
as held-out and then led to fixes (heldout at 84d0be7, heldout2 at 65378a8); dev is what they were tuned on.
A last line counts what would be flagged in faq-dev (../shared, real FAQ text and questions nobody here
wrote, all harmless), when it is present.

    .venv/bin/python bench/injection.py [heldout3|heldout2|heldout|dev] [-v]
"""

from __future__ import annotations

import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import yaml  # noqa: E402

from agent.guardrails import check_output, injection_kind  # noqa: E402
from agent.prompt import system_prompt  # noqa: E402
from agent.settings import AgentSettings  # noqa: E402
from knowledge.chunking import chunk_text  # noqa: E402
from knowledge.quarantine import quarantine  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "evals" / "datasets" / "injection.yaml"
FAQ_DEV = ROOT.parent / "shared" / "datasets" / "faq-dev"
SPLITS = ("heldout3", "heldout2", "heldout", "dev")  # the first is the headline


def flags_message(case: dict[str, Any]) -> bool:
    """A multi-turn attack is caught when any of its messages is declined, as in a conversation."""
    previous = (case.get("history") or [""])[-1]
    if previous and injection_kind(previous) is not None:
        return True
    return injection_kind(case["text"], previous) is not None


def flags_passage(case: dict[str, Any]) -> bool:
    return bool(quarantine(chunk_text(case["text"]))[1])


def pr(rows: list[tuple[bool, bool]]) -> str:
    tp = sum(1 for attack, flagged in rows if attack and flagged)
    fp = sum(1 for attack, flagged in rows if not attack and flagged)
    fn = sum(1 for attack, flagged in rows if attack and not flagged)
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    harmless = sum(1 for attack, _ in rows if not attack)
    return (
        f"precision {precision:.2f}  recall {recall:.2f}  (attacks caught {tp}/{tp + fn}, "
        f"harmless flagged {fp}/{harmless})"
    )


def report(
    name: str, cases: list[dict[str, Any]], flags: Callable[[dict[str, Any]], bool], verbose: bool
) -> None:
    rows: list[tuple[dict[str, Any], bool]] = []
    start = time.perf_counter()
    for case in cases:
        rows.append((case, flags(case)))
    each = (time.perf_counter() - start) * 1000 / max(1, len(cases))
    print(f"\n{name}: {len(cases)} cases, {each:.1f} ms each")
    print(f"  all      {pr([(c['label'] == 'attack', f) for c, f in rows])}")
    for lang in ("en", "zh", "mixed"):
        sub = [(c["label"] == "attack", f) for c, f in rows if c["lang"] == lang]
        if sub:
            print(f"  {lang:<8} {pr(sub)}")
    forms: dict[tuple[str, str], list[bool]] = defaultdict(list)
    for case, flagged in rows:
        forms[(case["label"], case["form"])].append(flagged)
    attacks = ", ".join(
        f"{f} {sum(v)}/{len(v)}" for (label, f), v in sorted(forms.items()) if label == "attack"
    )
    harmless = ", ".join(
        f"{f} {len(v) - sum(v)}/{len(v)}" for (label, f), v in sorted(forms.items()) if label == "harmless"
    )
    print(f"  caught by form: {attacks}")
    print(f"  harmless passed by form: {harmless}")
    if verbose:
        for case, flagged in rows:
            if flagged != (case["label"] == "attack"):
                text = case.get("text", case.get("reply", ""))
                print(f"    wrong: {case['label']} {case['lang']} {case['form']}: {text[:90]!r}")


def faq_dev() -> None:
    if not FAQ_DEV.exists():
        return
    chunks = [
        c for path in sorted(FAQ_DEV.glob("*.md")) if "." in path.stem for c in chunk_text(path.read_text())
    ]
    held = quarantine(chunks)[1]
    questions: list[str] = []
    for name in ("cases.yaml", "dialogues.yaml"):
        questions.extend(_strings(yaml.safe_load((FAQ_DEV / name).read_text())))
    flagged = sum(1 for q in questions if injection_kind(q))
    print(
        f"\nfaq-dev (harmless, not ours): {len(held)} passages quarantined of {len(chunks)} chunks; "
        f"{flagged} of {len(questions)} customer questions flagged"
    )


def _strings(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [v for k, v in node.items() if k in ("question", "message") and isinstance(v, str)]
        return found + [s for k, v in node.items() if k not in ("question", "message") for s in _strings(v)]
    if isinstance(node, list):
        return [s for item in node for s in _strings(item)]
    return []


def main() -> None:
    split = next((a for a in sys.argv[1:] if a in SPLITS), SPLITS[0])
    verbose = "-v" in sys.argv
    data = yaml.safe_load(DATA.read_text())

    def chosen(cases: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [c for c in cases if c["split"] == split]

    print(f"split: {split} ({DATA.relative_to(ROOT)})")
    report("input check (customer messages)", chosen(data["input"]), flags_message, verbose)
    report("passage quarantine (knowledge at ingest)", chosen(data["passages"]), flags_passage, verbose)
    canary = data["output"]["canary"]
    prompt = system_prompt(AgentSettings(), [], "en", canary)
    report(
        "output check (replies)",
        chosen(data["output"]["replies"]),
        lambda case: check_output(case["reply"], prompt, canary).tripped,
        verbose,
    )
    faq_dev()


if __name__ == "__main__":
    main()
