"""The core services one app instance holds (built once in app.py's lifespan)."""

from __future__ import annotations

from dataclasses import dataclass, field

from core.audit import AuditLog
from core.auth import KeyStore
from core.bus import Bus, InProcessBus
from core.credits import Credits
from core.db import Database
from core.jobs import JobQueue
from core.tenancy import TenantStore
from core.tracing import Tracing


@dataclass
class CoreServices:
    db: Database
    keys: KeyStore
    tenants: TenantStore
    jobs: JobQueue
    audit: AuditLog
    credits: Credits
    tracing: Tracing = field(default_factory=Tracing)  # no-op unless OTEL_EXPORTER_OTLP_ENDPOINT is set
    # Events to every process on this database (core/bus.py): in-process unless it is PostgreSQL.
    bus: Bus = field(default_factory=InProcessBus)
