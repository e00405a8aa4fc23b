"""Ingestion throughput against the embedder's raw throughput on the same texts, and re-ingest cost.

Embedded default (SQLite + Qdrant Edge). Mixed sources: a Markdown FAQ, an XLSX price list
and a multi-page PDF, together over 1,000 chunks.

    .venv/bin/python bench/ingest.py
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fpdf import FPDF  # noqa: E402
from openpyxl import Workbook  # noqa: E402

from bench.common import Timer, environment  # noqa: E402
from knowledge.chunking import chunk_parts  # noqa: E402
from knowledge.ingest_job import extract_file  # noqa: E402
from knowledge.sources import SourceService  # noqa: E402

TOPICS = [
    "delivery",
    "returns",
    "warranty",
    "membership",
    "payment",
    "booking",
    "opening hours",
    "gift cards",
]


def faq(n: int) -> bytes:
    lines = ["# Help centre"]
    for i in range(n):
        topic = TOPICS[i % len(TOPICS)]
        lines += [
            f"## {topic.title()} question {i}",
            f"Q: What is rule {i} about {topic}?",
            f"A: Rule {i} says that {topic} requests for order {1000 + i} are handled within {i % 9 + 1} working days. "
            f"Customers in district {i % 18} can ask the branch on floor {i % 30} for help.",
        ]
    return "\n\n".join(lines).encode()


def price_list(n: int) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["SKU", "Product", "Category", "Price (HK$)", "Stock"])
    for i in range(n):
        sheet.append(
            [
                f"SKU-{i:05d}",
                f"Product {i} {TOPICS[i % 8]} edition",
                TOPICS[(i * 3) % 8],
                50 + i % 900,
                i % 40,
            ]
        )
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def manual(pages: int) -> bytes:
    pdf = FPDF()
    pdf.set_font("Helvetica", size=11)
    for p in range(pages):
        pdf.add_page()
        for s in range(4):
            pdf.set_font("Helvetica", "B", 12)
            pdf.cell(0, 8, f"Section {p}.{s}", new_x="LMARGIN", new_y="NEXT")
            pdf.set_font("Helvetica", "", 11)
            pdf.multi_cell(
                0,
                6,
                f"Section {p}.{s} explains how {TOPICS[(p + s) % 8]} works for model {p * 10 + s}. "
                f"The device must be charged for {s + 2} hours before first use. Keep it away from water.",
                new_x="LMARGIN",
                new_y="NEXT",
            )
    return bytes(pdf.output())


def main() -> None:
    files = {"faq.md": faq(400), "prices.xlsx": price_list(450), "manual.pdf": manual(50)}
    with environment() as env:
        sources: SourceService = env.knowledge.sources
        embedder = env.knowledge.embedder
        tenant, _ = env.core.tenants.create("Bench")

        # The same texts the pipeline embeds: every unit densely, every chunk's latent terms.
        chunks = []
        for name, data in files.items():
            chunks += chunk_parts(extract_file(name.rsplit(".", 1)[1], data, 1000).parts)
        unit_texts = [t for c in chunks for t in (c.text, *c.units)]
        with Timer() as raw:
            embedder.passages(unit_texts)
            embedder.latent([c.text for c in chunks])

        with Timer() as first:
            ids = [sources.add_file(tenant.id, name, data).id for name, data in files.items()]
            env.core.jobs.drain()
        total = sum(sources.get(tenant.id, i).chunks for i in ids)
        assert total == len(chunks), (total, len(chunks))

        with Timer() as again:
            for source_id, (name, data) in zip(ids, files.items(), strict=True):
                sources.replace_file(tenant.id, source_id, name, data)
            env.core.jobs.drain()

        print(f"chunks: {total} ({len(unit_texts)} embedded units) from {len(files)} sources (md, xlsx, pdf)")
        print(f"embedder raw:      {raw.seconds:7.1f} s  {total / raw.seconds:6.1f} chunks/s")
        print(
            f"ingest pipeline:   {first.seconds:7.1f} s  {total / first.seconds:6.1f} chunks/s  "
            f"overhead {100 * (first.seconds / raw.seconds - 1):+.1f}% (target <= 25%)"
        )
        print(
            f"re-ingest same:    {again.seconds:7.2f} s  = {100 * again.seconds / first.seconds:.1f}% of first ingest "
            f"(target <= 5%)"
        )


if __name__ == "__main__":
    main()
