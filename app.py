"""The FastAPI application and the composition root: create_app(settings)'s lifespan builds every
service once (`build_services` -> one typed `Services`, stored as app.state.services), hooks up every
listener in one place (`wire`), starts them, and stops them at the end (`running`).

It stays here because nothing else may import every package: imports point one way
(app.py -> channels -> inbox -> agent -> tools -> crm, knowledge -> core, with evals beside channels), so
the packages' routes ask for the one service they use by its class (core/deps.py `provided`) and never see
`Services`.

`uvicorn app:app` serves it with settings from the environment (PARLEY_*).
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from fastapi import FastAPI
from langchain_core.language_models import BaseChatModel
from sqlalchemy import text
from starlette.types import Receive, Scope, Send

from agent.assist.routes import router as assist_router
from agent.assist.service import Assist
from agent.builder import build_agent, contact_eraser
from agent.routes import router as agent_router
from agent.service import AgentService
from channels import broadcast_replies, opt_out
from channels import retention as channel_retention
from channels.base import Adapter
from channels.http_pool import HttpPool
from channels.human_replies import HumanReplies
from channels.intake import DeliveryIntake
from channels.line import LineAdapter
from channels.livechat.demo import DemoPage
from channels.livechat.limits import TurnLimits
from channels.livechat.locks import TurnLocks
from channels.livechat.recovery import answer_lost_turns
from channels.livechat.routes import router as livechat_router
from channels.livechat.store import LivechatStore
from channels.livechat.turns import LiveTurns
from channels.livechat.visitors import VisitorSockets
from channels.messenger import MessengerAdapter
from channels.outbox import Outbox
from channels.privacy import erase_channel_records
from channels.processing import ChannelProcessor
from channels.replay import SignedNonces
from channels.routes import router as channels_router
from channels.send_budget import SendBudgets
from channels.store import ChannelStore
from channels.telegram import TelegramAdapter
from channels.twilio_sms import TwilioSmsAdapter
from channels.unparsed import UnparsedEvents
from channels.unparsed_retry import UnparsedRetry
from channels.viber import ViberAdapter
from channels.webhook import WebhookEndpoint, Webhooks, webhook_path
from channels.wechat import WeChatAdapter
from channels.whatsapp import WhatsAppAdapter
from config import Settings
from core import retention
from core.bootstrap import build_core
from core.crypto import SecretBox, load_or_create_secret_key
from core.deps import services_of
from core.heap import freeze_startup_heap
from core.jobs import WAKE_TOPIC, Worker
from core.liveness import WorkerBeats
from core.metrics import RequestMetrics
from core.ops_routes import router as ops_router
from core.priority import BackgroundShare, Foreground, ForegroundMiddleware, LoopWatch
from core.process_keys import ADMIN_KEY, SECRET_KEY, ProcessKeysRegistry, StartKey
from core.readiness import Readiness
from core.routes import install_error_handlers
from core.routes import router as core_router
from core.services import CoreServices, ServiceSet
from core.staff.routes import router as staff_router
from core.tracing import Tracing
from crm.broadcasts.audience import AudienceResolver
from crm.broadcasts.routes import router as broadcasts_router
from crm.broadcasts.sender import BroadcastSender
from crm.broadcasts.store import BroadcastStore
from crm.list_routes import router as lists_router
from crm.routes import router as crm_router
from crm.services import CrmServices
from crm.ticket_routes import router as tickets_router
from crm.tickets import TicketStore
from evals.routes import router as evals_router
from evals.service import EvalService
from inbox.chat_routes import router as chat_router
from inbox.csat import Csat
from inbox.events import StaffEvents
from inbox.hub import StaffHub
from inbox.routes import router as inbox_router
from inbox.service import InboxService
from inbox.store import InboxStore
from inbox.turns import Turns
from knowledge import demo
from knowledge.routes import router as knowledge_router
from knowledge.services import KnowledgeServices, build_knowledge
from web.console.routes import router as console_router

log = logging.getLogger("parley")
WEBHOOK_ROUTE = "/webhooks/{channel}/{channel_id}"
# The readiness probe's index read: a tenant id no tenant has, so it reads nothing but still reaches the
# index (and a Qdrant server, in server mode).
PROBE_TENANT = "readyz-probe"

KnowledgeBuilder = Callable[[Settings, CoreServices], KnowledgeServices]


class ParleyAPI(FastAPI):
    """FastAPI, with webhook POSTs handed straight to channels/webhook.py's plain ASGI endpoint: under a
    delivery storm FastAPI's middleware stack and routing took more of the process than the webhook's
    own work. The endpoint answers errors in the API's shape itself and counts as a request in flight
    (core/priority.py); middleware added to the app does not see these requests. Every HTTP request,
    webhooks included, is counted and timed (core/metrics.py) and traced when tracing is on."""

    def __init__(self, *, foreground: Foreground, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.foreground = foreground  # the requests being served, for the worker to step aside
        self._webhooks = ForegroundMiddleware(
            WebhookEndpoint(lambda: services_of(self).get(Webhooks)), foreground
        )
        self._measured = RequestMetrics(
            self._dispatch,
            tracing=self._tracing,
            route_for=lambda scope: WEBHOOK_ROUTE if webhook_path(scope) is not None else None,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._measured(scope, receive, send)

    def _tracing(self) -> Tracing | None:
        """The services' tracing, once the lifespan has built them."""
        services: Services | None = getattr(self.state, "services", None)
        return services.core.tracing if services is not None else None

    async def _dispatch(self, scope: Scope, receive: Receive, send: Send) -> None:
        if webhook_path(scope) is not None:
            await self._webhooks(scope, receive, send)
        else:
            await super().__call__(scope, receive, send)


