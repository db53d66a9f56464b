"""Django settings for Spoke, read from the environment (see config/env.py and the README).

Development defaults apply when DEBUG is true (the default). With DEBUG=false the process is in
production mode: SECRET_KEY, ALLOWED_HOSTS and the hub key are required, and the security
settings below make `manage.py check --deploy` pass without warnings."""

from __future__ import annotations

import json
import os
from pathlib import Path
from urllib.parse import urlsplit

from csp.constants import NONCE, NONE, SELF

from config.env import ConfigError, Env, database_config, read_env_file

BASE_DIR = Path(__file__).resolve().parent.parent
DEVDATA_DIR = Path(os.environ.get("SPOKE_DEVDATA", BASE_DIR / ".devdata"))

# `./spoke up` writes the URLs of the embedded servers here, so that `manage.py <anything>` run in
# another terminal talks to the running stack. Real environment variables always win.
_dev_defaults = {} if os.environ.get("SPOKE_NO_DEVDATA") else read_env_file(DEVDATA_DIR / "stack.env")
env = Env(defaults=_dev_defaults)

DEBUG = env.boolean("DEBUG", True)
PRODUCTION = not DEBUG

if PRODUCTION:
    SECRET_KEY = env.string("SECRET_KEY", required=True)
    if len(SECRET_KEY) < 50 or len(set(SECRET_KEY)) < 5 or SECRET_KEY.startswith("django-insecure"):
        raise ConfigError("SECRET_KEY must be a random string of at least 50 characters")
else:
    SECRET_KEY = env.string("SECRET_KEY", "django-insecure-development-only-key-never-use-in-production")

ALLOWED_HOSTS = (
    env.strings("ALLOWED_HOSTS", []) if PRODUCTION
    else env.strings("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]", "testserver"])
)
if PRODUCTION and not ALLOWED_HOSTS:
    raise ConfigError("ALLOWED_HOSTS is required in production (comma-separated host names)")

