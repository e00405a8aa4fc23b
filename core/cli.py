"""The `parley` command: `serve`, `worker`, `migrate` and `evals`.

    parley serve [--host 127.0.0.1] [--port 8000] [--workers N]   the HTTP server (uvicorn app:app)
                 [--forwarded-allow-ips ADDRS]                      behind a proxy: whose X-Forwarded-* to trust
    parley worker [--kinds a,b] [--concurrency N] [--metrics-port P]   background jobs, no HTTP API
    parley migrate                                                   bring the database to the latest schema
    parley evals ...                                                 the evals suite (as `python -m evals`)

Settings come from the environment (PARLEY_*), as for the server. The entry point is app.py's `main`,
the composition root, which hands this module the app factory and the evals command, so core imports no
domain package.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from collections.abc import Callable, Sequence
from typing import Any

from config import Settings

log = logging.getLogger("parley")
AppFactory = Callable[[Settings], Any]
Command = Callable[[Sequence[str]], int]


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="parley", description="Parley: a self-hostable AI agent for customer conversations."
    )
    commands = top.add_subparsers(dest="command", required=True, metavar="COMMAND")
    serve = commands.add_parser("serve", help="serve the HTTP API (uvicorn app:app)")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    serve.add_argument(
        "--workers",
        type=int,
        default=1,
        help="server processes (>1: set PROMETHEUS_MULTIPROC_DIR, use PostgreSQL and a Qdrant server, and "
        "PARLEY_WORKER=false with `parley worker` processes)",
    )
    serve.add_argument("--log-level", default="info", help="uvicorn's log level (default info)")
    serve.add_argument(
        "--forwarded-allow-ips",
        help="comma-separated proxy addresses (or *) whose X-Forwarded-For/-Proto are trusted, so the client's "
        "address is the one seen (default as uvicorn's: $FORWARDED_ALLOW_IPS, else 127.0.0.1,::1)",
    )
    worker = commands.add_parser(
        "worker", help="run background jobs without the HTTP API (several may run, on PostgreSQL)"
    )
    worker.add_argument(
        "--kinds",
        help="comma-separated job kinds to run (default: every kind; e.g. knowledge.ingest,channels.reply)",
    )
    worker.add_argument(
        "--concurrency", type=int, help="jobs run at once (default PARLEY_WORKER_CONCURRENCY)"
    )
    worker.add_argument(
        "--metrics-port", type=int, help="serve this worker's Prometheus metrics on this port (default: none)"
    )
    worker.add_argument("--metrics-host", default="127.0.0.1", help="address for --metrics-port")
    commands.add_parser(
        "migrate", help="bring the database to the latest schema (the server also does at start)"
    )
    commands.add_parser(
        "evals", help="the evals suite: `parley evals --help` (run, export-ratings, validate)"
    )
    return top


def main(argv: Sequence[str] | None, *, create_app: AppFactory, evals: Command) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list[:1] == ["evals"]:  # everything after it is the evals command's own arguments
        return evals(args_list[1:])
    args = parser().parse_args(args_list)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        if args.command == "serve":
            return serve(args.host, args.port, args.workers, args.log_level, args.forwarded_allow_ips)
        if args.command == "migrate":
            return migrate(Settings())
        settings = Settings()
        updates: dict[str, Any] = {"worker": True, "demo": False}
        if args.kinds is not None:
            updates["worker_kinds"] = [k.strip() for k in args.kinds.split(",") if k.strip()] or None
        if args.concurrency is not None:
            updates["worker_concurrency"] = args.concurrency
        worker_settings = settings.model_copy(update=updates)
        return asyncio.run(run_worker(create_app(worker_settings), args.metrics_port, args.metrics_host))
    except ValueError as exc:  # a bad setting or kind: said plainly, not as a traceback
        print(f"parley {args.command}: {exc}", file=sys.stderr)
        return 2


def serve(host: str, port: int, workers: int, log_level: str, forwarded_allow_ips: str | None = None) -> int:
    import uvicorn

    # None leaves uvicorn's own default (its FORWARDED_ALLOW_IPS environment variable, else loopback).
    uvicorn.run(
        "app:app",
        host=host,
        port=port,
        workers=workers,
        log_level=log_level,
        forwarded_allow_ips=forwarded_allow_ips,
    )
    return 0


def migrate(settings: Settings) -> int:
    from alembic.runtime.migration import MigrationContext

    from core.db import make_engine
    from core.migrate import upgrade_to_head

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.resolved_database_url)
    try:
        upgrade_to_head(engine)
        with engine.connect() as connection:
            revision = MigrationContext.configure(connection).get_current_revision()
        print(f"{engine.url.render_as_string(hide_password=True)}: at revision {revision}")
    finally:
        engine.dispose()
    return 0


async def run_worker(app: Any, metrics_port: int | None, metrics_host: str) -> int:
    """Build the services as the server does (the app's lifespan, which starts its worker), run jobs until
    SIGTERM or SIGINT, then stop as the server stops: running jobs finish first."""
    from core.deps import services_of
    from core.jobs import Worker

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with app.router.lifespan_context(app):
        services = services_of(app)
        settings = services.get(Settings)
        if metrics_port is not None:
            _serve_metrics(metrics_port, metrics_host, settings)
        kinds = services.get(Worker).kinds
        log.info("worker running %s; stop with SIGTERM", ", ".join(kinds) if kinds else "every job kind")
        await stop.wait()
        log.info("worker stopping: waiting for running jobs")
    return 0


def _serve_metrics(port: int, host: str, settings: Settings) -> None:
    from prometheus_client import REGISTRY, CollectorRegistry, start_http_server

    registry = REGISTRY
    if settings.prometheus_multiproc_dir is not None:
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=str(settings.prometheus_multiproc_dir))
    start_http_server(port, addr=host, registry=registry)
