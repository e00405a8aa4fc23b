"""The gate's absent-words rule: a question whose words the knowledge holds in neither language is about
something else. Knowledge written here: a photo-book printer, "Lumen", named on every page."""

from __future__ import annotations

from agent.gate import absent_words
from knowledge.vocabulary import Vocabulary

PAGES = [
    "Lumen plans\nThe Lumen Basic plan costs US$4 a month and stores 50 GB of photos.",
    "Lumen family\nA Lumen family plan shares its storage with up to five people.",
    "Lumen payment\nLumen takes Visa, Mastercard and PayPal. Invoices are sent by email.",
    "Lumen refunds\nA Lumen subscription cancelled within 14 days is refunded in full.",
    "Lumen storage\nDeleted photos stay in the Lumen trash for 30 days before they are removed.",
    "Lumen support\nWrite to help@lumen.example and Lumen answers within one working day.",
]


def test_the_business_name_on_every_page_does_not_hide_the_missing_topic() -> None:
    knowledge = Vocabulary.of(PAGES)
    # "Lumen" is everywhere, "lifetime" nowhere: the question is about the missing word
    assert absent_words("Is there a lifetime Lumen plan, paid for once?", knowledge) == ["lifetime"]


def test_fairly_rare_words_count_when_most_of_the_question_is_missing() -> None:
    knowledge = Vocabulary.of(PAGES)
    # no word rarer than zipf 4.5; "gift" (4.8) is the one the knowledge lacks
    assert absent_words("Can I buy a gift card for a friend?", knowledge) == ["gift"]


def test_a_question_the_knowledge_speaks_of_keeps_its_words() -> None:
    knowledge = Vocabulary.of(PAGES)
    for question in (
        "How much is the Lumen family plan?",
        "Can I get a refund if I cancel my subscription?",
        "How long do deleted photos stay in the trash?",
    ):
        assert absent_words(question, knowledge) == [], question
