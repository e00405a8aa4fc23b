"""FastAPI dependencies shared by every router: who is calling, and the core services.

A dependency that does no I/O is `async def`: FastAPI runs a plain `def` dependency in its thread pool,
and that hop costs more than the work (webhooks feel it). One that reads the database stays `def`."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from core.auth import Principal
from core.errors import Unauthorized
from core.services import CoreServices

_bearer = HTTPBearer(auto_error=False, description="A tenant API key, or the platform admin key")


async def get_core(request: Request) -> CoreServices:
    core: CoreServices = request.app.state.core
    return core


CoreDep = Annotated[CoreServices, Depends(get_core)]
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