@dataclass(frozen=True)
class Services(ServiceSet):
    """Every service one app instance runs: built once by `build_services`, stored as app.state.services.
    Routes ask for one by its class (core/deps.py `provided`); tests read them as attributes."""

    settings: Settings
    core: CoreServices
    knowledge: KnowledgeServices
    crm: CrmServices
    tickets: TicketStore  # crm.tickets: the ticket routes' store
    channels: ChannelStore
    broadcasts: BroadcastStore
    # The conversations' store: the turn router, the channels, the staff inbox and the evals share it;
    # the agent writes only handoffs and answer streaks through it.
    inbox_store: InboxStore
    agent: AgentService
    assist: Assist
    # Every customer message (any channel, the playground) goes through it: interceptors, a person, the agent.
    turns: Turns
    evals: EvalService
    livechat: LivechatStore
    livechat_limits: TurnLimits
    livechat_locks: TurnLocks  # a lock lives while a socket or a turn holds it
    # Sockets of staff and visitors, reached from every process through the bus (core/fanout.py).
    livechat_visitors: VisitorSockets
    demo: DemoPage
    http: HttpPool  # the adapters' connections to the platforms, closed at shutdown
    wechat: WeChatAdapter  # its access tokens are dropped with their channel (wire)
    channel_processor: ChannelProcessor
    broadcast_sender: BroadcastSender
    channel_intake: DeliveryIntake
    unparsed_events: UnparsedEvents
    unparsed_retry: UnparsedRetry
    signed_nonces: SignedNonces
    webhooks: Webhooks
    inbox: InboxService
    csat: Csat
    opt_out: opt_out.Confirmation
    sweep: retention.Retention
    worker: Worker | None  # None unless PARLEY_WORKER
    readiness: Readiness


