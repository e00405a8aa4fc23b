"""Structure-aware chunking: FAQ questions, headings, lists and tables, with or without blank lines, in
English and Chinese. Written FAQs of our own; the faq-dev documents are read from ../shared when present."""

from __future__ import annotations

from pathlib import Path

import pytest

from knowledge.chunking import chunk_text, parse_chunk
from knowledge.structure import structure

FLAT_FAQ = """Pricing
How much is the Basic plan?
The Basic plan is HK$120 a month.
It includes 2 users.
Is there a free trial?
Yes. Every new account gets 14 days free.
Payment
Which payment methods do you accept?
We accept:
- Visa and Mastercard
- FPS
- PayPal (annual plans only)
收費
基本方案每月幾錢？
基本方案每月 HK$120，包兩位用戶。
可以用八達通付款嗎？
不可以，只接受信用卡及轉數快。
"""


def test_a_plain_text_faq_without_blank_lines_becomes_one_chunk_per_question() -> None:
    chunks = chunk_text(FLAT_FAQ)
    questions = [c.question for c in chunks]
    assert questions == [
        "How much is the Basic plan?",
        "Is there a free trial?",
        "Which payment methods do you accept?",
        "基本方案每月幾錢？",
        "可以用八達通付款嗎？",
    ]
    trial = chunks[1]
    assert trial.kind == "qa" and trial.title == "Pricing"
    # The answer stops before the next question: it never ends on the next FAQ's question.
    assert "Which payment" not in trial.text and "Yes. Every new account gets 14 days free." in trial.body
    assert chunks[3].title == "收費" and "HK$120" in chunks[3].body


def test_a_list_stays_with_its_lead_in_and_its_items_are_units() -> None:
    payment = chunk_text(FLAT_FAQ)[2]
    assert payment.title == "Payment"
    assert payment.body.splitlines() == [
        "Which payment methods do you accept?",
        "We accept:",
        "- Visa and Mastercard",
        "- FPS",
        "- PayPal (annual plans only)",
    ]
    assert payment.units[0] == "Which payment methods do you accept?"
    assert "Which payment methods do you accept?: PayPal (annual plans only)" in payment.units


def test_a_paragraph_wrapped_at_a_fixed_width_reads_as_one_text() -> None:
    wrapped = (
        "Cancelling\nIf you cancel a booking less than a day ahead, your\ndeposit is kept. Call us to move "
        "the\nbooking instead.\nDeleting\nDelete your account from its settings page.\n"
    )
    lines = [(line.kind, line.text) for line in structure(wrapped) if line.kind != "blank"]
    assert lines == [
        ("heading", "Cancelling"),
        (
            "text",
            "If you cancel a booking less than a day ahead, your deposit is kept. Call us to move the booking "
            "instead.",
        ),
        ("heading", "Deleting"),
        ("text", "Delete your account from its settings page."),
    ]
    assert "your deposit is kept." in chunk_text(wrapped)[0].units[0]


def test_question_forms_q_prefix_numbered_and_full_width() -> None:
    text = "Q: Do you deliver on Sundays?\nA: No, Monday to Saturday only.\n1. 可唔可以改地址？\n可以，出貨前都可以改。\n問：有冇學生優惠？\n答：有，九折。"
    chunks = chunk_text(text)
    assert [c.question for c in chunks] == [
        "Do you deliver on Sundays?",
        "可唔可以改地址？",
        "有冇學生優惠？",
    ]
    assert chunks[0].body.splitlines()[1] == "No, Monday to Saturday only."
    assert chunks[2].body.endswith("有，九折。")


def test_markdown_headings_give_the_path_and_a_question_heading_over_sections_is_a_heading() -> None:
    text = (
        "# Servers\n\n## FAQ\n\n### Can I upgrade later?\n\nYes, from the settings page.\n\n"
        "## Want to switch later?\n\n### Convert a machine\n\nReinstall it from the danger zone.\n"
    )
    chunks = chunk_text(text)
    assert chunks[0].title == "Servers › FAQ" and chunks[0].question == "Can I upgrade later?"
    assert chunks[1].title == "Servers › Want to switch later? › Convert a machine"
    assert chunks[1].question == ""


