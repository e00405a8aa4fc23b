"""The core services one app instance holds (built once in app.py's lifespan), and the base of the typed
set of all services that routes ask one service of by its class."""

from __future__ import annotations

import types
import typing
from dataclasses import dataclass, field
from typing import TypeVar

from core.audit import AuditLog
from core.auth import KeyStore
from core.bus import Bus, InProcessBus
from core.credits import Credits
from core.db import Database
from core.jobs import JobQueue
from core.staff.accounts import StaffAccounts
from core.tenancy import TenantStore
from core.tracing import Tracing

T = TypeVar("T")


@dataclass
class CoreServices:
    db: Database
    keys: KeyStore
    tenants: TenantStore
    jobs: JobQueue
    audit: AuditLog
    credits: Credits
    staff: StaffAccounts  # the console's users, invitations and sessions
    tracing: Tracing = field(default_factory=Tracing)  # no-op unless OTEL_EXPORTER_OTLP_ENDPOINT is set
    # Events to every process on this database (core/bus.py): in-process unless it is PostgreSQL.
    bus: Bus = field(default_factory=InProcessBus)


class MissingService(LookupError):
    """A service was asked for that the composition root did not build (or has not built yet)."""


class ServiceSet:
    """Base of a frozen dataclass of services: each field's declared class is the key `get` finds it by.

    The class that lists every service sits at the top (app.py's `Services`), so the packages beneath it
    cannot import it; their routes ask for the one service they use by that service's own class
    (`core.deps.provided(InboxService)`), and only the composition root knows the whole list. A service a
    process may not run is declared `X | None` and found by X while it is there."""

    _by_class: dict[type, str]

    def __post_init__(self) -> None:
        by_class: dict[type, str] = {}
        for name, hint in typing.get_type_hints(type(self)).items():
            if name.startswith("_"):
                continue
            cls = _declared_class(hint)
            if cls is None:
                raise TypeError(f"{type(self).__name__}.{name}: declare a service by its class, not {hint}")
            if cls in by_class:  # two services of one class: `get` could not tell which one is meant
                raise TypeError(f"{type(self).__name__}: {by_class[cls]} and {name} are both {cls.__name__}")
            by_class[cls] = name
        object.__setattr__(self, "_by_class", by_class)  # frozen: computed once, here

    def get(self, cls: type[T]) -> T:
        name = self._by_class.get(cls)
        if name is None:
            raise MissingService(
                f"{type(self).__name__} has no service of class {cls.__module__}.{cls.__qualname__}: "
                "add it to the composition root (app.py build_services)"
            )
        service: T | None = getattr(self, name)
        if service is None:
            raise MissingService(f"{type(self).__name__}.{name} is not running in this process")
        return service


def _declared_class(hint: object) -> type | None:
    """X for a field declared X or X | None; None for anything else."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        classes = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        hint = classes[0] if len(classes) == 1 else None
    return hint if isinstance(hint, type) else None
