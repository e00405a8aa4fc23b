"""XLSX budgets: peak memory growth and time to refuse the issue-18 bombs, against a normal 100-row sheet.

The bombs are built in memory: 20 million empty `<row></row>` (refused by the unpacked-size cap before
parsing), 5 million empty rows (under that cap, so refused by the streamed row count), and a sheet
declaring 16,384 columns (refused at its `<dimension>`). Building a bomb takes its unpacked size in
memory, so each file is written to a temporary folder and loaded by a fresh Python process, which
prints how far loading moved its peak RSS.

    .venv/bin/python bench/loader_budget.py
"""

from __future__ import annotations

import io
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from openpyxl import Workbook  # noqa: E402

from core.errors import ParleyError  # noqa: E402
from knowledge.loaders.spreadsheet import load_xlsx  # noqa: E402
from tests.knowledge.xlsx_parts import empty_rows, wide_declared  # noqa: E402


def normal_sheet(rows: int) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["Item", "Price (HK$)", "Notes"])
    for i in range(rows):
        sheet.append([f"Treatment {i}", 100 + i, "Includes a consultation and an aftercare kit."])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def peak_mb() -> float:
    """VmHWM, this process's peak RSS (ru_maxrss would carry the parent's over fork and exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(label: str, path: Path) -> None:
    """In a fresh process: load one file and print the time and the peak RSS growth."""
    data = path.read_bytes()
    before = peak_mb()
    started = time.perf_counter()
    try:
        outcome = f"{len(load_xlsx(data).parts)} rows loaded"
    except ParleyError as exc:
        outcome = f"refused: {exc.message[:80]}"
    elapsed = (time.perf_counter() - started) * 1000
    print(
        f"{label:<36} {len(data) / 1024:7.1f} KB {elapsed:8.1f} ms  peak RSS +{peak_mb() - before:5.1f} MB"
        f" (of {peak_mb():.0f})  {outcome}"
    )


def main() -> None:
    cases = {
        "normal sheet, 100 rows": lambda: normal_sheet(100),
        "declared A1:XFD100 (16,384 columns)": wide_declared,
        "5,000,000 empty rows": lambda: empty_rows(5_000_000),
        "20,000,000 empty rows": lambda: empty_rows(20_000_000),
    }
    with tempfile.TemporaryDirectory(prefix="parley-bench-") as tmp:
        for i, (label, build) in enumerate(cases.items()):
            path = Path(tmp) / f"{i}.xlsx"
            path.write_bytes(build())
            subprocess.run([sys.executable, __file__, "--load", label, str(path)], check=True)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--load"]:
        measure(sys.argv[2], Path(sys.argv[3]))
    else:
        main()
