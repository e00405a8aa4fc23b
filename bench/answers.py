"""Answer quality on real text nobody here wrote: the faq-dev set in ../shared/datasets/faq-dev/.

Each company's documents go to a tenant of their own (Zeabur: three files, Ente: one). Then, through
the same services the HTTP API calls:
- golden questions: answer-hit (the reply states every reference fact), per language and kind;
- off-topic questions: abstention (no answer from the knowledge: the reply stands on no passage);
- small talk: a short reply in the customer's language, no passage, no handoff;
- asking for a person / angry: handed off; questions that merely contain "human", 投訴, 真人...: not;
- the two-turn dialogues: every turn states its facts (or, marked `decline`, stands on no passage);
- intent precision/recall per intent over all cases (the turn's `intent`, where the agent reports one);
- reply length, turn latency p50/p95;
- retrieval R@1 / R@5 / MRR over the golden questions (a hit is relevant when it states the facts) for
  the shipped search and the anchors dense-only and BM25-only.
Neutral cases (off-topic without a company tag, small talk, handoff) are asked of both tenants and pass
only when they pass on both.

    .venv/bin/python bench/answers.py [--flat] [-v] [--company zeabur|ente] [--keep DIR] [--release REF]

--flat uploads each document as plain text with its Markdown and blank lines taken out (headings and
questions as bare lines), the shape of a FAQ pasted into a .txt file.
--release REF runs this same file against another commit (checked out into a temporary git worktree),
e.g. --release HEAD~5, for the previous release's figures in the same run conditions.
--company runs one company's tenant and cases only (neutral cases are asked of it alone).
--keep DIR keeps the data dir: a later run with the same DIR reuses the ingested tenants (for tuning
answers; one upload shape per DIR; delete DIR after a change to chunking or embeddings).
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.language import customer_language

ROOT = Path(__file__).resolve().parent.parent
DATASET = ROOT.parent / "shared" / "datasets" / "faq-dev"
OWN = ROOT / "evals" / "datasets"


@dataclass
class Outcome:
    reply: str
    sources: int
    source_texts: list[str]
    handoff: bool
    route: str
    intent: str
    seconds: float


@dataclass
class Tally:
    passed: int = 0
    total: int = 0
    misses: list[str] = field(default_factory=list)

    def add(self, ok: bool, label: str) -> None:
        self.total += 1
        self.passed += ok
        if not ok:
            self.misses.append(label)

    def __str__(self) -> str:
        share = self.passed / self.total if self.total else 0.0
        return f"{self.passed:3d}/{self.total:<3d} {share:5.2f}"


def flatten(markdown: str) -> str:
    """A Markdown page as a plain-text FAQ: no blank lines, no markup, links as their text."""
    lines = []
    for line in markdown.splitlines():
        line = re.sub(r"^#{1,6}\s+", "", line)
        line = re.sub(r"^>\s?(\[!\w+\]\s*)?", "", line)
        line = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", line)
        line = line.replace("**", "").replace("`", "")
        if re.fullmatch(r"\s*\|?[\s:|-]+\|?\s*", line):
            continue  # a table's rule line
        if line.strip():
            lines.append(line.rstrip())
    return "\n".join(lines) + "\n"


def company_of(case: dict[str, Any]) -> str | None:
    sources = case.get("reference_sources") or []
    if sources:
        return "ente" if sources[0].startswith("ente-") else "zeabur"
    tags = case.get("tags", [])
    return "ente" if "ente" in tags else "zeabur" if "zeabur" in tags else None


def contains(reply: str, fact: str) -> bool:
    from evals.text import contains as evals_contains

    return evals_contains(reply, fact)


def length(text: str) -> int:
    """Words for English, characters for Chinese."""
    han = len(re.findall(r"[\u3400-\u4dbf\u4e00-\u9fff]", text))
    return han + len(re.findall(r"[A-Za-z0-9$%.,/-]+", text))


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values) or [0.0]
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


COMPANIES = ("zeabur", "ente")


class Bench:
    def __init__(self, flat: bool, companies: tuple[str, ...] = COMPANIES, keep: Path | None = None) -> None:
        import yaml

        from agent.builder import build_agent
        from bench.common import environment
        from inbox.store import InboxStore
        from inbox.turns import Turns

        self._env_cm = environment(data_dir=keep)
        self.env = self._env_cm.__enter__()
        self.tenants: dict[str, str] = {}
        for company in companies:
            name = f"faq-dev {company}"
            kept = self.env.core.tenants.find_by_name(name)
            if kept:  # ingested by an earlier run with --keep
                self.tenants[company] = kept.id
                continue
            tenant, _ = self.env.core.tenants.create(name)
            self.tenants[company] = tenant.id
            for path in sorted(DATASET.glob(f"{company}-*.md")):
                data = path.read_text(encoding="utf-8")
                name = path.name
                if flat:
                    data, name = flatten(data), path.with_suffix(".txt").name
                self.env.knowledge.sources.add_file(tenant.id, name, data.encode())
        started = time.perf_counter()
        self.env.core.jobs.drain()
        self.ingest_seconds = time.perf_counter() - started
        for tenant_id in self.tenants.values():
            for source in self.env.knowledge.sources.list(tenant_id):
                assert source.status == "ready", (source.name, source.error)
        inbox = InboxStore(self.env.core.db, self.env.core.audit)
        self.agent = build_agent(self.env.settings, self.env.core, self.env.knowledge, inbox)
        self.turns = Turns(inbox, self.agent)

        def read(path: Path, key: str) -> list[dict[str, Any]]:
            return list(yaml.safe_load(path.read_text(encoding="utf-8"))[key])

        def ours(item: dict[str, Any]) -> bool:
            return (company_of(item) or companies[0]) in companies

        # faq-dev's cases, then ours over the same documents (evals/datasets/faq-dev-own*.yaml)
        cases = read(DATASET / "cases.yaml", "cases") + read(OWN / "faq-dev-own.yaml", "cases")
        dialogues = read(DATASET / "dialogues.yaml", "dialogues") + read(
            OWN / "faq-dev-own-dialogues.yaml", "dialogues"
        )
        self.cases = [c for c in cases if ours(c)]
        self.dialogues = [d for d in dialogues if ours(d)]
        self.latencies: list[float] = []

    def close(self) -> None:
        self.agent.close()
        self._env_cm.__exit__(None, None, None)

    def turn(self, company: str, message: str, conversation: str | None = None) -> tuple[Outcome, str]:
        started = time.perf_counter()
        result = self.turns.chat(self.tenants[company], message, conversation)
        seconds = time.perf_counter() - started
        self.latencies.append(seconds * 1000)
        outcome = Outcome(
            reply=result.reply,
            sources=len(result.sources),
            source_texts=[s["text"] for s in result.sources],
            handoff=result.handoff,
            route=result.route,
            intent=str(getattr(result, "intent", "") or ""),
            seconds=seconds,
        )
        return outcome, result.conversation_id

    def ask(self, case: dict[str, Any]) -> list[Outcome]:
        company = company_of(case)
        companies = [company] if company else list(self.tenants)
        return [self.turn(c, case["question"])[0] for c in companies]


def category(case: dict[str, Any]) -> str:
    tags = case.get("tags", [])
    if case["kind"] == "golden":
        return "handoff-negative" if "handoff-negative" in tags else "golden"
    if "off-topic" in tags:
        return "off-topic"
    if "smalltalk" in tags:
        return "smalltalk"
    return "handoff"


# The intent each category should get (golden and off-topic cases are questions).
WANTED_INTENT = {
    "golden": "question",
    "handoff-negative": "question",
    "off-topic": "question",
    "smalltalk": "smalltalk",
    "handoff": "handoff",
}


def intent_group(intent: str) -> str:
    if intent in ("greeting", "thanks", "goodbye", "acknowledgement", "smalltalk"):
        return "smalltalk"
    if intent in ("human", "complaint", "handoff"):
        return "handoff"
    return "question"


def run_answers(bench: Bench, verbose: bool) -> None:
    tallies: dict[str, Tally] = defaultdict(Tally)
    intents: list[tuple[str, str]] = []  # (wanted, got)
    handoffs_total = handoffs_right = 0
    golden_abstained = 0
    lengths: list[int] = []
    for case in bench.cases:
        kind = category(case)
        outcomes = bench.ask(case)
        tags = case.get("tags", [])
        lang = "zh" if "zh" in tags else "en"
        facts = case.get("reference_facts", [])
        given = any(all(contains(t, f) for f in facts) for t in outcomes[0].source_texts) if facts else False
        label = (
            f"{case['id']}: {case['question']!r} facts {facts} ({'in' if given else 'not in'} the passages)"
            f" -> {outcomes[0].reply[:200]!r}"
        )
        for outcome in outcomes:
            handoffs_total += outcome.handoff
            handoffs_right += outcome.handoff and kind == "handoff"
            if outcome.intent:
                intents.append((WANTED_INTENT[kind], intent_group(outcome.intent)))
        if kind in ("golden", "handoff-negative"):
            outcome = outcomes[0]
            hit = all(contains(outcome.reply, f) for f in case.get("reference_facts", []))
            lengths.append(length(outcome.reply))
            golden_abstained += outcome.sources == 0
            if kind == "golden":
                tallies["golden"].add(hit, label)
                tallies[f"golden {lang}"].add(hit, label)
                if "cross-language" in tags:
                    tallies["  cross-language"].add(hit, label)
                if "cantonese" in tags:
                    tallies["  cantonese"].add(hit, label)
            else:
                tallies["no false handoff"].add(not outcome.handoff, label)
                tallies["handoff-negative answered"].add(hit and not outcome.handoff, label)
        elif kind == "off-topic":
            ok = all(o.sources == 0 for o in outcomes)
            tallies["off-topic abstained"].add(ok, label)
        elif kind == "smalltalk":
            ok = all(
                o.sources == 0
                and not o.handoff
                and customer_language(o.reply) == lang
                and length(o.reply) <= 30
                for o in outcomes
            )
            tallies["small talk"].add(ok, label)
        else:
            tallies["handoff"].add(all(o.handoff for o in outcomes), label)

    for dialogue in bench.dialogues:
        company = company_of(dialogue) or next(iter(bench.tenants))
        conversation = None
        ok = True
        replies = []
        for turn in dialogue["turns"]:
            outcome, conversation = bench.turn(company, turn["message"], conversation)
            replies.append(outcome.reply[:120])
            ok = ok and all(contains(outcome.reply, f) for f in turn.get("expect_facts", []))
            if (turn.get("expect") or {}).get(
                "decline"
            ):  # an off-topic follow-up: no answer from the knowledge
                ok = ok and outcome.sources == 0
        tallies["dialogues"].add(ok, f"{dialogue['id']}: {replies!r}")

    abstained = tallies["off-topic abstained"].passed
    print("answers")
    for name in (
        "golden",
        "golden en",
        "golden zh",
        "  cross-language",
        "  cantonese",
        "handoff-negative answered",
        "no false handoff",
        "off-topic abstained",
        "small talk",
        "handoff",
        "dialogues",
    ):
        print(f"  {name:28s} {tallies[name]}")
    precision = abstained / (abstained + golden_abstained) if abstained + golden_abstained else 0.0
    print(
        f"  abstention precision         {precision:5.2f}  ({golden_abstained} answerable questions abstained)"
    )
    print(
        f"  handoff precision            {handoffs_right / handoffs_total if handoffs_total else 0:5.2f}"
        f"  ({handoffs_total} handoffs)"
    )
    if intents:
        for name in ("question", "smalltalk", "handoff"):
            tp = sum(1 for w, g in intents if w == name and g == name)
            got = sum(1 for _, g in intents if g == name)
            want = sum(1 for w, _ in intents if w == name)
            print(
                f"  intent {name:10s} precision {tp / got if got else 0:5.2f} recall {tp / want if want else 0:5.2f}"
            )
    else:
        print("  intent                       - (this release reports no intent)")
    print(
        f"  reply length (golden)        mean {sum(lengths) / max(1, len(lengths)):.0f}  "
        f"p95 {percentile([float(x) for x in lengths], 0.95):.0f} (words, or characters in Chinese)"
    )
    print(
        f"  turn latency                 p50 {percentile(bench.latencies, 0.5):.0f} ms  "
        f"p95 {percentile(bench.latencies, 0.95):.0f} ms"
    )
    if verbose:
        for name in (
            "golden",
            "handoff-negative answered",
            "off-topic abstained",
            "small talk",
            "handoff",
            "dialogues",
        ):
            for miss in tallies[name].misses:
                print(f"  MISS {name}: {miss}")


def run_retrieval(bench: Bench, verbose: bool) -> None:
    golden = [c for c in bench.cases if c["kind"] == "golden"]
    print(f"retrieval over {len(golden)} golden questions (k=5; relevant = states the reference facts)")
    print(f"  {'mode':<8} {'R@1':>6} {'R@5':>6} {'MRR':>6}")
    for mode in ("hybrid", "dense", "sparse"):
        ranks: list[int | None] = []
        for case in golden:
            tenant = bench.tenants[company_of(case) or next(iter(bench.tenants))]
            if mode == "hybrid":
                texts = [h.text for h in bench.env.knowledge.search(tenant, case["question"], k=5)]
            else:
                found = bench.env.knowledge.retriever.search(tenant, case["question"], k=5, mode=mode)
                texts = [c.text for c in found]
            facts = case.get("reference_facts", [])
            rank = next((i for i, t in enumerate(texts) if all(contains(t, f) for f in facts)), None)
            ranks.append(rank)
            if verbose and mode == "hybrid" and rank != 0:
                print(f"    rank {rank}: {case['id']} {case['question']!r} top={texts[0][:100]!r}")
        n = len(ranks) or 1
        r1 = sum(1 for r in ranks if r == 0) / n
        r5 = sum(1 for r in ranks if r is not None) / n
        mrr = sum(1 / (r + 1) for r in ranks if r is not None) / n
        name = {"hybrid": "shipped", "dense": "dense", "sparse": "BM25"}[mode]
        print(f"  {name:<8} {r1:6.3f} {r5:6.3f} {mrr:6.3f}")


def run_release(ref: str, argv: list[str]) -> int:
    """This file, run against another commit's code."""
    with tempfile.TemporaryDirectory(prefix="parley-release-") as tmp:
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "add", "--detach", tmp, ref], check=True, capture_output=True
        )
        try:
            code = subprocess.run(
                [sys.executable, str(Path(__file__).resolve()), *argv, "--root", tmp], cwd=tmp
            ).returncode
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", tmp], check=False)
    return code


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--flat", action="store_true", help="upload the documents as plain-text FAQs")
    parser.add_argument("-v", "--verbose", action="store_true", help="list every miss")
    parser.add_argument("--company", choices=COMPANIES, help="one company's tenant and cases only")
    parser.add_argument("--keep", type=Path, help="a data dir kept between runs: reuse its ingest")
    parser.add_argument("--release", help="run against this git ref instead of the working tree")
    parser.add_argument("--root", help=argparse.SUPPRESS)
    args = parser.parse_args()
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]  # each figure as it is printed
    if not DATASET.is_dir():
        print(f"skipped: the faq-dev set is not at {DATASET}")
        return 0
    if args.release:
        argv = [a for a in sys.argv[1:] if a not in ("--release", args.release)]
        return run_release(args.release, argv)
    root = Path(args.root) if args.root else ROOT
    sys.path.insert(0, str(root))
    sys.path.insert(1, str(ROOT))  # bench.common when the other commit has none
    bench = Bench(args.flat, (args.company,) if args.company else COMPANIES, args.keep)
    try:
        revision = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
        ).stdout.strip()
        print(
            f"faq-dev ({'plain-text' if args.flat else 'Markdown'} uploads), code at {revision}"
            f"{'' if args.root else ' + working tree'}; ingest {bench.ingest_seconds:.1f} s"
        )
        run_answers(bench, args.verbose)
        run_retrieval(bench, args.verbose)
    finally:
        bench.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