def build_services(
    settings: Settings,
    core: CoreServices,
    knowledge: KnowledgeServices,
    *,
    secret_key: str,
    process_keys: ProcessKeysRegistry,
    foreground: Foreground,
    chat_model: BaseChatModel | None = None,
    db_schema: str | None = None,
) -> Services:
    """Every service, each built once and handed what it uses. Nothing is hooked up here (see `wire`)
    beyond what a constructor still does itself: job handlers, caches that follow the bus, the worker's wake."""
    crm = CrmServices.build(core.db, core.audit)
    channels = ChannelStore(core.db, SecretBox(secret_key), core.bus)
    broadcasts = BroadcastStore(
        core.db,
        core.audit,
        core.jobs,
        AudienceResolver(crm.lists, crm.contacts, crm.attributes),
        channel_kind=lambda tenant_id, channel_id: channels.get(channel_id, tenant_id).kind,
        tenant_zone=crm.hours.timezone,
    )
    inbox = InboxStore(core.db, core.audit)
    agent = build_agent(
        settings, core, knowledge, inbox, model=chat_model, schema=db_schema, crm=crm, broadcasts=broadcasts
    )
    assist = Assist.build(
        knowledge, inbox, agent.deps.settings, core.credits, agent.deps.model, agent.deps.custom_answers
    )
    turns = Turns(inbox, agent, tracing=core.tracing)
    send_budgets = SendBudgets(core.db)  # one budget per number for every process (in the database)
    http = HttpPool()
    wechat = WeChatAdapter(settings.wechat_api_base, settings.wechat_signature_window_seconds, http=http)
    adapters = _adapters(settings, send_budgets, http, wechat)
    outbox = Outbox(core.db, channels, inbox, adapters, send_budgets, http=http)
    processor = ChannelProcessor(core.db, channels, turns, core.jobs, adapters, core.audit, outbox=outbox)
    intake = DeliveryIntake(core.db, core.jobs)
    nonces = SignedNonces(core.db, settings.wechat_signature_window_seconds)
    visitors = VisitorSockets(core.bus, inbox)
    replier = HumanReplies(inbox, core.jobs, visitors)
    beats = WorkerBeats(core.db, settings.worker_heartbeat_seconds)
    sweep = _retention(settings, core, beats)
    sweep.add("stale process key records", lambda: process_keys.prune(timedelta(days=1)))
    evals = EvalService(settings, core, turns, erase=contact_eraser(core, agent, crm))
    broadcast_sender = BroadcastSender(core.db, broadcasts, outbox, core.jobs)
    unparsed_retry = UnparsedRetry(core.db, channels, processor, core.jobs)
    # The worker's threads step aside for this app's requests, within PARLEY_BACKGROUND_SHARE of a CPU.
    background = BackgroundShare(settings.background_share, is_busy=foreground.busy)
    # Last: it checks PARLEY_WORKER_KINDS against the job kinds the services above registered.
    worker = _worker(settings, core, beats, background)
    return Services(
        settings=settings,
        core=core,
        knowledge=knowledge,
        crm=crm,
        tickets=crm.tickets,
        channels=channels,
        broadcasts=broadcasts,
        inbox_store=inbox,
        agent=agent,
        assist=assist,
        turns=turns,
        evals=evals,
        livechat=LivechatStore(core.db, inbox),
        livechat_limits=TurnLimits(settings.livechat_turns_per_visitor, settings.livechat_turns_per_address),
        livechat_locks=TurnLocks(),
        livechat_visitors=visitors,
        demo=DemoPage(),
        http=http,
        wechat=wechat,
        channel_processor=processor,
        broadcast_sender=broadcast_sender,
        channel_intake=intake,
        unparsed_events=UnparsedEvents(core.db),
        unparsed_retry=unparsed_retry,
        signed_nonces=nonces,
        webhooks=Webhooks(settings, channels, processor, intake, nonces, turns),
        inbox=InboxService(inbox, crm.tickets, replier, StaffHub(core.bus, StaffEvents(inbox).expand)),
        csat=Csat(inbox, crm.tickets, replier),
        opt_out=opt_out.Confirmation(inbox),
        sweep=sweep,
        worker=worker,
        readiness=_readiness(settings, core, knowledge, beats),
    )