DATABASE_URL = env.url(
    "DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres",
    ("postgres", "postgresql", "pgsql"),
)
DATABASES = {"default": database_config(DATABASE_URL)}
# Connections: a new PostgreSQL connection per request costs more than the request. Django's
# connections belong to a thread, and daphne runs each request's sync code in a new thread, so a
# persistent connection (CONN_MAX_AGE) would be reopened for every request there. A process-wide
# psycopg pool hands each request an open connection instead (daphne, gunicorn and the worker's
# threads alike); a request that finds every connection busy waits for one. DB_POOL_SIZE=0 turns
# the pool off; DB_CONN_MAX_AGE then applies.
DB_POOL_SIZE = env.integer("DB_POOL_SIZE", 8, minimum=0)
if DB_POOL_SIZE:
    DATABASES["default"]["OPTIONS"]["pool"] = {  # type: ignore[index]
        "min_size": 1, "max_size": DB_POOL_SIZE, "timeout": 10,
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0  # the pool keeps them
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.integer("DB_CONN_MAX_AGE", 60, minimum=0)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# A read replica (optional, a streaming replica of the same database): the dashboard's overview
# and its CSV exports, the heavy reads that may lag a moment behind, go there (ops/replica.py);
# everything else, and every write, goes to the primary.
if env.string("DATABASE_REPLICA_URL", ""):
    DATABASES["replica"] = {
        **database_config(env.url("DATABASE_REPLICA_URL", "", ("postgres", "postgresql", "pgsql"))),
        "CONN_MAX_AGE": DATABASES["default"]["CONN_MAX_AGE"], "CONN_HEALTH_CHECKS": True,
        "TEST": {"MIRROR": "default"},
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.url("REDIS_URL", "redis://127.0.0.1:6379/0", ("redis", "rediss", "unix"))

# --- Ethereum -------------------------------------------------------------------------------
ETH_RPC_URL = env.url("ETH_RPC_URL", "http://127.0.0.1:8545", ("http", "https"))
CHAIN_ID = env.integer("CHAIN_ID", 31337, minimum=1)
CONFIRMATIONS = env.integer("CONFIRMATIONS", 3, minimum=0)
CHALLENGE_PERIOD = env.integer("CHALLENGE_PERIOD", 600, minimum=1)
CONTRACTS_FILE: Path = env.path("CONTRACTS_FILE", None) or DEVDATA_DIR / "contracts.json"


def _recorded_contracts() -> dict[str, str]:
    """Addresses written by `manage.py deploy_contracts` for this chain id, if any."""
    try:
        recorded = json.loads(CONTRACTS_FILE.read_text()) if CONTRACTS_FILE.exists() else {}
    except (OSError, ValueError):
        raise ConfigError("CONTRACTS_FILE is not readable JSON") from None
    entry = recorded.get(str(CHAIN_ID), {})
    return entry if isinstance(entry, dict) else {}


_recorded = _recorded_contracts()
CHANNEL_MANAGER_ADDRESS = env.address("CHANNEL_MANAGER_ADDRESS", _recorded.get("channel_manager"))
TOKEN_ADDRESS = env.address("TOKEN_ADDRESS", _recorded.get("token"))
# The Checkout contract (on-chain invoice payments by operator-signed intents).
CHECKOUT_ADDRESS = env.address("CHECKOUT_ADDRESS", _recorded.get("checkout"))
CHECKOUT_INTENT_SECONDS = env.integer("CHECKOUT_INTENT_SECONDS", 900, minimum=60)

# The hub's signing key lives in a file (or an encrypted keystore with a password file); it is
# never stored in the database, in settings output or in logs.
HUB_PRIVATE_KEY_FILE = env.path(
    "HUB_PRIVATE_KEY_FILE", None if PRODUCTION else DEVDATA_DIR / "hub.key"
)
HUB_KEYSTORE_FILE = env.path("HUB_KEYSTORE_FILE", None)
HUB_KEYSTORE_PASSWORD_FILE = env.path("HUB_KEYSTORE_PASSWORD_FILE", None)
if PRODUCTION and HUB_PRIVATE_KEY_FILE is None and HUB_KEYSTORE_FILE is None:
    raise ConfigError("HUB_PRIVATE_KEY_FILE (or HUB_KEYSTORE_FILE) is required in production")
if HUB_KEYSTORE_FILE is not None and HUB_KEYSTORE_PASSWORD_FILE is None:
    raise ConfigError("HUB_KEYSTORE_PASSWORD_FILE is required with HUB_KEYSTORE_FILE")

# --- Hub policy ------------------------------------------------------------------------------
COLLATERAL_FLOOR_TOKENS = env.integer("COLLATERAL_FLOOR_TOKENS", 10, minimum=0)
COLLATERAL_CEILING_TOKENS = env.integer("COLLATERAL_CEILING_TOKENS", 170, minimum=1)
# A user's ETH deposit carries a hub token deposit worth that ETH (so the user can exchange at
# once), at most this many whole tokens per channel (and never more than the hub's reserve).
DEPOSIT_EXCHANGE_CAP_TOKENS = env.integer("DEPOSIT_EXCHANGE_CAP_TOKENS", 170, minimum=0)
# A user's exchange, withdrawal or payment refused only because the hub's own deposit into the
# channel is pending on chain is held this long (at most) for its confirmation, then answered
# (hub/channels/holds.py); 0 answers the refusal at once. Below the SDK's 15 s HTTP timeout.
COLLATERAL_HOLD_SECONDS = env.integer("COLLATERAL_HOLD_SECONDS", 8, minimum=0)
RECONCILIATION_SECONDS = env.integer("RECONCILIATION_SECONDS", 60, minimum=5)
COLLATERAL_WINDOW_SECONDS = env.integer("COLLATERAL_WINDOW_SECONDS", 600, minimum=1)
COLLATERAL_IDLE_RECLAIM_SECONDS = env.integer("COLLATERAL_IDLE_RECLAIM_SECONDS", 7 * 24 * 3600, minimum=60)
# Disputes: the hub exits channels silent this long that hold at least this much hub collateral
# (whole tokens), at most this many per run; the watchtower fee-bumps an unmined challenge this
# many seconds before the closing time (the challenge period is 600 s on mainnet).
STALE_CHANNEL_SECONDS = env.integer("STALE_CHANNEL_SECONDS", 30 * 24 * 3600, minimum=60)
STALE_CHANNEL_MIN_HUB_TOKENS = env.integer("STALE_CHANNEL_MIN_HUB_TOKENS", 10, minimum=0)
STALE_EXITS_PER_RUN = env.integer("STALE_EXITS_PER_RUN", 20, minimum=0)
STALE_EXIT_RUN_SECONDS = env.integer("STALE_EXIT_RUN_SECONDS", 3600, minimum=60)
DISPUTE_ANSWER_MARGIN = env.integer("DISPUTE_ANSWER_MARGIN", 120, minimum=0)
DISPUTE_WATCH_SECONDS = env.integer("DISPUTE_WATCH_SECONDS", 10, minimum=1)
RESERVE_ALARM_WEI = env.integer("RESERVE_ALARM_WEI", 10**18, minimum=0)
RESERVE_ALARM_TOKENS = env.integer("RESERVE_ALARM_TOKENS", 1_000 * 10**18, minimum=0)
HOT_WALLET_ALARM_WEI = env.integer("HOT_WALLET_ALARM_WEI", 10**18, minimum=0)
HOT_WALLET_ALARM_TOKENS = env.integer("HOT_WALLET_ALARM_TOKENS", 100 * 10**18, minimum=0)
# Proof of liabilities: the hub publishes a signed Merkle sum root this often (and on demand);
# with LIABILITIES_ANCHOR the root's commitment also goes on chain (a 0-value self-transfer whose
# data is the commitment, through the transaction outbox).
LIABILITIES_SECONDS = env.integer("LIABILITIES_SECONDS", 3600, minimum=60)
LIABILITIES_ANCHOR = env.boolean("LIABILITIES_ANCHOR", False)
OPTIMISTIC_PAYMENT_TTL_SECONDS = env.integer("OPTIMISTIC_PAYMENT_TTL_SECONDS", 3600, minimum=10)
# A PT_CHANNEL payment to a user who made a payment of their own in the last DELIVERY_YIELD_MS
# (a wallet that is paying) is held by the hub instead of signed into their channel at once, so
# that it does not take the txCount their next payment is being signed for: it is delivered after
# their next payment, in that purchase's answer, or by the worker after the pause (0 = never hold).
# One second covers a wallet paying back to back on a loaded machine.
DELIVERY_YIELD_MS = env.integer("DELIVERY_YIELD_MS", 1000, minimum=0)
# Predictive collateral: a channel's top-up is sized from the tokens paid into it over the last
# COLLATERAL_INFLOW_SECONDS: at least COLLATERAL_LEAD_SECONDS of that inflow is kept (a top-up
# takes a chain round trip), and a top-up brings COLLATERAL_HORIZON_SECONDS of it (within the
# ceiling).
COLLATERAL_INFLOW_SECONDS = env.integer("COLLATERAL_INFLOW_SECONDS", 60, minimum=1)
COLLATERAL_LEAD_SECONDS = env.integer("COLLATERAL_LEAD_SECONDS", 15, minimum=0)
COLLATERAL_HORIZON_SECONDS = env.integer("COLLATERAL_HORIZON_SECONDS", 300, minimum=0)
# Tests and development only: "now" for scheduled money work moves forward by the seconds written
# in this file (ops/clock.py), so a test can let a day pass for a running worker and scheduler.
TEST_CLOCK_FILE = env.path("SPOKE_TEST_CLOCK_FILE", None)
if PRODUCTION and TEST_CLOCK_FILE is not None:
    raise ConfigError("SPOKE_TEST_CLOCK_FILE moves the platform's clock: never set it in production")
# Addresses allowed to act on any user's protocol routes (operators' tools); none by default.
HUB_OPERATOR_ADDRESSES = [a.lower() for a in env.strings("HUB_OPERATOR_ADDRESSES", [])]

# --- Django ---------------------------------------------------------------------------------
INSTALLED_APPS = [
    "daphne",
    "payments.audit.apps.SpokeAdminConfig",  # django.contrib.admin with the operator site
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "channels",
    "django_dramatiq",
    "ops",  # before dramatiq_crontab: ops/management/commands/crontab.py overrides its command
    "dramatiq_crontab",
    "hub",
    "payments",
    "hub.purchases",
    "hub.custodial",
    "linkpay",
    "csp",
]

MIDDLEWARE = [
    "ops.middleware.RequestIdMiddleware",
    "config.middleware.RefuseNulMiddleware",
    # a payment goes straight to its view through what below acts on it (config/middleware.py)
    "config.middleware.HotRoutesMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # config.middleware's classes are Django's (and django-csp's), skipped on the protocol API's
    # routes (/api/hub/), which need none of them: its lean path
    "config.middleware.CSPMiddleware",
    "config.middleware.SessionMiddleware",
    # the language: the chooser's cookie, else the browser's Accept-Language (locale/ has de)
    "config.middleware.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    # Django's own, by its name: `check --deploy` looks for it by name (security.W003). It costs a
    # protocol request next to nothing: every protocol view is csrf_exempt, so it returns at once
    "django.middleware.csrf.CsrfViewMiddleware",
    "config.middleware.AuthenticationMiddleware",
    "config.middleware.SessionTimeoutMiddleware",
    "config.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
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

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
LANGUAGES = [("en", "English"), ("de", "Deutsch")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
# English date formats name the time zone (config/formats/en/formats.py; the admin shows UTC times)
FORMAT_MODULE_PATH = "config.formats"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / ".devdata" / "static" if DEBUG else env.path("STATIC_ROOT", BASE_DIR / "staticfiles")
STATICFILES_DIRS = [BASE_DIR / "static"] if (BASE_DIR / "static").exists() else []
# daphne serves /static/ itself in development; in production a proxy normally does, unless this
# is set (a single-host deployment, or the DEBUG=false tests in tests/config/test_production.py).
SERVE_STATIC = env.boolean("SERVE_STATIC", DEBUG)

DATA_UPLOAD_MAX_MEMORY_SIZE = 256 * 1024  # protocol and merchant bodies are small; refuse big ones

# --- Security (production) ------------------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
# Dashboard and admin alike: signed out after 30 minutes without activity and 12 hours after
# signing in, whatever happens in between (payments/dashboard/sessions.py; ASVS 3.3.2, 3.3.3).
SESSION_IDLE_TIMEOUT = env.integer("SESSION_IDLE_TIMEOUT", 30 * 60, minimum=60)
SESSION_ABSOLUTE_TIMEOUT = 12 * 3600
SESSION_COOKIE_AGE = SESSION_ABSOLUTE_TIMEOUT  # Django's default is two weeks
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
# Content-Security-Policy (django-csp) in development too, so that the browser tests run under the
# production policy: no inline script or style anywhere, everything from our own origin. The one
# inline <style> Django's admin emits (change_list.html, overridden in templates/admin/) carries
# the per-request nonce. 'self' also covers the dashboard's same-origin WebSocket.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF, NONCE],
        "img-src": [SELF, "data:"],
        "connect-src": [SELF],
        "font-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}
if PRODUCTION:
    SECURE_SSL_REDIRECT = env.boolean("SECURE_SSL_REDIRECT", True)
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.integer("SECURE_HSTS_SECONDS", 31_536_000, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    if env.boolean("BEHIND_TLS_PROXY", True):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    CSRF_TRUSTED_ORIGINS = env.strings("CSRF_TRUSTED_ORIGINS", [f"https://{h}" for h in ALLOWED_HOSTS])

# Webhooks to loopback, private or link-local addresses are refused (server-side request forgery;
# payments/webhooks/destinations.py). `./spoke up` turns this on for a local receiver, tests that
# use one turn it on themselves; `check --deploy` warns when it is on in production.
WEBHOOKS_ALLOW_PRIVATE_DESTINATIONS = env.boolean("WEBHOOKS_ALLOW_PRIVATE_DESTINATIONS", False)
# How long saving an endpoint waits for its host's DNS answer before refusing it (url_unresolvable).
WEBHOOKS_RESOLVE_TIMEOUT_MS = env.integer("WEBHOOKS_RESOLVE_TIMEOUT_MS", 3000, minimum=50)

# --- Email: team invitations and payout-address notices ---------------------------------------
# Development prints mail to the console. Production sends nothing until an operator configures a
# backend (e.g. EMAIL_BACKEND=django.core.mail.backends.smtp.EmailBackend plus EMAIL_HOST...):
# the dashboard then still shows an invitation link once, for the owner to pass on.
EMAIL_BACKEND = env.string("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend" if DEBUG
                           else "django.core.mail.backends.dummy.EmailBackend")
EMAIL_HOST = env.string("EMAIL_HOST", "localhost")
EMAIL_PORT = env.integer("EMAIL_PORT", 25, minimum=1)
EMAIL_HOST_USER = env.string("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env.string("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env.boolean("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = env.string("DEFAULT_FROM_EMAIL", "Spoke <noreply@localhost>")

# --- Redis: cache, channel layer, Dramatiq --------------------------------------------------
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "spoke",
    }
}

CHANNEL_LAYERS = {
    "default": {
        # Pub/sub: a group message is one PUBLISH. The hub pushes every state it signs (two per
        # payment), mostly to groups nobody is listening to; the list-based RedisChannelLayer
        # spent two round trips and ~1 ms of the web process's CPU on each, which cost the
        # payment path a fifth of its throughput (bench/payments_bench.py: 218 → 277/s without
        # pushes). Pushes are best effort either way: clients detect a gap by sequence number and
        # resync over HTTP.
        "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
        "CONFIG": {
            # redis-py 8 defaults socket_timeout to 5 s, which would drop idle connections.
            "hosts": [{"address": REDIS_URL, "socket_timeout": None}],
            # Pub/sub channels are server-wide, not per database: name them after the database so
            # two stacks sharing one Redis server (a test run beside a dev stack) stay apart.
            "prefix": f"spoke:asgi:{urlsplit(REDIS_URL).path.strip('/') or '0'}",
        },
    }
}

DRAMATIQ_STUB = env.boolean("DRAMATIQ_STUB", False)  # unit tests only: in-memory broker
DRAMATIQ_BROKER = {
    "BROKER": "dramatiq.brokers.stub.StubBroker" if DRAMATIQ_STUB else "dramatiq.brokers.redis.RedisBroker",
    "OPTIONS": {} if DRAMATIQ_STUB else {
        "url": REDIS_URL,
        "namespace": "spoke-dramatiq",
        "heartbeat_timeout": env.integer("DRAMATIQ_HEARTBEAT_TIMEOUT_MS", 60_000, minimum=1000),
    },
    "MIDDLEWARE": [
        "dramatiq.middleware.AgeLimit",
        "dramatiq.middleware.TimeLimit",
        "dramatiq.middleware.Callbacks",
        "dramatiq.middleware.Retries",
        "dramatiq.middleware.CurrentMessage",  # ingest_events reads its message's send time
        "django_dramatiq.middleware.DbConnectionsMiddleware",
    ],
}
DRAMATIQ_AUTODISCOVER_MODULES = ["tasks", "actors"]
DRAMATIQ_CRONTAB = {"REDIS_URL": REDIS_URL}
WORKER_HEARTBEAT_SECONDS = env.integer("WORKER_HEARTBEAT_SECONDS", 10, minimum=1)
WORKER_HEARTBEAT_STALE_SECONDS = env.integer("WORKER_HEARTBEAT_STALE_SECONDS", 60, minimum=5)
# The public status page (/status/): computed at most this often; chain ingestion "lagging" after.
STATUS_CACHE_SECONDS = env.integer("STATUS_CACHE_SECONDS", 10, minimum=0)
STATUS_CHAIN_LAG_SECONDS = env.integer("STATUS_CHAIN_LAG_SECONDS", 300, minimum=1)
# How often the scheduler runs the periodic money jobs (the automatic settlements' interval is
# SPOKE_AUTO_SETTLEMENT_INTERVAL_SECONDS). Each job is safe to run twice at once; tests shorten them.
TX_SWEEP_SECONDS = env.integer("TX_SWEEP_SECONDS", 5, minimum=1)
# How often the Checkout contract's pause is brought in line with the payments switch (besides
# at once when an operator saves the switches): hub/checkout/pause.py.
CHECKOUT_PAUSE_SWEEP_SECONDS = env.integer("CHECKOUT_PAUSE_SWEEP_SECONDS", 60, minimum=5)
# How often the dashboard overview's rollup folds in the new payments (payments/dashboard/volume.py);
# readers add the payments since the last fold from the payments table.
VOLUME_FOLD_SECONDS = env.integer("VOLUME_FOLD_SECONDS", 3, minimum=1)
OPTIMISTIC_SWEEP_SECONDS = env.integer("OPTIMISTIC_SWEEP_SECONDS", 5, minimum=1)
REFUND_SWEEP_SECONDS = env.integer("REFUND_SWEEP_SECONDS", 30, minimum=1)
LINK_EXPIRY_SWEEP_SECONDS = env.integer("LINK_EXPIRY_SWEEP_SECONDS", 60, minimum=1)
COLLATERAL_SWEEP_SECONDS = env.integer("COLLATERAL_SWEEP_SECONDS", 30, minimum=1)

# --- REST framework -------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # The one JSON decoder with size and depth limits (ops/jsonbody.py); never DRF's JSONParser.
    "DEFAULT_PARSER_CLASSES": ["payments.api.parsers.JSONBodyParser"],
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": [],
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Spoke merchant API",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    # One name per choice set (the same choices appear on several objects).
    "ENUM_NAME_OVERRIDES": {
        "AccessEnum": [("read", "read"), ("write", "write")],
        "RefundStateEnum": [("pending", "pending"), ("succeeded", "succeeded"), ("failed", "failed")],
        "LinkStatusEnum": [("open", "open"), ("redeeming", "redeeming"), ("redeemed", "redeemed"),
                           ("cancelled", "cancelled"), ("expired", "expired")],
        "ListObjectEnum": [("list", "list")],
        # a link's funding and a receiving address's mode are the same two words
        "FundingModeEnum": [("channel", "channel"), ("custodial", "custodial")],
        # an API key's kind and a settlement report line's kind
        "ApiKeyKindEnum": [("secret", "secret"), ("restricted", "restricted"), ("read_only", "read_only")],
        "ReportLineKindEnum": [("payment", "payment"), ("refund", "refund"), ("fee", "fee"),
                               ("settlement", "settlement"), ("balance_change", "balance_change")],
    },
}

# --- Logging: never log secrets (keys, link secrets, API keys); log ids and hashes instead ----
LOG_LEVEL = env.string("LOG_LEVEL", "INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        "web3": {"level": "WARNING"},
        "urllib3": {"level": "WARNING"},
        "apscheduler": {"level": "WARNING"},
    },
}
