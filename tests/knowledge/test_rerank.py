"""The evidence the reranker and the gate read: word coverage across languages, answer types, and the
per-language calibration of fused scores."""

from __future__ import annotations

from knowledge import answer_types
from knowledge.bilingual import lexicon
from knowledge.coverage import coverage
from knowledge.index import DENSE, LATENT, SPARSE, Hit
from knowledge.lexical import stem
from knowledge.rerank import lists_asked, rerank
from knowledge.retrieval import TRANSLATED, Candidate, fuse, translated_query
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


PORTS_ZH = "必要連接埠\n以下連接埠為系統正常運作所需，請勿封鎖：22、80、443、6443。請確認機器的防火牆已開放。"
DEPLOY_EN = "Why is my deployment failing?\nCheck your build logs and make sure your app listens on the PORT variable."
BILLING_EN = [f"Billing question {i}\nInvoices are issued monthly in US dollars." for i in range(4)]


def _hits(
    dense: list[tuple[str, str, float, str]], translated: list[tuple[str, str, float, str]]
) -> dict[str, list[Hit]]:
    def hit(chunk_id: str, text: str, score: float, lang: str) -> Hit:
        return Hit(chunk_id, "s", text, 0, score, lang)

    return {
        DENSE: [hit(*h) for h in dense],
        LATENT: [],
        SPARSE: [],
        TRANSLATED: [hit(*h) for h in translated],
    }


def test_an_english_question_is_put_into_chinese_for_the_other_side() -> None:
    line = translated_query("Which ports must I open on my machine so Zeabur can manage it?")
    assert line is not None and "連接埠" in line and "機器" in line and "zeabur" in line.lower()
    assert translated_query("伺服器要開邊啲 port？") is None  # only English is put across
    assert translated_query("Can you do it now?") is None  # nothing rare enough to translate


def _scores(question: str, hits: dict[str, list[Hit]]) -> dict[str, float]:
    return {c.chunk_id: c.score for c in fuse(question, hits)}


QUESTION = "Which ports have to be open on my own machine?"
CHINESE = [("ports", PORTS_ZH, 0.852, "zh")] + [
    (f"zh{i}", f"其他頁面 {i}\n帳單每月以美元發出。", 0.845 - i * 0.005, "zh") for i in range(4)
]
ACROSS = [("ports", PORTS_ZH, 0.91, "zh")] + [
    (c, t, 0.84 - i * 0.005, "zh") for i, (c, t, _, _) in enumerate(CHINESE[1:])
]


def test_a_chinese_only_page_moves_up_past_english_pages_about_something_else() -> None:
    """e5 puts the English deployment page first (it says "port"); the question's words in Chinese find
    the Chinese page, which holds more of them than any English page: it moves up, nothing moves down."""
    english = [("deploy", DEPLOY_EN, 0.86, "en")] + [
        (f"bill{i}", text, 0.83 - i * 0.005, "en") for i, text in enumerate(BILLING_EN)
    ]
    dense = sorted(english + CHINESE, key=lambda h: h[2], reverse=True)
    before = _scores(QUESTION, _hits(dense, []))
    after = _scores(QUESTION, _hits(dense, ACROSS))
    assert max(before, key=before.__getitem__) == "deploy"
    assert after["ports"] - before["ports"] > 0.8  # W_TRANSLATED x about two standard deviations
    assert all(after[c] == before[c] for c in before if c != "ports" and not c.startswith("zh"))
    assert all(after[c] >= before[c] for c in before)


def test_a_page_with_an_english_twin_keeps_it() -> None:
    """An English page holds the question's words itself: the Chinese side is left where it was."""
    ports_en = "Required ports\nThese ports must stay open on your machine: 22, 80, 443, 6443."
    dense = sorted(
        [("ports-en", ports_en, 0.87, "en"), ("deploy", DEPLOY_EN, 0.86, "en"), *CHINESE],
        key=lambda h: h[2],
        reverse=True,
    )
    assert _scores(QUESTION, _hits(dense, ACROSS)) == _scores(QUESTION, _hits(dense, []))


def test_a_way_to_do_something_is_asked_and_a_command_carries_it() -> None:
    for question in ("How do I uninstall it?", "how to turn it off", "點樣停用 Zeabur？", "如何解除安裝？"):
        assert answer_types.asked(question)[-1] == "steps", question
    assert "steps" not in answer_types.asked("Do you take PayPal?")
    for line in ("$ /usr/local/bin/k3s-uninstall.sh", "sudo systemctl disable --now k3s containerd"):
        assert answer_types.carries(line, "steps"), line
    # prose that names a tool is not a command, and a passage is not judged by its commands
    for line in (
        "Click SSH in the dashboard.",
        "您也可以點擊 SSH 選項",
        "Docker Compose services run as well.",
    ):
        assert not answer_types.carries(line, "steps"), line
    assert answer_types.evidence(["steps"], "Open Settings and press Delete.") == 0.0


def test_a_list_introduced_as_what_is_asked_about_moves_above_a_close_faq() -> None:
    """ "Which cards do you take?": e5 puts the FAQ about a declined card closest; the section whose lead-in
    names the cards and lists them is the answer."""
    declined = Candidate(
        "declined",
        "s",
        "Payment › FAQ\nWhat if my card is declined?\n- Check the balance.\n- Try another card.",
        "en",
    )
    cards = Candidate(
        "cards",
        "s",
        "Payment › Cards\nWe accept these credit and debit cards:\n- Visa\n- Mastercard\n- JCB",
        "en",
    )
    declined.score, cards.score = 4.8, 3.1  # fused: the FAQ well ahead
    terms = content_terms("Which cards do you take?")
    assert lists_asked(terms, cards.text) and not lists_asked(terms, declined.text)
    assert [c.chunk_id for c in rerank("Which cards do you take?", [declined, cards])] == [
        "cards",
        "declined",
    ]
    # a question that does not ask for options keeps the fused order (rerank adds to the scores it gets)
    declined.score, cards.score = 4.8, 3.1
    assert [c.chunk_id for c in rerank("Is my card safe?", [declined, cards])][0] == "declined"


def test_minimum_meets_the_words_a_chinese_page_writes_it_with() -> None:
    page = "開機要求\n每部主機至少要有 4 GB 記憶體同兩個處理器核心。"
    assert "至少" in lexicon().chinese("minimum")
    assert coverage(content_terms("What's the minimum RAM?"), page) == 1.0


def test_cantonese_asks_which_options_and_a_chinese_lead_in_names_them() -> None:
    assert answer_types.asked("租主機可以揀咩作業系統？")[:1] == ["options"]
    assert answer_types.asked("有咩著數？") == []  # "what benefits": not a choice among listed options
    page = "作業系統\n購買主機時可以選擇機器要執行的作業系統：\n- 甲系統\n- 乙系統"
    assert lists_asked(content_terms("租主機可以揀咩作業系統？"), page)
