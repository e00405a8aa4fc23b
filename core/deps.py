"""FastAPI dependencies shared by every router: who is calling, and the services the app built.

The composition root (app.py) builds every service once, into one typed `Services` object stored as
`app.state.services`. A router asks for the one service it uses by that service's class:
`InboxDep = Annotated[InboxService, provided(InboxService)]`, next to its routes; the router's package
need not (and, being beneath app.py, may not) import the class that lists them all.

A dependency that does no I/O is `async def`: FastAPI runs a plain `def` dependency in its thread pool,
and that hop costs more than the work (webhooks feel it). One that reads the database stays `def`."""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.requests import HTTPConnection

from core.auth import Principal
from core.errors import Unauthorized
from core.services import CoreServices, MissingService, ServiceSet

T = TypeVar("T")
_bearer = HTTPBearer(auto_error=False, description="A tenant API key, or the platform admin key")


def services_of(app: Any) -> ServiceSet:
    """The app's services (app.state.services), which its lifespan builds."""
    services: ServiceSet | None = getattr(app.state, "services", None)
    if services is None:
        raise MissingService("the app's services are built by its lifespan, which has not run")
    return services


def provided(cls: type[T]) -> Any:
    """`Depends` on the app's service of this class. HTTPConnection: the same dependency serves WebSockets."""

    async def service(connection: HTTPConnection) -> T:
        return services_of(connection.app).get(cls)

    service.__name__ = f"provided_{cls.__name__}"  # what a traceback or a debugger shows
    return Depends(service)


CoreDep = Annotated[CoreServices, provided(CoreServices)]
BearerDep = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


def _key(credentials: HTTPAuthorizationCredentials | None) -> str:
    if credentials is None or not credentials.credentials:
        raise Unauthorized("missing header: Authorization: Bearer <API key>")
    return credentials.credentials


def get_principal(core: CoreDep, credentials: BearerDep) -> Principal:
    return core.keys.resolve(_key(credentials))


PrincipalDep = Annotated[Principal, Depends(get_principal)]


async def get_admin(principal: PrincipalDep) -> Principal:
    principal.require_admin()
    return principal


AdminDep = Annotated[Principal, Depends(get_admin)]


def require_platform_admin(core: CoreDep, credentials: BearerDep) -> None:
    if not core.keys.is_platform_admin(_key(credentials)):
        raise Unauthorized("this call needs the platform admin key")


PlatformAdminDep = Annotated[None, Depends(require_platform_admin)]
