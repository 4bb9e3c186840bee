"""Thread settings, read from the environment (every variable is listed in .env.example).

The defaults give the embedded demo: SQLite under var/ and django-q2's ORM broker.
Production sets DATABASE_URL (PostgreSQL), REDIS_URL and SECRET_KEY.
"""

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("THREAD_VAR_DIR", BASE_DIR / "var"))


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value in (None, ""):
        return default
    try:
        return int(value)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be an integer, got {value!r}") from exc


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", False)
SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        # A guessable key would let anyone forge admin sessions.
        raise ImproperlyConfigured("SECRET_KEY is required when DEBUG is off.")
    SECRET_KEY = "insecure-demo-key-only-used-with-DEBUG-on"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "simple_history",
    "django_q",
    "thread.flows",
    "thread.catalog",
    "thread.bom",
    "thread.changes",
    "thread.orders",
    "thread.feedback",
    # On top of the domain apps: the demo's seed command and the installation's setup.
    "thread.demo",
    "thread.core",
]

# The sandbox plays the PLM, ERP and MES on the demo server (docs/monitoring.md). Only the demo
# (`./run demo`) and the tests turn it on; without THREAD_SANDBOX it is not installed at all, so a
# production server has neither its pages nor its endpoints.
THREAD_SANDBOX = env_bool("THREAD_SANDBOX", False)
if THREAD_SANDBOX:
    INSTALLED_APPS.append("thread.sandbox")
