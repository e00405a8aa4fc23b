"""API keys: generated once, stored as SHA-256 hashes, each with a role and a tenant.

Keys carry 256 bits of randomness, so a fast hash is enough: nobody can brute-force the preimage,
and lookup by hash stays a single indexed query per request.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from sqlalchemy import select

from core.audit import AuditLog
from core.db import Database, utcnow
from core.errors import Forbidden, NotFound, Unauthorized
from core.models import ApiKey
from core.signatures import matches

Role = Literal["admin", "staff"]
ROLES: tuple[Role, ...] = ("admin", "staff")


@dataclass(frozen=True)
class Principal:
    """Who is calling: a tenant's key with its role."""

    tenant_id: str
    role: Role
    key_id: str

    def require_admin(self) -> None:
        if self.role != "admin":
            raise Forbidden("this action needs an admin API key")


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def generate_key() -> str:
    return "pk_" + secrets.token_urlsafe(32)


def load_or_create_admin_key(configured: str | None, data_dir: Path) -> tuple[str, bool]:
    """The platform admin key: from settings, else from the data dir, else newly generated (returns created?)."""
    if configured:
        return configured, False
    path = data_dir / "admin_key"
    if path.exists():
        return path.read_text().strip(), False
    data_dir.mkdir(parents=True, exist_ok=True)
    key = "pa_" + secrets.token_urlsafe(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key + "\n")
    return key, True


class KeyStore:
    def __init__(self, db: Database, admin_key: str) -> None:
        self._db = db
        self._admin_hash = hash_key(admin_key)

    def is_platform_admin(self, key: str) -> bool:
        return matches(hash_key(key), self._admin_hash)

    def create(
        self, tenant_id: str, role: Role, name: str = "", *, actor: str | None = None
    ) -> tuple[ApiKey, str]:
        """Create a key; the plaintext is returned once and never stored. Audited as `actor` when given (a
        tenant's first key, made with the tenant, has none); the entry names the key, never its secret."""
        plaintext = generate_key()
        row = ApiKey(
            tenant_id=tenant_id, role=role, name=name, key_hash=hash_key(plaintext), prefix=plaintext[:10]
        )
        with self._db.session() as session:
            session.add(row)
            if actor is not None:
                session.flush()  # the row's id, for the entry
                after = {"name": name, "role": role, "prefix": row.prefix}
                AuditLog.record(session, tenant_id, actor, "api_key.create", "api_key", row.id, None, after)
        return row, plaintext

    def resolve(self, key: str) -> Principal:
        with self._db.session() as session:
            row = session.scalar(select(ApiKey).where(ApiKey.key_hash == hash_key(key)))
        if row is None or row.revoked_at is not None:
            raise Unauthorized("invalid or revoked API key")
        return Principal(tenant_id=row.tenant_id, role=row.role, key_id=row.id)  # type: ignore[arg-type]

    def list(self, tenant_id: str) -> list[ApiKey]:
        with self._db.session() as session:
            return list(
                session.scalars(
                    select(ApiKey).where(ApiKey.tenant_id == tenant_id).order_by(ApiKey.created_at)
                )
            )

    def revoke(self, tenant_id: str, key_id: str, *, actor: str) -> ApiKey:
        """Revoke a key of the tenant (it stops working at once), audited as `actor`; revoking a revoked key
        changes nothing. NotFound for another tenant's key."""
        with self._db.session() as session:
            row = session.scalar(select(ApiKey).where(ApiKey.id == key_id, ApiKey.tenant_id == tenant_id))
            if row is None:
                raise NotFound(f"API key {key_id} not found")
            if row.revoked_at is None:
                row.revoked_at = utcnow()
                AuditLog.record(
                    session,
                    tenant_id,
                    actor,
                    "api_key.revoke",
                    "api_key",
                    row.id,
                    {"revoked_at": None},
                    {"revoked_at": row.revoked_at.isoformat()},
                )
            return row
