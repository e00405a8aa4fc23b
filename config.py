"""Settings: the one place that reads the environment (prefix PARLEY_)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AliasChoices, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

# Values people paste from examples; a secret equal to one of these is refused at start.
PLACEHOLDER_SECRETS = {"changeme", "change-me", "secret", "password", "admin", "test", "xxx", "your-key-here"}
# The LLM-judged eval metrics (evals/judge.py).
JUDGE_METRICS = {
    "faithfulness",
    "answer_relevancy",
    "llm_context_precision",
    "llm_context_recall",
    "factual_correctness",
}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PARLEY_", env_file=None, extra="ignore")

    data_dir: Path = Field(default=Path("./data"), description="All embedded state lives under this folder.")
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL; unset = SQLite file in the data dir. PostgreSQL: postgresql+psycopg://...",
    )
    qdrant_url: str | None = Field(
        default=None, description="Qdrant server URL; unset = Qdrant Edge (embedded) under the data dir."
    )
    qdrant_api_key: str | None = None
    qdrant_collection: str = Field(
        default="parley_knowledge", description="Shared collection in server mode."
    )

    embeddings: Literal["local", "openai"] = "local"
    embeddings_base_url: str = "https://api.openai.com/v1"
    embeddings_api_key: str | None = None
    embeddings_model: str = "text-embedding-3-small"
    embeddings_batch_size: int = Field(default=32, ge=1, le=2048)
    embeddings_threads: int = Field(
        default=1,
        ge=0,
        le=256,
        description="Threads of the bundled embedder per process; 0 = one per core. One keeps a customer's"
        " query quick while a document is embedded or another process embeds (bench/embed_threads.py).",
    )

    llm: Literal["local", "openai"] = Field(default="local", description="local = offline grounded responder")
    llm_base_url: str = "https://api.openai.com/v1"
    llm_api_key: str | None = None
    llm_model: str = "gpt-4o-mini"
    llm_timeout: float = Field(default=30.0, gt=0)
    llm_max_retries: int = Field(default=2, ge=0, le=10)

    admin_key: str | None = Field(
        default=None, description="Platform admin key; generated and stored if unset."
    )

    # The evals' LLM judge (ragas faithfulness, relevancy, ...): any OpenAI-compatible endpoint.
    # Unset = the evals run the offline metrics only.
    judge_base_url: str | None = Field(default=None, description="OpenAI-compatible base URL of the judge.")
    judge_api_key: str | None = None
    judge_model: str = "gpt-4o-mini"
    judge_timeout: float = Field(default=60.0, gt=0)
    judge_metrics: list[str] = Field(
        default_factory=lambda: sorted(JUDGE_METRICS),
        description="The LLM-judged metrics to run when a judge is configured (JSON list; default all).",
    )

    google_service_account_file: Path | None = None
    google_api_base: str | None = Field(
        default=None, description="Override Google API endpoint (staging/tests)."
    )

    # Knowledge limits per tenant, as the product promises them.
    max_sources: int = Field(default=10, ge=1)
    max_total_bytes: int = Field(default=20 * 1024 * 1024, ge=1)
    max_pages_per_file: int = Field(default=1000, ge=1)
    url_fetch_timeout: float = Field(default=20.0, gt=0)

    secret_key: str | None = Field(
        default=None,
        description="Fernet key for channel secrets at rest; generated into the data dir if unset.",
    )
    whatsapp_api_base: str = Field(
        default="https://graph.facebook.com/v21.0", description="Meta Graph API base URL."
    )
    messenger_api_base: str = Field(
        default="https://graph.facebook.com/v21.0",
        description="Graph API base URL for Messenger and Instagram.",
    )
    line_api_base: str = Field(default="https://api.line.me", description="LINE Messaging API base URL.")
    viber_api_base: str = Field(default="https://chatapi.viber.com", description="Viber bot API base URL.")
    wechat_api_base: str = Field(
        default="https://api.weixin.qq.com", description="WeChat Official Account API base URL."
    )
    wechat_signature_window_seconds: int = Field(
        default=300,
        ge=1,
        le=86400,
        description="A WeChat delivery whose signed timestamp is further than this from now is refused "
        "(its signature does not cover the body, so an old one must not be replayed).",
    )
    twilio_api_base: str = Field(default="https://api.twilio.com", description="Twilio REST API base URL.")
    public_url: str | None = Field(
        default=None,
        description="This server's public base URL, when a proxy changes it (Twilio signs the URL).",
    )
    telegram_api_base: str = Field(
        default="https://api.telegram.org", description="Telegram Bot API base URL."
    )
    whatsapp_messages_per_second: int = Field(default=80, ge=1, le=1000)
    livechat_turns_per_visitor: int = Field(
        default=20,
        ge=1,
        le=100_000,
        description="Agent turns a live-chat visitor (one session) may start per minute; more are refused "
        "with a rate_limited frame that says when to send again.",
    )
    livechat_turns_per_address: int = Field(
        default=60,
        ge=1,
        le=100_000,
        description="Agent turns per minute from one network address to one tenant's widget (a visitor "
        "opening a new session per message; visitors behind one office NAT share it).",
    )

    plan_credits: dict[str, int | None] = Field(
        default_factory=lambda: {"free": 100, "starter": 2_000, "pro": 20_000, "unlimited": None},
        description='Monthly credits per plan, as JSON; null = unlimited. Every tenant starts on "free".',
    )

    # The console's staff accounts (core/staff/).
    console_secure_cookie: bool = Field(
        default=False,
        description="Mark the console's cookies Secure even when the request reached this process over plain "
        "HTTP (behind a proxy that ends TLS); over HTTPS they are Secure anyway.",
    )
    console_session_hours: float = Field(
        default=12.0, gt=0, le=24 * 90, description="A console sign-in lasts this long, then asks again."
    )
    console_invitation_days: float = Field(
        default=7.0, gt=0, le=90, description="An invitation link to the console works for this long, once."
    )
    console_sign_in_failures_per_email: int = Field(
        default=5,
        ge=1,
        le=1000,
        description="Failed console sign-ins for one e-mail address within the window before further "
        "attempts are refused (429) until the window has passed.",
    )
    console_sign_in_failures_per_address: int = Field(
        default=30,
        ge=1,
        le=100_000,
        description="Failed console sign-ins from one network address within the window (any e-mail).",
    )
    console_sign_in_window_minutes: float = Field(
        default=15.0, gt=0, le=24 * 60, description="The window the sign-in failure limits count over."
    )
    demo: bool = Field(default=False, description="Create the demo tenant and its knowledge at start.")
    gc_freeze: bool = Field(
        default=True,
        description="After start, exempt everything built so far from full garbage collections (core/heap.py).",
    )
    worker: bool = Field(
        default=True,
        description="Run the in-process background worker (false: an HTTP-only process; `parley worker` "
        "processes run the jobs).",
    )
    worker_kinds: Annotated[list[str] | None, NoDecode] = Field(
        default=None,
        description="The job kinds this process's worker runs, comma-separated (e.g. knowledge.ingest,"
        "channels.reply); unset = every kind. `parley worker --kinds` sets it.",
    )
    worker_heartbeat_seconds: float = Field(
        default=10.0,
        gt=0,
        le=300,
        description="How often a worker records that it is alive (the worker_heartbeats table), and every "
        "process its keys' fingerprints (process_keys: a process whose generated keys differ from a live "
        "one's is refused at start).",
    )
    ready_requires_worker: bool = Field(
        default=True,
        description="/readyz answers 503 unless every job kind has a worker (in this process or another) "
        "that recorded a heartbeat within three heartbeat intervals.",
    )
    metrics_token: str | None = Field(
        default=None,
        description="When set, GET /metrics needs `Authorization: Bearer <token>`; unset = open (serve it "
        "on a private network only).",
    )
    prometheus_multiproc_dir: Path | None = Field(
        default=None,
        validation_alias=AliasChoices("PROMETHEUS_MULTIPROC_DIR", "prometheus_multiproc_dir"),
        description="prometheus-client's multiprocess folder (its own variable, read by the library at "
        "import): /metrics then adds up every process that writes there.",
    )
    otel_endpoint: str | None = Field(
        default=None,
        validation_alias=AliasChoices("OTEL_EXPORTER_OTLP_ENDPOINT", "otel_endpoint"),
        description="OpenTelemetry's OTLP/HTTP base URL (its standard variable): traces of requests and "
        "agent turns are exported there; unset = no tracing, nothing imported.",
    )
    retention_done_jobs_days: float = Field(
        default=7.0,
        ge=0,
        description="Finished (done) job rows older than this are deleted by the retention sweep; 0 = keep.",
    )
    retention_deliveries_days: float = Field(
        default=30.0,
        ge=0,
        description="Raw webhook deliveries (channel_events) ingested longer ago than this are deleted; "
        "0 = keep. Message ids that deduplicate deliveries are kept regardless.",
    )
    retention_sweep_seconds: float = Field(
        default=3600.0, gt=0, description="How often a worker runs the retention sweep."
    )
    worker_concurrency: int = Field(
        default=4, ge=1, le=64, description="Jobs the in-process worker runs at once."
    )
    background_share: float = Field(
        default=0.1,
        gt=0,
        le=1,
        description="While requests are being served, the CPU share (of one core) the in-process worker's "
        "jobs get between them; all of it when none are (core/priority.py).",
    )

    @field_validator("worker_kinds", mode="before")
    @classmethod
    def _kinds(cls, value: object) -> object:
        if isinstance(value, str):
            kinds = [kind.strip() for kind in value.split(",") if kind.strip()]
            return kinds or None
        return value

    @field_validator("admin_key", "embeddings_api_key", "llm_api_key", "judge_api_key", "metrics_token")
    @classmethod
    def _no_placeholder(cls, value: str | None) -> str | None:
        if value is not None and value.strip().lower() in PLACEHOLDER_SECRETS:
            raise ValueError("is a placeholder value; set a real secret or leave it unset")
        return value

    @field_validator("admin_key")
    @classmethod
    def _admin_key_strength(cls, value: str | None) -> str | None:
        if value is not None and len(value) < 24:
            raise ValueError("must be at least 24 characters")
        return value

    @field_validator("plan_credits")
    @classmethod
    def _plans(cls, value: dict[str, int | None]) -> dict[str, int | None]:
        if "free" not in value:
            raise ValueError('must include the "free" plan (every new tenant starts on it)')
        for plan, credits in value.items():
            if not re.fullmatch(r"[a-z0-9_-]{1,30}", plan):
                raise ValueError(f"plan name {plan!r} must be 1-30 of a-z, 0-9, _ and -")
            if credits is not None and credits < 0:
                raise ValueError(f"plan {plan!r}: credits must be >= 0, or null for unlimited")
        return value

    @model_validator(mode="after")
    def _openai_needs_key(self) -> Settings:
        if self.embeddings == "openai" and not self.embeddings_api_key:
            raise ValueError("PARLEY_EMBEDDINGS=openai needs PARLEY_EMBEDDINGS_API_KEY")
        if self.llm == "openai" and not self.llm_api_key:
            raise ValueError(
                "PARLEY_LLM=openai needs PARLEY_LLM_API_KEY (any non-empty value for servers without auth)"
            )
        if self.judge_base_url and not self.judge_api_key:
            raise ValueError(
                "PARLEY_JUDGE_BASE_URL needs PARLEY_JUDGE_API_KEY (any non-empty value for servers without auth)"
            )
        unknown = set(self.judge_metrics) - JUDGE_METRICS
        if unknown:
            raise ValueError(
                f"PARLEY_JUDGE_METRICS: unknown {sorted(unknown)}; known: {sorted(JUDGE_METRICS)}"
            )
        return self

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'parley.db').resolve()}"

    @property
    def qdrant_edge_path(self) -> Path:
        """The embedded index (Qdrant Edge); one process opens it."""
        return self.data_dir / "qdrant-edge"

    @property
    def qdrant_path(self) -> Path:
        """Where qdrant-client's local mode kept the index before Qdrant Edge; migrated on start."""
        return self.data_dir / "qdrant"
