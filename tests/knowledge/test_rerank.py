"""The evidence the reranker and the gate read: word coverage across languages, answer types, and the
per-language calibration of fused scores."""

from __future__ import annotations

from knowledge import answer_types
from knowledge.bilingual import lexicon
from knowledge.index import DENSE, LATENT, SPARSE, Hit
from knowledge.lexical import stem
from knowledge.rerank import coverage
from knowledge.retrieval import fuse
from knowledge.terms import content_terms

TYPHOON = "Severe weather\nWhen Typhoon Signal No. 8 is in force, the salon closes."


def test_hong_kong_words_that_cedict_lacks_have_english_senses() -> None:
    assert "typhoon" in lexicon().english("風球")
    assert "deposit" in lexicon().english("按金")


def test_a_word_with_no_translation_says_nothing_about_a_page_in_the_other_language() -> None:
    # 八號 has no English sense to look for: it neither counts for nor against the English page.
    held = coverage(content_terms("八號風球會唔會開門？"), TYPHOON)
    without_translation = coverage(content_terms("八號會唔會開門？"), TYPHOON)
    assert held > 0.5 > without_translation


def test_a_translated_word_counts_as_held_and_a_missing_one_does_not() -> None:
    page = "Firewall\nThe server firewall blocks inbound traffic except ports 80 and 443."
    assert coverage(content_terms("防火牆預設開咗邊啲 port？"), page) > 0.5
    assert coverage(content_terms("What is the refund policy?"), page) == 0.0


def test_a_labelled_price_column_carries_a_price() -> None:
    assert answer_types.carries("Treatment: Facial; Price (HK$): 880", "price")
    assert answer_types.carries("療程：面部護理；收費：880", "price")
    assert not answer_types.carries("See the pricing page for details.", "price")
    assert answer_types.evidence(answer_types.asked("How much is a facial?"), "Price (HK$): 880") == 1.0


def test_a_row_in_both_languages_competes_with_the_questions_language() -> None:
    """Five price rows (English with Chinese names) all match "How much is a facial?" closely; an English
    FAQ entry matches less. In a group of their own the rows would be centred on each other and lose."""
    rows = [
        Hit(f"row{i}", "s", f"Facial {i}; 中文名稱: 面部護理; Price (HK$): 880", 0, 0.87, "mixed")
        for i in range(5)
    ]
    faq = [Hit(f"faq{i}", "s", f"FAQ entry {i}", 0, 0.845 - i * 0.01, "en") for i in range(5)]
    hits = {DENSE: sorted(rows + faq, key=lambda h: h.score, reverse=True), LATENT: [], SPARSE: []}
    ranked = fuse("How much is a facial?", hits)
    assert ranked[0].chunk_id.startswith("row")


def test_a_chinese_compound_is_held_by_its_head_word() -> None:
    cards = "付款方式\n本店接受以下信用卡：\n- Visa\n- Mastercard\n- 銀聯"
    assert coverage(content_terms("收唔收銀聯卡呀？"), cards) == 1.0


def test_a_hyphenated_word_is_held_where_each_of_its_parts_is() -> None:
    renewal = "會籍續期\n會籍到期前會自動續約，我們每日檢查一次你的帳戶餘額。"
    assert coverage(content_terms("How often does auto-renewal check my balance?"), renewal) > 0.7


def test_a_question_for_options_is_told_from_one_that_names_a_thing() -> None:
    assert answer_types.asked("Which cards do you take?") == ["options"]
    assert answer_types.asked("有邊啲付款方式？") == ["options"]
    assert answer_types.asked("Which plan is best for me?") == []
    # "when" inside a sentence is not a question for a time
    assert answer_types.asked("What operating systems can I pick when buying a server?") == ["options"]
    assert "duration" in answer_types.asked("When will I be charged?")
    # the asking word goes, what the options are of stays (a follow-up carries it over)
    assert "cards" in answer_types.without_asks("Which cards do you take?")


def test_a_list_a_table_or_a_series_of_names_carries_options_and_a_plain_sentence_does_not() -> None:
    assert answer_types.carries("We accept:\n- Visa\n- Mastercard", "options")
    assert answer_types.carries("Port: Use\n22: SSH\n443: HTTPS", "options")
    assert answer_types.carries("我們與 AWS、GCP、Hetzner 合作。", "options")
    assert answer_types.carries("We take Visa, Mastercard and JCB.", "options")
    assert not answer_types.carries("Yes, you can, but only once a month.", "options")
    # lists are on every page: asking for options does not rank one page over another
    assert answer_types.evidence(["options"], "no list here") == 0.0


def test_words_of_messaging_products_as_hong_kong_writes_them_have_english_senses() -> None:
    assert "referral" in lexicon().english("推薦")
    assert stem("storage") in lexicon().english("空間")
    assert "bot" in lexicon().english("機械人")
    assert "機械人" in lexicon().chinese("bot")
