"""Ratings into a dataset: every thumbs-up/down given in the playground or the inbox (/v1/agent/feedback).

A thumbs-down with a corrected answer becomes a golden case (the correction is the reference); a
thumbs-up becomes a regression case (the approved reply is the reference: it must stay that good).
A thumbs-down without a correction has no reference to score against and is counted as skipped, as
is a rating that makes no valid case (a customer message over a case's length, an empty liked reply);
`reasons` says why for each.
The question is the customer's message the rated reply answered (earlier turns are not replayed).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import ValidationError

from evals.dataset import Case, Dataset, validation_problem
from inbox.models import Message
from inbox.store import InboxStore


@dataclass
class Export:
    dataset: Dataset
    skipped: int  # ratings that make no case (thumbs-down without a correction, and the like)
    reasons: list[str] = field(default_factory=list)  # why each skipped rating was skipped


def export_ratings(inbox: InboxStore, tenant_id: str, name: str = "ratings") -> Export:
    cases: list[Case] = []
    reasons: list[str] = []
    conversations: dict[str, tuple[list[Message], str]] = {}  # id -> (messages, channel), read once each
    for rating in inbox.feedback(tenant_id):
        case_id = f"rated-{rating.message_id}"
        if rating.rating == "down" and not (rating.correction or "").strip():
            reasons.append(f"{case_id}: thumbs-down without a corrected answer")
            continue
        reply = inbox.message(tenant_id, rating.message_id)
        if reply.conversation_id not in conversations:
            conversations[reply.conversation_id] = (
                inbox.messages(tenant_id, reply.conversation_id),
                inbox.get(tenant_id, reply.conversation_id).channel,
            )
        history, channel = conversations[reply.conversation_id]
        before = history[: next(i for i, m in enumerate(history) if m.id == reply.id)]
        question = next((m.text for m in reversed(before) if m.role == "customer"), None)
        if not question:
            reasons.append(f"{case_id}: no customer message before the rated reply")
            continue
        down = rating.rating == "down"
        try:
            case = Case(
                id=case_id,
                kind="golden" if down else "regression",
                question=question,
                reference=rating.correction if down else (reply.text.strip() or None),
                rating="down" if down else "up",
                comment=rating.comment,
                rated_reply=reply.text,
                tags=["rated", channel],
            )
        except ValidationError as exc:
            # A channel's message may exceed a case's limits, a liked reply may be empty: a rating
            # that makes no valid case is skipped with the reason, not a failed export.
            reasons.append(f"{case_id}: {validation_problem(exc)[1]}")
            continue
        cases.append(case)
    description = "Exported from the agent's ratings: thumbs-down with a correction, and thumbs-up."
    return Export(Dataset(name, "1", cases, description), len(reasons), reasons)