def test_tables_become_rows_and_code_is_never_a_heading() -> None:
    text = (
        "## Plans\n\n| Item | Details |\n| --- | --- |\n| Monthly fee | US$79 |\n| Extra seat | US$24 |\n\n"
        "```bash\n# list images\ndocker images\n```\n"
    )
    lines = [line for line in structure(text) if line.kind != "blank"]
    assert [(line.kind, line.text) for line in lines] == [
        ("heading", "Plans"),
        ("row", "Monthly fee: US$79"),
        ("row", "Extra seat: US$24"),
        ("code", "# list images"),
        ("code", "docker images"),
    ]


def test_a_table_pasted_without_its_rule_line_keeps_its_header() -> None:
    text = "Plans compared\n| Feature | Pro | Team |\n| Monthly fee | US$19 | US$79 |\n| Log retention | 30 days | 90 days |\n"
    rows = [line.text for line in structure(text) if line.kind == "row"]
    assert rows == [
        "Feature: Monthly fee; Pro: US$19; Team: US$79",
        "Feature: Log retention; Pro: 30 days; Team: 90 days",
    ]


def test_a_stored_chunk_reads_back_as_title_question_and_lines() -> None:
    chunk = chunk_text(FLAT_FAQ)[0]
    title, question, lines = parse_chunk(chunk.text)
    assert (title, question) == ("Pricing", "How much is the Basic plan?")
    assert lines == ["The Basic plan is HK$120 a month.", "It includes 2 users."]


def test_a_long_answer_is_split_and_every_piece_keeps_its_question() -> None:
    sentences = " ".join(f"Rule number {i} applies to every order placed on a weekday." for i in range(40))
    chunks = chunk_text(f"What are the rules?\n{sentences}")
    assert len(chunks) > 1 and all(c.question == "What are the rules?" for c in chunks)


FAQ_DEV = Path(__file__).resolve().parents[3] / "shared" / "datasets" / "faq-dev"


@pytest.mark.skipif(not FAQ_DEV.is_dir(), reason="the faq-dev set is not at ../shared/datasets/faq-dev")
def test_every_faq_question_of_a_real_document_becomes_a_chunk_question() -> None:
    text = (FAQ_DEV / "ente-photos-storage-and-plans-faq.en.md").read_text(encoding="utf-8")
    asked = [line[4:].strip() for line in text.splitlines() if line.startswith("### ") and line.endswith("?")]
    chunked = {c.question for c in chunk_text(text)}
    assert asked and all(question in chunked for question in asked)


def test_a_faq_kept_in_a_spreadsheet_becomes_questions_with_answers() -> None:
    from knowledge.chunking import chunk_parts
    from knowledge.loaders import Part

    rows = [
        Part(
            text="Question: Do you deliver to Macau?; Answer: Yes, within 3 working days.",
            kind="row",
            title="FAQ",
        ),
        Part(text="問題: 可以用轉數快嗎？; 答案: 可以。", kind="row", title="FAQ"),
        Part(text="Service: Gel manicure; Price (HK$): 350", kind="row", title="Prices"),
    ]
    delivery, fps, price = chunk_parts(rows)
    assert delivery.kind == "qa" and delivery.question == "Do you deliver to Macau?"
    assert delivery.body == "Do you deliver to Macau?\nYes, within 3 working days."
    assert "Do you deliver to Macau?: Yes, within 3 working days." in delivery.units
    assert fps.question == "可以用轉數快嗎？" and fps.body.endswith("可以。")
    assert price.kind == "row" and price.body == "Service: Gel manicure; Price (HK$): 350"