def wire(s: Services) -> None:
    """Every listener, hooked up here once, so what happens after what is read in one place."""
    # An erasure removes the contact's channel records (their state per channel) in its own transaction,
    s.crm.privacy.on_erase("channel_records", erase_channel_records)
    # and then the agent's memory of the erased conversations, which is outside the database.
    s.crm.privacy.after_erase(s.agent.forget)
    # A deleted channel's WeChat access token goes with it.
    s.channels.on_forget(s.wechat.forget)
    # A broadcast's recipients: delivery statuses and replies move their state (crm/broadcasts/).
    s.channel_processor.status_listeners.append(broadcast_replies.record_status)
    s.channel_processor.inbound_listeners.append(broadcast_replies.ReplyRecorder(s.core.audit))
    # Before a customer's message reaches a person or the agent, in this order: a CSAT rating, then an
    # opt-out keyword's confirmation.
    s.turns.interceptors.append(s.csat.answer)
    s.turns.interceptors.append(s.opt_out)
    # A resolved ticket asks its customer for a rating.
    s.crm.tickets.on_resolved(s.csat.ask)
    # Status changes and customers' messages reach staff clients (through the hub, from any thread).
    s.inbox_store.handoff.on_change(s.inbox.status_changed)
    s.inbox_store.on_customer_message(s.inbox.customer_wrote)
    # A job queued here wakes the workers of every process at once (core/bus.py); they poll as well.
    s.core.jobs.on_enqueue(lambda: s.core.bus.publish(WAKE_TOPIC, {}))
    if s.worker is not None:
        worker = s.worker
        s.core.bus.subscribe(WAKE_TOPIC, lambda _: worker.wake())


def create_app(
    settings: Settings | None = None,
    *,
    knowledge_builder: KnowledgeBuilder | None = None,
    chat_model: BaseChatModel | None = None,
    db_schema: str | None = None,
) -> FastAPI:
    settings = settings or Settings()
    foreground = Foreground()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        """Build, wire, start; then stop."""
        core, admin_key, created = build_core(settings, schema=db_schema)
        secret_key = load_or_create_secret_key(settings.secret_key, settings.data_dir)
        process_keys = ProcessKeysRegistry(core.db, settings.worker_heartbeat_seconds)
        try:
            # Before any work: a process with the wrong keys must not touch what the others stored.
            with process_keys.recorded(
                StartKey(ADMIN_KEY, admin_key, generated=not settings.admin_key),
                StartKey(SECRET_KEY, secret_key, generated=not settings.secret_key),
            ):
                knowledge = (knowledge_builder or build_knowledge)(settings, core)
                services = build_services(
                    settings,
                    core,
                    knowledge,
                    secret_key=secret_key,
                    process_keys=process_keys,
                    foreground=foreground,
                    chat_model=chat_model,
                    db_schema=db_schema,
                )
                wire(services)
                app.state.services = services
                async with running(services, foreground, admin_key, created):
                    yield
        finally:
            core.db.dispose()

    app = ParleyAPI(
        foreground=foreground,
        title="Parley",
        version="0.1.0",
        description="Self-hostable, multi-tenant AI agent for customer conversations.",
        lifespan=lifespan,
    )
    install_error_handlers(app)
    app.add_middleware(
        ForegroundMiddleware, foreground=foreground
    )  # the worker steps aside while requests are served
    app.include_router(ops_router)
    app.include_router(core_router)
    app.include_router(knowledge_router)
    app.include_router(agent_router)
    app.include_router(chat_router)
    app.include_router(assist_router)
    app.include_router(livechat_router)
    app.include_router(channels_router)
    app.include_router(crm_router)
    app.include_router(lists_router)
    app.include_router(tickets_router)
    app.include_router(inbox_router)
    app.include_router(broadcasts_router)
    app.include_router(evals_router)
    app.include_router(staff_router)
    app.include_router(console_router)  # /console, and / redirects there

    return app


