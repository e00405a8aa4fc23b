"""Ratings into a dataset: every thumbs-up/down given in the playground or the inbox (/v1/agent/feedback).

A thumbs-down with a corrected answer becomes a golden case (the correction is the reference); a
thumbs-up becomes a regression case (the approved reply is the reference: it must stay that good).
A thumbs-down without a correction has no reference to score against and is counted as skipped.
The question is the customer's message the rated reply answered (earlier turns are not replayed).
"""

from __future__ import annotations

from dataclasses import dataclass

from agent.service import AgentService
from evals.dataset import Case, Dataset


@dataclass
class Export:
    dataset: Dataset
    skipped: int  # thumbs-down without a correction


def export_ratings(agent: AgentService, tenant_id: str, name: str = "ratings") -> Export:
    inbox = agent.inbox
    cases, skipped = [], 0
    for rating in inbox.feedback(tenant_id):
        if rating.rating == "down" and not (rating.correction or "").strip():
            skipped += 1
            continue
        reply = inbox.message(tenant_id, rating.message_id)
        history = inbox.messages(tenant_id, reply.conversation_id)
        before = history[: next(i for i, m in enumerate(history) if m.id == reply.id)]
        question = next((m.text for m in reversed(before) if m.role == "customer"), None)
        if not question:
            skipped += 1
            continue
        down = rating.rating == "down"
        cases.append(
            Case(
                id=f"rated-{rating.message_id}",
                kind="golden" if down else "regression",
                question=question,
                reference=rating.correction if down else reply.text,
                rating="down" if down else "up",
                comment=rating.comment,
                rated_reply=reply.text,
                tags=["rated", inbox.get(tenant_id, reply.conversation_id).channel],
            )
        )
    description = "Exported from the agent's ratings: thumbs-down with a correction, and thumbs-up."
    return Export(Dataset(name, "1", cases, description), skipped)
