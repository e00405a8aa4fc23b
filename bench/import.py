"""Bulk contact import: rows/s and peak memory for 100,000 CSV rows, beside the same file only parsed.

Each measurement runs in a fresh child process (embedded default: SQLite in a temporary data dir) and
reports its own wall time and peak resident memory. The baseline reads and splits the same CSV with the
csv module and does nothing else. Importing 10,000 rows too shows whether memory grows with the file
(it should not: rows stream and are written in batches).

    .venv/bin/python bench/import.py [rows]
"""

from __future__ import annotations

import csv
import json
import random
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

FIRST = ["Kerry", "Sam", "Mandy", "Tai Man", "Ann", "Bo", "Chloe", "大文", "美玲", "志明"]
LAST = ["Chan", "Wong", "Lee", "Cheung", "Lau", "Ho", "陳", "黃", "李"]


def write_csv(path: Path, rows: int) -> None:
    rng = random.Random(7)
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["First name", "Last name", "E-mail", "Mobile", "Company", "Plan", "Budget", "Tags"])
        for n in range(rows):
            email = f"user{n}@example.com" if n % 50 else "not-an-email"  # 2 % of rows are bad
            writer.writerow(
                [
                    rng.choice(FIRST),
                    rng.choice(LAST),
                    email,
                    f"+852 {60000000 + n}",
                    rng.choice(["Harbour Tech", "Lotus Glow", "", "Kowloon Trading"]),
                    rng.choice(["basic", "premium"]),
                    rng.randint(1, 50) * 1000,
                    rng.choice(["vip", "hk|newsletter", ""]),
                ]
            )


CHILD_PARSE = """
import csv, resource, sys, time
start = time.perf_counter()
with open(sys.argv[1], newline="", encoding="utf-8-sig") as f:
    rows = sum(1 for _ in csv.reader(f)) - 1
print(rows, time.perf_counter() - start, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""

CHILD_IMPORT = """
import resource, sys, tempfile, time
from pathlib import Path
sys.path.insert(0, sys.argv[2])
from core.bootstrap import build_core
from config import Settings
from crm.services import CrmServices
from crm.importer import read_rows
with tempfile.TemporaryDirectory() as tmp:
    settings = Settings(data_dir=Path(tmp), admin_key="pa_bench-admin-key-0123456789abcdef")
    core, _, _ = build_core(settings)
    crm = CrmServices.build(core.db, core.audit)
    tenant, _ = core.tenants.create("Bench")
    crm.attributes.create(tenant.id, "bench", "plan", "Plan", "single_choice", ["basic", "premium"])
    crm.attributes.create(tenant.id, "bench", "budget", "Budget", "number", [])
    mapping = {"First name": "first_name", "Last name": "last_name", "E-mail": "email", "Mobile": "phone",
               "Company": "company", "Plan": "attributes.plan", "Budget": "attributes.budget", "Tags": "tags"}
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    with open(sys.argv[1], "rb") as f:
        report = crm.importer.run(tenant.id, "bench", read_rows(f, "contacts.csv"), mapping)
    elapsed = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(report.rows, elapsed, peak, before, report.created, report.failed)
    core.db.dispose()
"""


def child(code: str, *args: str) -> list[float]:
    out = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, check=True)
    return [float(x) for x in out.stdout.split()]


def main(rows: int) -> None:
    with tempfile.TemporaryDirectory(prefix="parley-import-") as tmp:
        results = {}
        for n in (rows // 10, rows):
            path = Path(tmp) / f"contacts-{n}.csv"
            write_csv(path, n)
            parsed = child(CHILD_PARSE, str(path))
            imported = child(CHILD_IMPORT, str(path), str(ROOT))
            results[n] = (parsed, imported, path.stat().st_size)
        print(f"bulk contact import, embedded default (SQLite), {rows:,} CSV rows (2 % with a bad email):")
        for n, (parsed, imported, size) in results.items():
            n_rows, seconds, peak, before, created, failed = imported
            print(
                f"  {n:>7,} rows ({size / 1e6:.1f} MB): import {seconds:6.1f} s = {n_rows / seconds:7,.0f} rows/s, "
                f"created {created:,.0f}, failed {failed:,.0f}; peak RSS {peak / 1024:.0f} MB "
                f"({(peak - before) / 1024:+.0f} MB during the import) | csv parse only {parsed[1]:.2f} s "
                f"= {parsed[0] / parsed[1]:,.0f} rows/s, peak RSS {parsed[2] / 1024:.0f} MB"
            )
        small, large = results[rows // 10][1], results[rows][1]
        print(
            f"memory growth from {rows // 10:,} to {rows:,} rows: {(large[2] - small[2]) / 1024:+.0f} MB "
            f"(rows stream: it should stay flat)"
        )
        print(
            json.dumps({"rows_per_second": round(large[0] / large[1]), "peak_rss_mb": round(large[2] / 1024)})
        )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)
