"""The console import's staged files: kept per tenant under a random token, refused past the size limit or
when not CSV/XLSX, found by their tenant only, and swept a day after an import nobody finished."""

from __future__ import annotations

import asyncio
import io
import os
import time
from pathlib import Path

import pytest
from starlette.datastructures import UploadFile

from core.errors import InvalidInput, LimitExceeded, NotFound
from web.console import import_staging
from web.console.import_staging import ImportStaging


def upload(name: str, data: bytes) -> UploadFile:
    return UploadFile(io.BytesIO(data), filename=name)


def test_a_staged_file_is_its_tenants_only(tmp_path: Path) -> None:
    staging = ImportStaging(tmp_path)
    staged = asyncio.run(staging.save("tenant-a", upload("people.CSV", b"name\nAda\n")))
    assert staged.path.read_bytes() == b"name\nAda\n" and staged.path.suffix == ".csv"
    assert staging.find("tenant-a", staged.token).path == staged.path
    with pytest.raises(NotFound):
        staging.find("tenant-b", staged.token)
    with pytest.raises(NotFound):
        staging.find("tenant-a", "../tenant-b/" + staged.token)
    staging.drop(staged)
    with pytest.raises(NotFound):
        staging.find("tenant-a", staged.token)


def test_only_csv_or_xlsx_under_the_size_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    staging = ImportStaging(tmp_path)
    with pytest.raises(InvalidInput):
        asyncio.run(staging.save("t", upload("notes.pdf", b"%PDF")))
    monkeypatch.setattr(import_staging, "MAX_IMPORT_BYTES", 10)
    with pytest.raises(LimitExceeded):
        asyncio.run(staging.save("t", upload("big.csv", b"x" * 11)))
    assert list((tmp_path / "t").iterdir()) == []  # nothing of the refused file is left


def test_files_of_unfinished_imports_go_after_a_day(tmp_path: Path) -> None:
    staging = ImportStaging(tmp_path)
    old = asyncio.run(staging.save("t", upload("old.csv", b"a\n1\n")))
    recent = asyncio.run(staging.save("t", upload("recent.csv", b"a\n2\n")))
    day_ago = time.time() - import_staging.KEEP_SECONDS - 60
    os.utime(old.path, (day_ago, day_ago))
    asyncio.run(staging.save("t", upload("new.csv", b"a\n3\n")))
    assert not old.path.exists() and recent.path.exists()