# Where the demo points its systems: the sandbox on the demo server itself.
THREAD_SANDBOX_BASE_URL = os.environ.get("THREAD_SANDBOX_BASE_URL", "http://127.0.0.1:8000/sandbox/")

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "thread.api.middleware.RefuseUnstorableQueries",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
DEFAULT_SQLITE_URL = f"sqlite:///{VAR_DIR / 'thread.sqlite3'}"
DATABASE_URL = os.environ.get("DATABASE_URL", DEFAULT_SQLITE_URL)
CONN_MAX_AGE = env_int("CONN_MAX_AGE", 600)
DATABASES = {
    "default": dj_database_url.parse(
        DATABASE_URL, conn_max_age=CONN_MAX_AGE, conn_health_checks=True
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A web server and a task cluster share one file: WAL lets readers run beside the writer,
    # IMMEDIATE takes the write lock at BEGIN (no upgrade deadlocks), busy_timeout waits for it.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA busy_timeout=20000; "
        "PRAGMA synchronous=NORMAL;",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0 if CONN_MAX_AGE == 0 else CONN_MAX_AGE
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Internationalisation -------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

# --- Request size ---------------------------------------------------------------------------
# Ordinary endpoints accept THREAD_MAX_REQUEST_BYTES; bulk endpoints (a 50,000-line eBOM)
# declare the larger THREAD_MAX_BULK_REQUEST_BYTES. Django's own cap is the larger of the two,
# and Thread answers anything beyond an endpoint's limit with a 413 problem response.
THREAD_MAX_REQUEST_BYTES = env_int("THREAD_MAX_REQUEST_BYTES", 2_621_440)
THREAD_MAX_BULK_REQUEST_BYTES = env_int("THREAD_MAX_BULK_REQUEST_BYTES", 64 * 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = max(THREAD_MAX_REQUEST_BYTES, THREAD_MAX_BULK_REQUEST_BYTES)
# Lines in one eBOM push or import (all levels); beyond it 413 (docs/ebom-ingest.md).
THREAD_MAX_EBOM_LINES = env_int("THREAD_MAX_EBOM_LINES", 50_000)
FILE_UPLOAD_MAX_MEMORY_SIZE = THREAD_MAX_REQUEST_BYTES
DATA_UPLOAD_MAX_NUMBER_FIELDS = 10_000

# --- Idempotency (the inbox) ----------------------------------------------------------------
THREAD_IDEMPOTENCY_RETENTION_DAYS = env_int("THREAD_IDEMPOTENCY_RETENTION_DAYS", 7)
# A request still 'processing' after this many seconds is taken to have crashed: its key may be
# used again instead of answering 409 forever.
THREAD_IDEMPOTENCY_STALE_SECONDS = env_int("THREAD_IDEMPOTENCY_STALE_SECONDS", 300)
# last_used_at of an API key is written at most this often, so reads stay read-only.
THREAD_API_KEY_TOUCH_SECONDS = env_int("THREAD_API_KEY_TOUCH_SECONDS", 60)

# --- Outbox (outbound delivery; docs/outbox.md) ----------------------------------------------
# A claimed message is leased to its worker for this long; an expired lease is claimable again.
# Every send of a batch must end inside it (and inside the drain's budget): a system's connect
# + read timeout must fit in min(DRAIN_SECONDS, LEASE_SECONDS - 1). Timing rules, checked at
# start: thread/flows/timing.py; the table: docs/outbox.md.
THREAD_OUTBOX_LEASE_SECONDS = env_int("THREAD_OUTBOX_LEASE_SECONDS", 60)
# A message claimed this many times without an outcome (its worker died each time) is dead.
THREAD_OUTBOX_QUARANTINE_AFTER = env_int("THREAD_OUTBOX_QUARANTINE_AFTER", 3)
THREAD_OUTBOX_RETENTION_DAYS = env_int("THREAD_OUTBOX_RETENTION_DAYS", 30)
THREAD_OUTBOX_MAX_AGE_HOURS = env_int("THREAD_OUTBOX_MAX_AGE_HOURS", 168)
THREAD_OUTBOX_BATCH_SIZE = env_int("THREAD_OUTBOX_BATCH_SIZE", 50)
# One drain task ends within this long, whatever the peers do (every send has this deadline),
# and hands the rest to a new task. Must stay 5 s below Q_TIMEOUT (checked at start).
THREAD_OUTBOX_DRAIN_SECONDS = env_int("THREAD_OUTBOX_DRAIN_SECONDS", 50)

# --- mBOM regeneration after a rule-set publish (docs/mbom.md) -------------------------------
# Products per transaction: a crash loses at most one chunk (which is redone without effect).
THREAD_REGENERATION_CHUNK = env_int("THREAD_REGENERATION_CHUNK", 10)
# A released product with more eBOM lines than this is generated by a job, not in the release.
THREAD_GENERATE_INLINE_MAX_LINES = env_int("THREAD_GENERATE_INLINE_MAX_LINES", 2000)
# One task works this long, well inside Q_TIMEOUT, then hands the rest to a new task.
THREAD_REGENERATION_TASK_SECONDS = env_int("THREAD_REGENERATION_TASK_SECONDS", 50)
# An unfinished job without progress for this long is resumed by the every-minute schedule.
THREAD_REGENERATION_STALE_SECONDS = env_int("THREAD_REGENERATION_STALE_SECONDS", 180)

# --- Monitoring and alerts (docs/monitoring.md) ---------------------------------------------
# A system whose oldest undelivered message waits longer than this raises an alert (admin banner,
# e-mail, flow status).
THREAD_ALERT_PENDING_AGE_MINUTES = env_int("THREAD_ALERT_PENDING_AGE_MINUTES", 30)
# The feedback digest to the PLM covers this many plant-local days (docs/feedback.md, "Digest").
THREAD_FEEDBACK_DIGEST_DAYS = env_int("THREAD_FEEDBACK_DIGEST_DAYS", 7)
# The peer is failing when at least this share of the attempts of the last N minutes failed
# (given enough attempts), or after this many failures in a row; unreachable when its newest
# attempts all found no connection or timed out. A short window alerts within minutes of an
# outage, long before the pending age.
THREAD_ALERT_FAILURE_WINDOW_MINUTES = env_int("THREAD_ALERT_FAILURE_WINDOW_MINUTES", 5)
THREAD_ALERT_FAILURE_RATE_PERCENT = env_int("THREAD_ALERT_FAILURE_RATE_PERCENT", 50)
THREAD_ALERT_FAILURE_MIN_ATTEMPTS = env_int("THREAD_ALERT_FAILURE_MIN_ATTEMPTS", 10)
THREAD_ALERT_CONSECUTIVE_FAILURES = env_int("THREAD_ALERT_CONSECUTIVE_FAILURES", 5)
THREAD_ALERT_UNREACHABLE_ATTEMPTS = env_int("THREAD_ALERT_UNREACHABLE_ATTEMPTS", 3)
# This many deliveries in a row end a failing alert before its failures leave the window.
THREAD_ALERT_RECOVERED_AFTER = env_int("THREAD_ALERT_RECOVERED_AFTER", 3)
# A sending message whose lease ran out this long ago is stuck: the scheduled drain (every
# minute) takes expired leases back first, so no drain is running for it.
THREAD_ALERT_STUCK_MINUTES = env_int("THREAD_ALERT_STUCK_MINUTES", 3)
# Who the alert e-mail goes to (comma-separated); empty: no e-mail, the banner still shows.
THREAD_ALERT_EMAILS = env_list("THREAD_ALERT_EMAILS")
# /healthz reports the task cluster dead when the every-minute scheduled drain has not been
# picked up for this long.
THREAD_HEALTH_CLUSTER_STALE_MINUTES = env_int("THREAD_HEALTH_CLUSTER_STALE_MINUTES", 5)

# --- E-mail (the alert hook) ----------------------------------------------------------------
EMAIL_BACKEND = os.environ.get(
    "EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend" if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10)
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "thread@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- REST API -------------------------------------------------------------------------------
REST_FRAMEWORK = {
    # JSON only, checked for what cannot be stored (thread/api/parsers.py).
    "DEFAULT_PARSER_CLASSES": ["thread.api.parsers.SafeJSONParser"],
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "thread.flows.authentication.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["thread.flows.permissions.CallerRights"],
    "DEFAULT_PAGINATION_CLASS": "thread.api.pagination.StableCursorPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.SearchFilter",
    ],
    "DEFAULT_SCHEMA_CLASS": "thread.api.schema.ThreadAutoSchema",
    "EXCEPTION_HANDLER": "thread.api.problems.problem_exception_handler",
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "COERCE_DECIMAL_TO_STRING": True,
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}

SPECTACULAR_SETTINGS = {
    # The UI assets come with the project (drf-spectacular-sidecar), so the docs work offline.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "TITLE": "Thread API",
    "DESCRIPTION": (
        "The digital-thread hub: product master, eBOM/mBOM, change orders, orders and feedback. "
        "Systems authenticate with `Authorization: Bearer <key>`; every POST/PUT/PATCH needs an "
        "`Idempotency-Key` header. Errors are RFC 9457 problem details."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums",
                             "thread.api.schema.add_problem_responses"],
    # Every choice set under its own name, so enums in the schema keep stable names.
    "ENUM_NAME_OVERRIDES": {
        "DimensionEnum": "thread.catalog.choices.Dimension",
        "DriftStatusEnum": "thread.flows.choices.DriftStatus",
        "QualityDispositionEnum": "thread.feedback.choices.QualityDisposition",
        "QualityEventStatusEnum": "thread.feedback.choices.QualityEventStatus",
        "MakeOrBuyEnum": "thread.catalog.choices.MakeOrBuy",
        "LifecycleStateEnum": "thread.catalog.choices.LifecycleState",
        "RevisionStatusEnum": "thread.catalog.choices.RevisionStatus",
        "CrossReferenceKindEnum": "thread.catalog.choices.CrossReferenceKind",
        "EffectivityKindEnum": "thread.catalog.effectivity.EffectivityKind",
        "FaultModeEnum": "thread.sandbox.choices.FaultMode",
        "RequestOutcomeEnum": "thread.sandbox.choices.RequestOutcome",
        "PurchaseOrderStatusEnum": "thread.orders.choices.PurchaseOrderStatus",
        "ProductionOrderStatusEnum": "thread.orders.choices.ProductionOrderStatus",
        "ImpactKindEnum": "thread.changes.choices.ImpactKind",
        "ImpactFlagStatusEnum": "thread.changes.choices.ImpactFlagStatus",
        "TimingEnum": "thread.changes.choices.Timing",
        "ChangeOrderStatusEnum": "thread.changes.choices.ChangeOrderStatus",
        "PriorityEnum": "thread.changes.choices.Priority",
        "ChangeKindEnum": "thread.changes.choices.ChangeKind",
        "DispositionEnum": "thread.changes.choices.Disposition",
        "DecisionEnum": "thread.changes.choices.Decision",
        "ApprovalSourceEnum": "thread.changes.choices.ApprovalSource",
        "ChangeOrderEventKindEnum": "thread.changes.choices.ChangeOrderEventKind",
        "SystemKindEnum": "thread.flows.choices.SystemKind",
        "InboundStatusEnum": "thread.flows.choices.InboundStatus",
        "OutboundStatusEnum": "thread.flows.choices.OutboundStatus",
        "OutboundEventKindEnum": "thread.flows.choices.OutboundEventKind",
        "AttemptOutcomeEnum": "thread.flows.choices.AttemptOutcome",
        "AlertKindEnum": "thread.flows.choices.AlertKind",
        "ItemTypeEnum": "thread.bom.choices.ItemType",
        "VersionStatusEnum": "thread.bom.choices.VersionStatus",
        "RuleSetEventKindEnum": "thread.bom.choices.RuleSetEventKind",
        "JobStatusEnum": "thread.bom.choices.JobStatus",
    },
}

# --- Task queue (django-q2) -----------------------------------------------------------------
# django-q2 is only the trigger; Thread's outbox owns delivery state (see README, architecture).
REDIS_URL = os.environ.get("REDIS_URL", "")
Q_CLUSTER = {
    "name": os.environ.get("Q_CLUSTER_NAME", "thread"),
    "workers": env_int("Q_WORKERS", 2 if not REDIS_URL else 4),
    "timeout": env_int("Q_TIMEOUT", 120),
    "retry": env_int("Q_RETRY", 300),
    "max_attempts": 1,
    "ack_failures": True,
    "save_limit": -1,
    "bulk": 10,
    "poll": 0.5,
    "catch_up": False,
    "label": "Task queue",
}
if REDIS_URL:
    Q_CLUSTER["redis"] = REDIS_URL
else:
    Q_CLUSTER["orm"] = "default"

# --- Logging --------------------------------------------------------------------------------
LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO").upper()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}

# --- Security when served behind TLS in production ------------------------------------------
if not DEBUG:
    SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", True)
    CSRF_COOKIE_SECURE = env_bool("SECURE_COOKIES", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# --- History --------------------------------------------------------------------------------
# Reasons are sentences an auditor reads; do not cut them at 100 characters.
SIMPLE_HISTORY_HISTORY_CHANGE_REASON_USE_TEXT_FIELD = True
SIMPLE_HISTORY_REVERT_DISABLED = True
