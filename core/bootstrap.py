"""Build the core services from settings: the database (migrated), keys, tenants, jobs, audit, credits, staff
accounts, bus.

app.py's lifespan, the benchmarks and `python -m evals` build them the same way; nothing imports app.py.
"""

from __future__ import annotations

from config import Settings
from core.audit import AuditLog
from core.auth import KeyStore, load_or_create_admin_key
from core.bus import open_bus
from core.credits import Credits
from core.db import Database, make_engine
from core.jobs import JobQueue
from core.migrate import upgrade_to_head
from core.services import CoreServices
from core.staff.accounts import StaffAccounts
from core.tenancy import TenantStore
from core.tracing import Tracing


def build_core(settings: Settings, *, schema: str | None = None) -> tuple[CoreServices, str, bool]:
    """The core services, the platform admin key, and whether that key was generated just now."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = Database(make_engine(settings.resolved_database_url, schema=schema))
    upgrade_to_head(db.engine)
    admin_key, created = load_or_create_admin_key(settings.admin_key, settings.data_dir)
    keys = KeyStore(db, admin_key)
    core = CoreServices(
        db=db,
        keys=keys,
        tenants=TenantStore(db, keys),
        jobs=JobQueue(db),
        audit=AuditLog(db),
        credits=Credits(db, settings.plan_credits),
        staff=StaffAccounts.build(db, settings),
        tracing=Tracing.from_settings(settings.otel_endpoint),
        bus=open_bus(settings.resolved_database_url, schema),
    )
    return core, admin_key, created
