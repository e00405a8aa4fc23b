"""The runner scores each case before running the next, so progress counts finished (scored) cases."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

from evals.dataset import Case, Dataset
from evals.runner import CaseRun, run_dataset


class FakeAgent:
    """Just what run_case touches: an inbox that opens conversations, and chat."""

    def __init__(self, events: list[str]) -> None:
        self.events = events
        self.inbox = SimpleNamespace(
            open=lambda *_: SimpleNamespace(id="conv", contact_id="contact"),
            get=lambda *_: SimpleNamespace(handoff_team=None),
        )

    def chat(self, tenant_id: str, message: str, **_: Any) -> Any:
        self.events.append(f"ran {message}")
        return SimpleNamespace(reply=f"re: {message}", route="answer", handoff=False, sources=[], actions=[])


def test_each_case_is_scored_before_the_next_runs_and_before_it_counts_as_done() -> None:
    events: list[str] = []
    cases = [Case(id=q, kind="golden", question=q, reference="r") for q in ("a", "b", "c")]

    async def score(case: Case, run: CaseRun) -> dict[str, Any]:
        await asyncio.sleep(0)  # a judge answering
        events.append(f"scored {case.id} ({run.reply})")
        return {"case_id": case.id}

    results = asyncio.run(
        run_dataset(
            FakeAgent(events),  # type: ignore[arg-type]
            "t",
            Dataset("d", "1", cases),
            score,
            erase=lambda _t, contact: events.append(f"erased {contact}"),
            progress=False,
            on_case=lambda done, total: events.append(f"done {done}/{total}"),
        )
    )
    assert [r["case_id"] for r in results] == ["a", "b", "c"]
    assert events == [
        item
        for q, n in (("a", 1), ("b", 2), ("c", 3))
        for item in (f"ran {q}", "erased contact", f"scored {q} (re: {q})", f"done {n}/3")
    ]
