"""Operations endpoints: /healthz (the process is alive), /readyz (it can do its work), /metrics
(Prometheus). No tenant auth: orchestrators and scrapers call them. /metrics names no tenant and no
customer, but it tells traffic and queue sizes; PARLEY_METRICS_TOKEN puts it behind a bearer token."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.concurrency import run_in_threadpool

from config import Settings
from core.deps import BearerDep, CoreDep, provided
from core.errors import Unauthorized
from core.metrics import exposition
from core.readiness import Readiness

router = APIRouter(tags=["ops"])
ReadinessDep = Annotated[Readiness, provided(Readiness)]
SettingsDep = Annotated[Settings, provided(Settings)]


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """Alive: the process answers HTTP. Touches nothing else (restart the process when this fails)."""
    return {"status": "ok"}


@router.get("/readyz", responses={503: {"description": "Some check failed; the body names it"}})
async def readyz(readiness: ReadinessDep) -> JSONResponse:
    """Ready: the database answers, the knowledge index is open, and every job kind has a live worker
    (unless PARLEY_READY_REQUIRES_WORKER=false). 503 names what is not ready."""
    ready, checks = await readiness.report()
    body = {"status": "ready" if ready else "not_ready", "checks": checks}
    return JSONResponse(body, status_code=200 if ready else 503)


@router.get("/metrics", response_class=Response, responses={200: {"content": {"text/plain": {}}}})
async def metrics(settings: SettingsDep, core: CoreDep, credentials: BearerDep) -> Response:
    """Prometheus text exposition (requests, webhook deliveries, jobs, agent turns, model calls, sends)."""
    if settings.metrics_token:
        given = credentials.credentials if credentials else ""
        if not hmac.compare_digest(given.encode(), settings.metrics_token.encode()):
            raise Unauthorized(
                "GET /metrics needs the metrics token (PARLEY_METRICS_TOKEN) as a bearer token"
            )
    body = await run_in_threadpool(exposition, core.db, settings.prometheus_multiproc_dir)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
