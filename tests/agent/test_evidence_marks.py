"""Which units of a passage the evidence step marks, and how the offline responder joins them."""

from __future__ import annotations

from agent.evidence import Unit, answer_first, mark, not_repeated, score_units, topic, units_of
from agent.models.local import _joined
from knowledge.services import SearchHit

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
        {"text": "5222: 內部通訊", "item": False},
        {"text": "7443: cluster API", "item": False},
        {"text": "30000–30100: 對外服務範圍", "item": False},
    ]
    assert _joined(units) == "5222: 內部通訊。7443: cluster API. 30000–30100: 對外服務範圍。"


def _hit(chunk_id: str, text: str, cosines: dict[str, float]) -> SearchHit:
    _, question, units = units_of(text)
    scored = {i: (cosines.get(u.text, 0.8), f"{question}: {u.text}") for i, u in enumerate(units)}
    return SearchHit(text, 1.0, "s", "faq.txt", chunk_id, dense=max(cosines.values()), units=scored)


REFERRALS = (
    "Referrals\nHow much storage can I earn?\nEach friend earns you 10 GB.\nYou can at most double your plan."
)
FAMILY = "Family\nHow many members can a family have?\nThe limit is five members."
PAYMENT = "Payment\nWhich cards do you take?\nWe take Visa and Mastercard."
PAYPAL = "Payment\nCan I pay with PayPal?\nPayPal is not supported yet."


def test_a_follow_up_that_names_something_new_goes_where_that_is_named() -> None:
    cards = _hit("cards", PAYMENT, {"We take Visa and Mastercard.": 0.86})
    paypal = _hit("paypal", PAYPAL, {"PayPal is not supported yet.": 0.85})
    ordered = answer_first([cards, paypal], "what about PayPal? (cards take)", "what about PayPal?")
    assert [h.chunk_id for h in ordered] == ["paypal", "cards"]


def test_a_follow_up_that_names_nothing_new_stays_on_its_subject() -> None:
    # "limit" is written in the family page, but the customer asks about the referrals before
    referrals = _hit("referrals", REFERRALS, {"You can at most double your plan.": 0.85})
    family = _hit("family", FAMILY, {"The limit is five members.": 0.86})
    ordered = answer_first([referrals, family], "any upper limit? (earn storage)", "any upper limit?")
    assert [h.chunk_id for h in ordered] == ["referrals", "family"]


UNINSTALL = """Servers › Uninstall
First remove the server and its services from the dashboard.
Removing the server does not remove the infrastructure installed on it.
The infrastructure runs on K3s, so follow the K3s uninstall steps.
$ /usr/local/bin/k3s-uninstall.sh"""


def test_asked_how_to_do_something_the_command_is_marked_with_the_best_units() -> None:
    _, _, units = units_of(UNINSTALL)
    for unit, score in zip(units, (0.9, 0.89, 0.88, 0.7), strict=True):
        unit.score = score  # the command's own cosine is low: a shell line reads like no question
    mark("How do I remove everything from my machine?", units, "moderate")
    marked = [u.text for u in units if u.marked]
    assert marked[-1] == "$ /usr/local/bin/k3s-uninstall.sh"
    assert len(marked) == 4  # the three best units, and the command


def test_a_command_is_not_marked_for_a_question_that_asks_no_way_to_do_something() -> None:
    _, _, units = units_of(UNINSTALL)
    for unit, score in zip(units, (0.9, 0.89, 0.88, 0.7), strict=True):
        unit.score = score
    mark("Does removing the server remove the infrastructure?", units, "moderate")
    assert not units[-1].marked


def test_a_lead_in_brings_the_command_after_it() -> None:
    units = [
        Unit("Or connect over SSH and run:", item=False, score=1.0),
        Unit("sudo systemctl disable --now k3s containerd", item=False),
        Unit("Every container on the server stops.", item=False),
    ]
    mark("What do I run to turn it off?", units, "brief")
    assert [u.marked for u in units] == [True, True, False]


