"""Import files kept between the console's import steps (upload -> mapping and dry run -> run).

A browser cannot send a chosen file again with the next form, so the upload is kept under the data dir,
in a folder of its tenant, named by a random token the next forms carry. The run deletes it; files left by
an import nobody finished are deleted after a day, when the tenant next uploads one.
"""

from __future__ import annotations

import re
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from starlette.datastructures import UploadFile

from core.errors import InvalidInput, LimitExceeded, NotFound
from crm.routes import MAX_IMPORT_BYTES
from knowledge.routes import READ_CHUNK

KINDS = (".csv", ".xlsx")
TOKEN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
KEEP_SECONDS = 24 * 3600


@dataclass(frozen=True)
class Staged:
    token: str
    path: Path


class ImportStaging:
    def __init__(self, root: Path) -> None:
        self._root = root

    def _folder(self, tenant_id: str) -> Path:
        return self._root / tenant_id

    async def save(self, tenant_id: str, upload: UploadFile) -> Staged:
        """The upload on disk, streamed (never whole in memory), refused past the API's size limit."""
        suffix = Path(upload.filename or "").suffix.lower()
        if suffix not in KINDS:
            raise InvalidInput(
                f"{upload.filename}: import takes .csv or .xlsx files", code="unsupported_file_type"
            )
        folder = self._folder(tenant_id)
        folder.mkdir(parents=True, exist_ok=True)
        self._sweep(folder)
        token = secrets.token_urlsafe(18)
        path = folder / f"{token}{suffix}"
        size = 0
        with path.open("wb") as out:
            while piece := await upload.read(READ_CHUNK):
                size += len(piece)
                if size > MAX_IMPORT_BYTES:
                    out.close()
                    path.unlink(missing_ok=True)
                    raise LimitExceeded(
                        f"an import file may be at most {MAX_IMPORT_BYTES // (1024 * 1024)} MB",
                        code="size_limit",
                    )
                out.write(piece)
        return Staged(token, path)

    def find(self, tenant_id: str, token: str) -> Staged:
        """The tenant's staged file of this token (another tenant's token is not found in this folder)."""
        if TOKEN.match(token):
            for suffix in KINDS:
                path = self._folder(tenant_id) / f"{token}{suffix}"
                if path.is_file():
                    return Staged(token, path)
        raise NotFound("this import's file is gone (it ran, or was left for a day): upload it again")

    def drop(self, staged: Staged) -> None:
        staged.path.unlink(missing_ok=True)

    @staticmethod
    def _sweep(folder: Path) -> None:
        cutoff = time.time() - KEEP_SECONDS
        for path in folder.iterdir():
            if path.is_file() and path.stat().st_mtime < cutoff:
                path.unlink(missing_ok=True)
