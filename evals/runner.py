"""Run every case of a dataset through the real agent graph, each in a fresh conversation.

A case is a customer's first message on the `evals` channel, answered by the turn router (inbox/turns.py)
exactly as the playground would (guardrails, custom answers, retrieval, tools, handoff). What the turn did is
recorded for the metrics: the reply, the passages it retrieved, the tools it called, the handoff and
its team. With `erase`, the test contact and everything the turn left (conversation, messages, tickets
it opened, the agent's memory) are erased afterwards, also when the turn failed, so a run on a live
tenant leaves no customers; an erase that fails is recorded on the case (erase_error), not the run.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from tqdm import tqdm

from evals.dataset import Case, Dataset
from inbox.turns import Turns

log = logging.getLogger(__name__)

CHANNEL = "evals"
Eraser = Callable[[str, str], None]  # (tenant_id, contact_id)


@dataclass
class CaseRun:
    """What the agent did for one case."""

    case_id: str
    reply: str = ""
    contexts: list[dict[str, str]] = field(default_factory=list)  # {id, name, text}, best first
    actions: list[dict[str, Any]] = field(default_factory=list)  # {tool, args, result}
    handoff: bool = False
    handoff_team: str | None = None
    route: str = ""
    turns: list[dict[str, Any]] = field(
        default_factory=list
    )  # earlier turns: {message, reply, route, handoff}
    seconds: float = 0.0
    error: str | None = None  # the turn failed
    erase_error: str | None = None  # the test contact could not be erased (it is still there)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def run_case(turns: Turns, tenant_id: str, case: Case, erase: Eraser | None = None) -> CaseRun:
    started = time.perf_counter()
    # The conversation (and its test contact) exists before the turn, so a turn that fails midway
    # still leaves something to erase.
    conversation = turns.inbox.open(tenant_id, None, None, CHANNEL)
    run = CaseRun(case.id)
    try:
        for turn in case.turns:
            earlier = turns.chat(tenant_id, turn.message, conversation_id=conversation.id, channel=CHANNEL)
            run.turns.append(
                {
                    "message": turn.message,
                    "reply": earlier.reply,
                    "route": earlier.route,
                    "handoff": earlier.handoff,
                }
            )
        result = turns.chat(tenant_id, case.question, conversation_id=conversation.id, channel=CHANNEL)
        run.handoff_team = turns.inbox.get(tenant_id, conversation.id).handoff_team
        run.reply, run.route, run.handoff = result.reply, result.route, result.handoff
        run.contexts = [dict(s) for s in result.sources]
        run.actions = [dict(a) for a in result.actions]
    except Exception as exc:  # one broken case is a failed case, not a failed run
        log.exception("eval case %s failed", case.id)
        run.error = f"{type(exc).__name__}: {exc}"
    finally:
        run.seconds = time.perf_counter() - started
        if erase is not None:
            try:
                erase(tenant_id, conversation.contact_id)
            except Exception as exc:  # a customer left behind is reported on the case, not a failed run
                log.exception("erasing the test contact of eval case %s failed", case.id)
                run.erase_error = f"{type(exc).__name__}: {exc}"
    return run


async def run_dataset(
    turns: Turns,
    tenant_id: str,
    dataset: Dataset,
    score: Callable[[Case, CaseRun], Awaitable[dict[str, Any]]],
    *,
    erase: Eraser | None = None,
    progress: bool = True,
    on_case: Callable[[int, int], None] | None = None,
) -> list[dict[str, Any]]:
    """Run the cases in order, each scored (by `score`, which may ask a slow judge) before the next
    starts, so the progress bar and `on_case(done, total)` (a job's done_cases) count finished cases.
    A turn runs in a worker thread: the agent is synchronous and may run an event loop of its own."""
    cases: Iterable[Case] = tqdm(
        dataset.cases,
        desc=f"evals {dataset.name}",
        unit="case",
        disable=not progress,
        file=sys.stderr,
        dynamic_ncols=True,
    )
    results = []
    for done, case in enumerate(cases, start=1):
        run = await asyncio.to_thread(run_case, turns, tenant_id, case, erase)
        results.append(await score(case, run))
        if on_case is not None:
            on_case(done, len(dataset.cases))
    return results
