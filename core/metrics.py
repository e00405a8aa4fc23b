"""Prometheus metrics: defined here once; the hook points (the ASGI request wrapper below, the job queue,
the webhook endpoint, the agent service, the channel send paths) record into them.

Labels are bounded by construction: route templates (never raw paths), channel kinds, job kinds, turn
routes, platform error codes. The counters and histograms live in prometheus-client's process registry
(a fixed set, created at import); the queue's gauges are read from the database at scrape time, so any
process (API or worker) reports the whole queue.

Several processes (uvicorn --workers, or an API process and `parley worker`s scraped together): set
PROMETHEUS_MULTIPROC_DIR to an empty folder shared by the processes before they start, and /metrics adds
up every process's counters and histograms (prometheus-client's multiprocess mode); without it each
process reports its own, and Prometheus should scrape each one (`parley worker --metrics-port`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, or_, select
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core.db import Database, utcnow
from core.models import Job

if TYPE_CHECKING:
    from core.tracing import Tracing

FAST = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
SLOW = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800)

HTTP_REQUESTS = Counter(
    "parley_http_requests",
    "HTTP requests answered, by route template and status",
    ["method", "route", "status"],
)
HTTP_LATENCY = Histogram(
    "parley_http_request_duration_seconds",
    "Time to answer an HTTP request",
    ["method", "route"],
    buckets=FAST,
)
WEBHOOK_DELIVERIES = Counter(
    "parley_webhook_deliveries",
    "Webhook deliveries by channel kind and outcome (stored, duplicate, unauthorized, unknown_channel, "
    "invalid, error)",
    ["channel", "outcome"],
)
JOBS_FINISHED = Counter(
    "parley_jobs_finished",
    "Job runs by kind and outcome (done, retry: failed and queued again, failed: gave up, later: "
    "asked to run again later)",
    ["kind", "outcome"],
)
JOB_DURATION = Histogram("parley_job_duration_seconds", "Time a job run took", ["kind"], buckets=SLOW)
AGENT_TURNS = Counter(
    "parley_agent_turns", "Agent turns by channel and route (how the turn was answered)", ["channel", "route"]
)
AGENT_TURN_DURATION = Histogram(
    "parley_agent_turn_duration_seconds", "Time an agent turn took", ["channel"], buckets=SLOW
)
HANDOFFS = Counter("parley_handoffs", "Turns that handed the conversation to a person", ["channel", "route"])
MODEL_LATENCY = Histogram(
    "parley_model_request_duration_seconds", "Time a chat model call took", ["model"], buckets=SLOW
)
MODEL_ERRORS = Counter("parley_model_errors", "Chat model calls that raised", ["model", "error"])
SENDS = Counter(
    "parley_channel_sends",
    "Messages sent to a platform by channel kind and outcome (sent, failed, retry) with the platform's "
    "error code (empty when none)",
    ["channel", "outcome", "error_code"],
)


def count_send(channel: str, outcome: str, code: int | None = None) -> None:
    SENDS.labels(channel, outcome, "" if code is None else str(code)).inc()


class QueueCollector(Collector):
    """The job queue as the database holds it, read at scrape time: jobs by kind and state (done jobs
    are counted by parley_jobs_finished_total instead: there are many and the sweep deletes them) and
    the age of the oldest job ready to run, by kind."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def collect(self) -> Iterator[Metric]:
        now = utcnow()
        jobs = GaugeMetricFamily(
            "parley_jobs", "Jobs in the queue by kind and state", labels=["kind", "state"]
        )
        age = GaugeMetricFamily(
            "parley_jobs_oldest_ready_age_seconds",
            "How long the oldest job ready to run has waited, by kind (0 when none waits)",
            labels=["kind"],
        )
        ready = (Job.status == "queued") & or_(Job.locked_until.is_(None), Job.locked_until <= now)
        with self._db.session() as session:
            counts = session.execute(
                select(Job.kind, Job.status, func.count())
                .where(Job.status.in_(("queued", "running", "failed")))
                .group_by(Job.kind, Job.status)
            ).all()
            oldest = session.execute(
                select(Job.kind, func.min(func.coalesce(Job.locked_until, Job.created_at)))
                .where(ready)
                .group_by(Job.kind)
            ).all()
        for kind, state, count in counts:
            jobs.add_metric([kind, state], count)
        waited = {kind: _seconds_since(since, now) for kind, since in oldest}
        for kind in {kind for kind, _, _ in counts} | set(waited):
            age.add_metric([kind], waited.get(kind, 0.0))
        yield jobs
        yield age


def _seconds_since(since: datetime | str | None, now: datetime) -> float:
    if since is None:
        return 0.0
    if isinstance(since, str):  # SQLite returns an aggregate's datetime as text
        since = datetime.fromisoformat(since)
    if since.tzinfo is None:
        since = since.replace(tzinfo=now.tzinfo)
    return max((now - since).total_seconds(), 0.0)


def exposition(db: Database, multiproc_dir: Path | None) -> bytes:
    """The text /metrics answers: this process's (or, in multiprocess mode, every process's) counters
    and histograms, then the queue's gauges."""
    if multiproc_dir is not None:
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=str(multiproc_dir))
    else:
        registry = REGISTRY
    queue = CollectorRegistry(auto_describe=False)
    queue.register(QueueCollector(db))
    return generate_latest(registry) + generate_latest(queue)


def route_of(scope: Scope) -> str:
    """The route template the router matched ("/v1/knowledge/sources/{source_id}"), never the raw path."""
    route = scope.get("route")
    path = getattr(route, "path_format", None) or getattr(route, "path", None)
    return str(path) if path else "unmatched"


class RequestMetrics:
    """ASGI wrapper around the whole app (webhooks included): counts and times each HTTP request by route
    template and status, inside a trace span when tracing is on. `route_for` names routes answered
    outside the router (the webhook fast path)."""

    def __init__(
        self,
        app: ASGIApp,
        tracing: Callable[[], Tracing | None],
        route_for: Callable[[Scope], str | None],
    ) -> None:
        self._app = app
        self._tracing = tracing
        self._route_for = route_for

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        status = 500
        started = time.perf_counter()

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        tracing = self._tracing()
        method = scope["method"]
        with tracing.request(scope) if tracing is not None else _no_span() as span:
            try:
                await self._app(scope, receive, sending)
            finally:
                route = self._route_for(scope) or route_of(scope)
                HTTP_REQUESTS.labels(method, route, str(status)).inc()
                HTTP_LATENCY.labels(method, route).observe(time.perf_counter() - started)
                if span is not None:
                    span.finish(route, status)


class _NoSpan:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *_: object) -> None:
        return None


def _no_span() -> _NoSpan:
    return _NoSpan()