@asynccontextmanager
async def running(s: Services, foreground: Foreground, admin_key: str, created: bool) -> AsyncIterator[None]:
    """The services started, for as long as the block runs; then stopped."""
    if s.settings.gc_freeze:  # before the worker starts: a job's objects are not startup objects
        log.info("%d objects built at start frozen out of full garbage collections", freeze_startup_heap())
    loop_watch = LoopWatch(foreground)
    if s.worker is not None:
        # The worker's CPU-bound agent turns would hold the GIL in 5 ms slices; shorter slices keep
        # webhook acknowledgements and API calls responsive while the agent works, and its share of
        # the CPU under load is bounded (core/priority.py).
        sys.setswitchinterval(0.001)
        loop_watch.start()
        s.worker.start()
        if s.worker.kinds is None or retention.KIND in s.worker.kinds:
            s.sweep.schedule()
    _catch_up(s)
    if created:
        log.warning("generated the platform admin key and stored it in %s", s.settings.data_dir / "admin_key")
    if s.settings.demo:
        tenant_key = demo.ensure_demo_tenant(s.core, s.knowledge, s.settings.data_dir)
        demo_tenant = s.core.keys.resolve(tenant_key).tenant_id
        s.demo.widget_key = s.livechat.widget(demo_tenant).widget_key
        _announce(admin_key, tenant_key, demo.ensure_demo_admin(s.core, tenant_key, s.settings.data_dir))
    # Live-chat turns cut short by the last process's end are answered now (their visitors may be gone).
    lost_turns = asyncio.create_task(
        answer_lost_turns(s.core.db, LiveTurns(s.turns), s.livechat_locks, s.livechat_visitors)
    )
    try:
        yield
    finally:
        lost_turns.cancel()
        with suppress(asyncio.CancelledError):
            await lost_turns
        if s.worker is not None:
            await s.worker.stop()
        await loop_watch.stop()
        await _stop(s)


def _catch_up(s: Services) -> None:
    """Queue what an older version left for this one to redo."""
    reindexing = s.knowledge.sources.reindex_outdated()
    if reindexing:
        log.info(
            "%d uploaded files indexed with an older chunking format are queued to be indexed again",
            reindexing,
        )
    outdated = s.unparsed_retry.retry_outdated()
    if outdated:
        log.info("unreadable webhook events of %d channels queued to be read by this version", outdated)


async def _stop(s: Services) -> None:
    """Close what holds threads, connections or files, once the worker has stopped."""
    await asyncio.to_thread(s.channel_intake.close)
    # The worker threads' send loops (and their connections); a loop cannot be run from this one.
    await asyncio.to_thread(s.http.close_idle_loops)
    await s.http.aclose_running_loop_client()
    s.agent.close()
    s.knowledge.close()
    s.core.bus.close()
    s.core.tracing.shutdown()


def _adapters(
    settings: Settings, send_budgets: SendBudgets, http: HttpPool, wechat: WeChatAdapter
) -> dict[str, Adapter]:
    """One adapter per channel kind, each calling its platform's API base (a setting)."""
    return {
        "whatsapp": WhatsAppAdapter(
            settings.whatsapp_api_base, settings.whatsapp_messages_per_second, send_budgets, http=http
        ),
        "telegram": TelegramAdapter(settings.telegram_api_base, http=http),
        "messenger": MessengerAdapter("messenger", settings.messenger_api_base, http=http),
        "instagram": MessengerAdapter("instagram", settings.messenger_api_base, http=http),
        "line": LineAdapter(settings.line_api_base, http=http),
        "viber": ViberAdapter(settings.viber_api_base, http=http),
        "sms": TwilioSmsAdapter(settings.twilio_api_base, http=http),
        "wechat": wechat,
    }