CAPPED = (
    "Referrals\nHow much storage can I earn through referrals?\nEach friend earns you 10 GB."
    "\nThe storage you earn is limited by your plan.\nSo you can get at most twice your plan's space."
    "\nFor example, a 50 GB plan can earn 50 GB more.\nYour earnings are on the Claim screen."
    "\nEarnings past your plan wait until you upgrade."
)
EARN = "Storage\nHow do I get extra space?\nInvite your friends.\nFriends who subscribe earn you storage."


def test_a_limit_said_in_words_answers_a_question_about_a_maximum() -> None:
    # all units equally close by cosine: the kind of fact asked for decides. A limit said in words ("at
    # most") counts like a number, so the sentence that answers is not left behind the examples.
    _, _, units = score_units("is there a maximum?", CAPPED, {})
    limit = next(u for u in units if "at most" in u.text)
    words_only = next(u for u in units if u.text.startswith("Your earnings"))
    assert limit.score > words_only.score
    assert limit.score == max(u.score for u in units if "Each friend" not in u.text)


def test_a_follow_up_does_not_get_the_previous_reply_again() -> None:
    earn = _hit("earn", EARN, {"Friends who subscribe earn you storage.": 0.9})
    capped = _hit("capped", CAPPED, {"So you can get at most twice your plan's space.": 0.88})
    said = "Sure! Invite your friends. Friends who subscribe earn you storage."
    question = "is there a maximum? (extra space friends)"
    ordered = not_repeated([earn, capped], question, "moderate", "is there a maximum?", said)
    assert [h.chunk_id for h in ordered] == ["capped", "earn"]
    # on a first turn, or when the reply before said something else, the order stands
    assert not_repeated([earn, capped], question, "moderate", "is there a maximum?", "") == [earn, capped]
    other = not_repeated([earn, capped], question, "moderate", "is there a maximum?", "Sure! Visa.")
    assert [h.chunk_id for h in other] == ["earn", "capped"]


def test_a_follow_up_does_not_leave_its_subject_to_avoid_repeating() -> None:
    tiers = _hit("tiers", "Referral tiers\nLevel 1: 10% off\nLevel 5: 50% off", {"Level 5: 50% off": 0.9})
    upgrade = _hit("upgrade", "Plans\nHow do I upgrade my plan?\nOpen Billing and pick a plan.", {"x": 0.8})
    said = "Sure! Referral tiers. Level 1: 10% off. Level 5: 50% off."
    # everything the tiers page says was said, but the other page holds none of the question's words
    ordered = not_repeated(
        [tiers, upgrade], "and the top level? (referral tiers)", "brief", "and the top level?", said
    )
    assert [h.chunk_id for h in ordered] == ["tiers", "upgrade"]


def test_the_next_topic_carries_the_faq_question_that_answered_in_the_customers_language() -> None:
    answered = {"question": "How do I get extra space?"}
    assert topic("If a friend signs up, what do I get?", answered, "en") == (
        "If a friend signs up, what do I get? How do I get extra space?"
    )
    assert topic("朋友登記有咩著數？", answered, "zh") == "朋友登記有咩著數？"  # not a subject in English
    assert topic("How do I get extra space?", answered, "en") == "How do I get extra space?"


def test_asked_which_options_there_are_the_whole_list_is_marked_with_its_lead_in() -> None:
    units = [
        Unit("Cards are billed in US dollars.", item=False, score=0.85),
        Unit("We accept all these cards:", item=False, score=0.86),
        *(Unit(card, item=True, score=0.87) for card in ("Visa", "Mastercard", "American Express", "JCB")),
        Unit("Refunds take a week.", item=False, score=0.80),
    ]
    units[3].score = units[5].score = 0.88  # the two cards e5 likes best
    mark("Which cards do you take?", units, "brief")
    assert [u.text for u in units if u.marked] == [
        "We accept all these cards:",
        "Visa",
        "Mastercard",
        "American Express",
        "JCB",
    ]
    for unit in units:
        unit.marked = False
    mark("Do you take Mastercard?", units, "brief")  # not asking for the options: the best unit alone
    assert sum(u.marked for u in units) == 1
