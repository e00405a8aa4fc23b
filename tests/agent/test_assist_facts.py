"""The fact guard and the offline refinement rules, on the cases a review found: swapped values, a phone
number whose repeated group was taken for a doubled word, labels taken for articles, a dropped hedge."""

from __future__ import annotations

from agent.assist import facts, refine

DRAFT = "10:00 on 2025-05-01, HK$350 (members HK$320)"


def test_swapped_values_are_changed_facts() -> None:
    assert facts.dropped(DRAFT, DRAFT) == []
    assert facts.dropped("10:00 on 2025-01-05, HK$350 (members HK$320)", DRAFT) != []  # day and month
    assert facts.dropped("10:00 on 2025-05-01, HK$320 (members HK$350)", DRAFT) != []  # two prices
    # A translation may put the date first: compared without order, nothing is lost.
    translated = "2025-05-01 10:00，HK$350（會員 HK$320）"
    assert facts.dropped(translated, DRAFT, ordered=False) == []
    assert facts.dropped("2025-05-01 10:00，HK$350", DRAFT, ordered=False) == ["320"]


def test_a_repeated_number_is_kept_and_counted() -> None:
    refined = refine.refine(
        "please call 2345 2345 the the shop", language="en", tone="friendly", shorter=False
    )
    assert refined == "Please call 2345 2345 the shop."
    assert facts.dropped("Please call 2345.", "please call 2345 2345") == ["2345"]


def test_articles_labels_and_hedges() -> None:
    text = refine.refine(
        "Plan A is cheaper. a apple, grade A items", language="en", tone="friendly", shorter=False
    )
    assert text == "Plan A is cheaper. An apple, grade A items."
    shorter = refine.refine("i think we just open at 10", language="en", tone="friendly", shorter=True)
    assert shorter == "I think we open at 10."