def _worker(
    settings: Settings, core: CoreServices, beats: WorkerBeats, background: BackgroundShare
) -> Worker | None:
    """This process's worker (PARLEY_WORKER), for the job kinds PARLEY_WORKER_KINDS names (or all)."""
    if not settings.worker:
        return None
    known = core.jobs.kinds()
    unknown = sorted(set(settings.worker_kinds or ()) - set(known))
    if unknown:
        raise ValueError(f"PARLEY_WORKER_KINDS: no job kind {', '.join(unknown)}; known: {', '.join(known)}")
    return Worker(
        core.jobs,
        concurrency=settings.worker_concurrency,
        kinds=settings.worker_kinds,
        beats=beats,
        background=background,
    )


def _retention(settings: Settings, core: CoreServices, beats: WorkerBeats) -> retention.Retention:
    """The retention sweep's job and what it deletes (core/retention.py)."""
    sweep = retention.Retention(core.jobs, settings.retention_sweep_seconds)
    if settings.retention_done_jobs_days:
        sweep.add(
            "done jobs", retention.done_jobs(core.db, timedelta(days=settings.retention_done_jobs_days))
        )
    if settings.retention_deliveries_days:
        age = timedelta(days=settings.retention_deliveries_days)
        sweep.add("ingested webhook deliveries", channel_retention.ingested_deliveries(core.db, age))
    sweep.add("stale worker heartbeats", lambda: beats.prune(timedelta(days=1)))
    sweep.add(
        "console sign-in failures past their window, ended sessions and expired invitations", core.staff.prune
    )
    return sweep


def _readiness(
    settings: Settings, core: CoreServices, knowledge: KnowledgeServices, beats: WorkerBeats
) -> Readiness:
    readiness = Readiness()

    def database() -> str | None:
        with core.db.session() as session:
            session.execute(text("SELECT 1"))
        return None

    def knowledge_index() -> str | None:
        knowledge.index.count(PROBE_TENANT)
        return None

    def workers() -> str | None:
        missing = beats.uncovered(core.jobs.kinds())
        if not missing:
            return None
        return f"no live worker runs these job kinds: {', '.join(missing)} (start `parley worker`)"

    readiness.add("database", database)
    readiness.add("knowledge_index", knowledge_index)
    if settings.ready_requires_worker:
        readiness.add("workers", workers)
    return readiness


def _announce(admin_key: str, tenant_key: str, console_admin: tuple[str, str]) -> None:
    lines = [
        "",
        "Parley is running: http://127.0.0.1:8000  (API docs: http://127.0.0.1:8000/docs)",
        "  console            : http://127.0.0.1:8000/console",
        f"    sign in as       : {console_admin[0]}  password {console_admin[1]}",
        "  live-chat demo     : http://127.0.0.1:8000/demo",
        f"  platform admin key : {admin_key}",
        f"  demo tenant key    : {tenant_key}   ({demo.DEMO_TENANT})",
        '  try: curl -s -H "Authorization: Bearer <demo tenant key>" -H "Content-Type: application/json" \\',
        '         -d \'{"query": "豪華保濕面部護理幾多錢？"}\' http://127.0.0.1:8000/v1/knowledge/search',
        "",
    ]
    print("\n".join(lines), flush=True)


def __getattr__(name: str) -> Any:
    # `uvicorn app:app` asks for `app`; build it on first access so importing this module has no side effects.
    if name == "app":
        logging.basicConfig(level=logging.INFO)
        instance = create_app()
        globals()["app"] = instance
        return instance
    raise AttributeError(name)


def main(argv: Sequence[str] | None = None) -> int:
    """The `parley` command ([project.scripts]): serve, worker, migrate, evals (core/cli.py)."""
    from core import cli

    def evals(args: Sequence[str]) -> int:
        from evals.cli import main as evals_main  # heavy (ragas): only for this command

        return evals_main(args)

    return cli.main(argv, create_app=create_app, evals=evals)
