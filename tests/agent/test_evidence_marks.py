"""Which units of a passage the evidence step marks, and how the offline responder joins them."""

from __future__ import annotations

from agent.evidence import Unit, mark, units_of
from agent.models.local import _joined

# A section whose answer is a table (chunking renders a two-column row as "key: value").
PORTS = """Servers › Ports
These ports must stay open for the platform to manage the machine:
Port: Use
22: SSH
80: HTTP
443: HTTPS
5222: internal messaging
7443: cluster API
Blocking them leaves the machine unmanaged."""


def test_a_lead_in_brings_its_table_rows_like_a_list() -> None:
    _, _, units = units_of(PORTS)
    lead_in = next(u for u in units if u.text.endswith(":"))
    lead_in.score = 1.0  # the unit that matched the question best
    mark("Which ports must be open?", units, "brief")
    marked = [u.text for u in units if u.marked]
    assert marked[0] == lead_in.text
    assert "5222: internal messaging" in marked and "7443: cluster API" in marked


def test_a_lead_in_stops_at_the_first_unit_that_is_neither_item_nor_row() -> None:
    units = [
        Unit("We accept:", item=False, score=1.0),
        Unit("Visa", item=True),
        Unit("Refunds take a week.", False),
    ]
    mark("Which cards do you take?", units, "brief")
    assert [u.marked for u in units] == [True, True, False]


def test_joined_units_run_on_in_chinese_and_take_a_space_after_english() -> None:
    units = [
        {"text": "4222: 內部通訊", "item": False},
        {"text": "6443: K3s API Server", "item": False},
        {"text": "30000–32767: NodePort 範圍", "item": False},
    ]
    assert _joined(units) == "4222: 內部通訊。6443: K3s API Server. 30000–32767: NodePort 範圍。"
