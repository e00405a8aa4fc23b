"""HTTP surface of core: tenants, API keys, and the mapping of project errors to JSON responses."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Query, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from core.audit import key_actor
from core.auth import Role
from core.credits import CreditsExhausted
from core.deps import AdminDep, CoreDep, PlatformAdminDep
from core.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    LimitExceeded,
    NotFound,
    ParleyError,
    RateLimited,
    Unauthorized,
)

router = APIRouter(prefix="/v1", tags=["tenants"])

STATUS_BY_ERROR: dict[type[ParleyError], int] = {
    NotFound: status.HTTP_404_NOT_FOUND,
    InvalidInput: status.HTTP_422_UNPROCESSABLE_CONTENT,
    LimitExceeded: status.HTTP_413_CONTENT_TOO_LARGE,
    Unauthorized: status.HTTP_401_UNAUTHORIZED,
    Forbidden: status.HTTP_403_FORBIDDEN,
    Conflict: status.HTTP_409_CONFLICT,
    CreditsExhausted: status.HTTP_402_PAYMENT_REQUIRED,
    RateLimited: status.HTTP_429_TOO_MANY_REQUESTS,
}


# Finer statuses for specific error codes raised by domain packages.
STATUS_BY_CODE: dict[str, int] = {
    "unsupported_media_type": status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
    "unsupported_file_type": status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
}


def status_for(exc: ParleyError) -> int:
    if exc.code in STATUS_BY_CODE:
        return STATUS_BY_CODE[exc.code]
    return next(
        (s for cls, s in STATUS_BY_ERROR.items() if isinstance(exc, cls)), status.HTTP_400_BAD_REQUEST
    )


def error_body(code: str, message: str) -> dict[str, dict[str, str]]:
    return {"error": {"code": code, "message": message}}


def install_error_handlers(app: FastAPI) -> None:
    """Every error leaves as {"error": {"code", "message"}}."""

    @app.exception_handler(ParleyError)
    async def _parley_error(_: Request, exc: ParleyError) -> JSONResponse:
        code = status_for(exc)
        headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, Unauthorized) else None
        if isinstance(exc, RateLimited):
            headers = {"Retry-After": str(exc.retry_after)}
        return JSONResponse(error_body(exc.code, exc.message), status_code=code, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        problems = []
        for err in exc.errors():
            field = ".".join(
                str(part) for part in err.get("loc", ()) if part not in ("body", "query", "path")
            )
            problems.append(f"{field or 'request'}: {err.get('msg', 'invalid')}")
        return JSONResponse(error_body("invalid_input", "; ".join(problems)), status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse(error_body("http_error", str(exc.detail)), status_code=exc.status_code)


class TenantIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)


class TenantCreated(BaseModel):
    id: str
    name: str
    api_key: str


class TenantPatch(BaseModel):
    plan: str = Field(min_length=1, max_length=30, description="one of the plans in PARLEY_PLAN_CREDITS")


class TenantOut(BaseModel):
    id: str
    name: str
    plan: str


class KeyIn(BaseModel):
    role: Role
    name: str = Field(default="", max_length=200)


class KeyOut(BaseModel):
    id: str
    role: str
    name: str
    prefix: str
    created_at: datetime
    revoked_at: datetime | None


class KeyCreated(KeyOut):
    api_key: str


@router.post("/tenants", status_code=status.HTTP_201_CREATED, response_model=TenantCreated)
def create_tenant(body: TenantIn, core: CoreDep, _: PlatformAdminDep) -> TenantCreated:
    tenant, key = core.tenants.create(body.name)
    return TenantCreated(id=tenant.id, name=tenant.name, api_key=key)


@router.patch("/tenants/{tenant_id}", response_model=TenantOut)
def update_tenant(tenant_id: str, body: TenantPatch, core: CoreDep, _: PlatformAdminDep) -> TenantOut:
    """Move a tenant to another plan (its monthly credit allowance); 422 for a plan that is not configured."""
    return TenantOut.model_validate(core.credits.set_plan(tenant_id, body.plan), from_attributes=True)


@router.get("/api-keys", response_model=list[KeyOut], tags=["api keys"])
def list_keys(core: CoreDep, principal: AdminDep) -> list[KeyOut]:
    return [KeyOut.model_validate(row, from_attributes=True) for row in core.keys.list(principal.tenant_id)]


@router.post("/api-keys", status_code=status.HTTP_201_CREATED, response_model=KeyCreated, tags=["api keys"])
def create_key(body: KeyIn, core: CoreDep, principal: AdminDep) -> KeyCreated:
    row, key = core.keys.create(principal.tenant_id, body.role, body.name, actor=key_actor(principal.key_id))
    return KeyCreated(**KeyOut.model_validate(row, from_attributes=True).model_dump(), api_key=key)


@router.delete("/api-keys/{key_id}", response_model=KeyOut, tags=["api keys"])
def revoke_key(key_id: str, core: CoreDep, principal: AdminDep) -> KeyOut:
    if key_id == principal.key_id:
        raise InvalidInput("a key cannot revoke itself; use another admin key")
    revoked = core.keys.revoke(principal.tenant_id, key_id, actor=key_actor(principal.key_id))
    return KeyOut.model_validate(revoked, from_attributes=True)


class AuditOut(BaseModel):
    id: str
    actor: str
    action: str
    entity: str
    entity_id: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    at: datetime


@router.get("/audit", response_model=list[AuditOut], tags=["audit"])
def audit_log(
    principal: AdminDep,
    core: CoreDep,
    entity: Annotated[str | None, Query(max_length=40)] = None,
    entity_id: Annotated[str | None, Query(max_length=64)] = None,
    actor: Annotated[str | None, Query(max_length=100, description="key:<id>, user:<id>, agent...")] = None,
    action: Annotated[
        str | None, Query(max_length=60, description="an action (contact.update) or its record (contact)")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> list[AuditOut]:
    """Who changed what, newest first (admins only); `offset` pages on."""
    events = core.audit.list(
        principal.tenant_id,
        entity=entity,
        entity_id=entity_id,
        actor=actor,
        action=action,
        limit=limit,
        offset=offset,
    )
    return [AuditOut.model_validate(e, from_attributes=True) for e in events]
