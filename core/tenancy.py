"""Tenants: creation (with a first admin key) and lookup."""

from __future__ import annotations

from sqlalchemy import select

from core.auth import KeyStore
from core.db import Database
from core.errors import InvalidInput
from core.models import Tenant


class TenantStore:
    def __init__(self, db: Database, keys: KeyStore) -> None:
        self._db = db
        self._keys = keys

    def create(self, name: str) -> tuple[Tenant, str]:
        """Create a tenant and its first admin API key (plaintext returned once)."""
        name = name.strip()
        if not name:
            raise InvalidInput("name must not be empty")
        if len(name) > 200:
            raise InvalidInput("name must be at most 200 characters")
        tenant = Tenant(name=name)
        with self._db.session() as session:
            session.add(tenant)
        _, key = self._keys.create(tenant.id, "admin", name="first admin key")
        return tenant, key

    def get(self, tenant_id: str) -> Tenant | None:
        with self._db.session() as session:
            return session.get(Tenant, tenant_id)

    def find_by_name(self, name: str) -> Tenant | None:
        with self._db.session() as session:
            return session.scalar(
                select(Tenant).where(Tenant.name == name).order_by(Tenant.created_at).limit(1)
            )
