"""The intent step's precision and recall per intent and language, on messages it was not built from:
evals/datasets/intents.yaml (ours) and the faq-dev cases (../shared, when present).

    .venv/bin/python bench/intents.py [-v]
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import yaml  # noqa: E402

from agent.intent import IntentClassifier  # noqa: E402
from core.language import customer_language  # noqa: E402
from knowledge.embeddings import LocalE5Embedder  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
HELD_OUT = ROOT / "evals" / "datasets" / "intents.yaml"
FAQ_DEV = ROOT.parent / "shared" / "datasets" / "faq-dev" / "cases.yaml"
GROUP = {
    "greeting": "small talk",
    "thanks": "small talk",
    "goodbye": "small talk",
    "acknowledgement": "small talk",
    "human": "hand off",
    "complaint": "hand off",
    "question": "question",
}


def labelled() -> list[tuple[str, str, str, str]]:
    """(source, wanted intent, language, message)."""
    rows: list[tuple[str, str, str, str]] = []
    held_out = yaml.safe_load(HELD_OUT.read_text(encoding="utf-8"))
    for part in ("messages", "later"):
        for intent, languages in held_out.get(part, {}).items():
            for language, messages in languages.items():
                rows.extend((f"intents.yaml {part}", intent, language, m) for m in messages)
    if FAQ_DEV.is_file():
        for case in yaml.safe_load(FAQ_DEV.read_text(encoding="utf-8"))["cases"]:
            tags = case.get("tags", [])
            wanted = "greeting" if "smalltalk" in tags else "human" if "handoff" in tags else "question"
            rows.append(("faq-dev", wanted, customer_language(case["question"]), case["question"]))
    return rows


def main(verbose: bool) -> None:
    classifier = IntentClassifier(LocalE5Embedder())
    rows = [
        (source, GROUP[w], lang, m, GROUP[classifier.classify(m).intent]) for source, w, lang, m in labelled()
    ]
    print(f"{len(rows)} messages ({Counter(r[0] for r in rows)}); intents grouped as the agent acts on them")
    print(f"  {'intent':12s} {'lang':4s} {'precision':>9s} {'recall':>7s} {'n':>4s}")
    for group in ("small talk", "hand off", "question"):
        for language in ("en", "zh", "all"):
            mine = [r for r in rows if language in ("all", r[2])]
            tp = sum(1 for r in mine if r[1] == group and r[4] == group)
            got = sum(1 for r in mine if r[4] == group)
            want = sum(1 for r in mine if r[1] == group)
            print(
                f"  {group:12s} {language:4s} {tp / got if got else 0:9.2f} {tp / want if want else 0:7.2f} {want:4d}"
            )
    if verbose:
        for source, wanted, _, message, found in rows:
            if wanted != found:
                print(f"  MISS [{source}] {message!r}: wanted {wanted}, got {found}")


if __name__ == "__main__":
    main("-v" in sys.argv)
