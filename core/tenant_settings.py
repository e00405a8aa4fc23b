"""One JSON document of settings per tenant (agent persona, SLA targets, lead weights, ...).

Each kind keeps its own table (a `tenant_id` primary key and a `data` JSON column) and its own pydantic
model; reading a tenant that never saved gives the model's defaults, and a save may be audited.
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from pydantic import BaseModel

from core.audit import AuditLog
from core.db import Database, utcnow

M = TypeVar("M", bound=BaseModel)


class TenantSettings(Generic[M]):
    def __init__(
        self, db: Database, row: type[Any], model: type[M], *, audit: AuditLog | None = None, entity: str = ""
    ) -> None:
        self._db = db
        self._row = row
        self._model = model
        self._audit = audit
        self._entity = entity  # the audit log's entity name, e.g. "ticket_settings"

    def get(self, tenant_id: str) -> M:
        with self._db.session() as session:
            row = session.get(self._row, tenant_id)
            return self._model.model_validate(row.data) if row is not None else self._model()

    def save(self, tenant_id: str, settings: M, actor: str | None = None) -> M:
        data = settings.model_dump(mode="json")
        with self._db.session() as session:
            row = session.get(self._row, tenant_id)
            before = row.data if row is not None else None
            if row is None:
                session.add(self._row(tenant_id=tenant_id, data=data))
            else:
                row.data = data
                if hasattr(row, "updated_at"):
                    row.updated_at = utcnow()
            if self._audit is not None and actor is not None:
                entity = self._entity
                self._audit.record(
                    session, tenant_id, actor, f"{entity}.update", entity, tenant_id, before, data
                )
        return settings
