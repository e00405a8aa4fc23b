"""Secrets at rest: Fernet (AES-128-CBC + HMAC-SHA256) with a key from settings or the data dir."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken

from core.errors import ParleyError


class SecretBox:
    def __init__(self, key: str) -> None:
        try:
            self._fernet = Fernet(key.encode())
        except (ValueError, TypeError) as exc:
            raise ParleyError(
                "PARLEY_SECRET_KEY is not a valid Fernet key (32 url-safe base64 bytes)"
            ) from exc

    @classmethod
    def from_settings(cls, configured: str | None, data_dir: Path) -> SecretBox:
        return cls(load_or_create_secret_key(configured, data_dir))

    def seal(self, data: dict[str, Any]) -> str:
        return self._fernet.encrypt(json.dumps(data).encode()).decode()

    def open(self, token: str) -> dict[str, Any]:
        try:
            return dict(json.loads(self._fernet.decrypt(token.encode())))
        except InvalidToken as exc:
            raise ParleyError("stored secrets cannot be decrypted with this PARLEY_SECRET_KEY") from exc


def load_or_create_secret_key(configured: str | None, data_dir: Path) -> str:
    """The key secrets are sealed with: from settings, else from the data dir, else newly generated there."""
    if configured:
        return configured
    path = data_dir / "secret_key"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(Fernet.generate_key().decode())
    return path.read_text().strip()
