"""AlertManager settings: one file, every deployment value read from the environment.

Defaults run on a laptop (SQLite in the project folder, Redis on localhost). Production sets
DEBUG=0, SECRET_KEY, ALLOWED_HOSTS, DATABASE_URL and REDIS_URL.
"""

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

from alertmanager.envparse import env_choice, env_seconds_list

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    lowered = value.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false), not {value!r}")


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, not {value!r}") from None


def env_float(name: str, default: float) -> float:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return float(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number, not {value!r}") from None


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


DEBUG = env_bool("DEBUG", True)
_DEV_KEY = "dev-only-insecure-key-never-used-in-production-0123456789"
SECRET_KEY = os.environ.get("SECRET_KEY", _DEV_KEY if DEBUG else "")
if not SECRET_KEY:
    raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "django_htmx",
    "django_tables2",
    "django_rq",
    "subscribers",
    "imports",
    "messaging",
    "registration",
    "ninja",
    "api",
    "sftpdrop",
    "people",
    "audit",
    "lines",
    # Above every app: the pages that combine them (the dashboard), the main navigation and the demo.
    "front",
]

MIDDLEWARE = [
    # Probes and scrapes first: no HTTPS redirect, session or second factor for a load balancer or Prometheus.
    "alertmanager.health.HealthMiddleware",
    "alertmanager.logs.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "audit.context.RequestContextMiddleware",
    # Before the second-factor check, which answers an htmx request with HX-Redirect instead of a redirect.
    "django_htmx.middleware.HtmxMiddleware",
    "people.middleware.SecondFactorRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "subscribers.tenancy.CurrentAccountMiddleware",
]

ROOT_URLCONF = "alertmanager.urls"
WSGI_APPLICATION = "alertmanager.wsgi.application"

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
                "django.template.context_processors.csp",
                "front.navigation.navigation",
            ],
        },
    },
]

# SQLite in the project folder unless DATABASE_URL says otherwise (PostgreSQL in production and CI).
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{BASE_DIR / 'alertmanager.sqlite3'}"),
        # A web process keeps its connection between requests: opening one per request cost an API read
        # four times its own work (docs/benchmarks.md). Health checks drop a connection the server closed.
        conn_max_age=env_int("DB_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and env_bool("DB_PREPARED_STATEMENTS", False):
    # Parameters sent apart from the SQL, so that psycopg prepares a statement a connection has run five times:
    # PostgreSQL then skips parsing and planning it, which was two thirds of its time on an API read
    # (docs/benchmarks.md). For the web processes: an import in the worker ran slower with it (measured once),
    # and a pooler may not keep prepared statements (PgBouncer < 1.21 in transaction mode).
    DATABASES["default"]["OPTIONS"] = {"server_side_binding": True, "prepare_threshold": 5}
    # Django's backend, with batches no larger than the 65,535 parameters a statement bound this way may carry.
    DATABASES["default"]["ENGINE"] = "alertmanager.postgresql"
elif DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web server read while the worker writes an import.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=20000;",
        "transaction_mode": "IMMEDIATE",
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
RQ_QUEUES = {
    "default": {"URL": REDIS_URL, "DEFAULT_TIMEOUT": env_int("RQ_DEFAULT_TIMEOUT", 600)},
    "imports": {"URL": REDIS_URL, "DEFAULT_TIMEOUT": env_int("IMPORT_JOB_TIMEOUT", 1800)},
    # Carrier lookups and reassigned-number checks: their own queue, so a slow provider never holds an import.
    "lookups": {"URL": REDIS_URL, "DEFAULT_TIMEOUT": env_int("LOOKUP_JOB_TIMEOUT", 1800)},
}
RQ = {"WORKER_CLASS": "imports.worker.Worker"}
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "am",
    }
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Logins (people): a password and a second factor for everyone; TOTP codes are named after the product in the app.
OTP_TOTP_ISSUER = os.environ.get("OTP_TOTP_ISSUER", "AlertManager")
# Wrong codes are counted by the login lockout below (Redis, per username and address), not a second time by each
# device's own back-off.
OTP_TOTP_THROTTLE_FACTOR = 0
OTP_STATIC_THROTTLE_FACTOR = 0
# A session ends after this many minutes without a request (each request starts the count again).
SESSION_IDLE_MINUTES = env_int("SESSION_IDLE_MINUTES", 30)
SESSION_COOKIE_AGE = SESSION_IDLE_MINUTES * 60
SESSION_SAVE_EVERY_REQUEST = True
# "Remember this device" (where an account allows it) skips the second factor on that browser this long.
REMEMBER_DEVICE_DAYS = env_int("REMEMBER_DEVICE_DAYS", 30)
# Failed logins, counted in Redis for every web process: this many for one username within the window lock it
# for LOGIN_LOCKOUT_SECONDS; LOGIN_ADDRESS_FAILURES from one address get 429 for as long.
LOGIN_LOCKOUT_FAILURES = env_int("LOGIN_LOCKOUT_FAILURES", 5)
LOGIN_LOCKOUT_WINDOW_SECONDS = env_int("LOGIN_LOCKOUT_WINDOW_SECONDS", 15 * 60)
LOGIN_LOCKOUT_SECONDS = env_int("LOGIN_LOCKOUT_SECONDS", 15 * 60)
LOGIN_ADDRESS_FAILURES = env_int("LOGIN_ADDRESS_FAILURES", 20)
# Password reset by email is offered only where email is configured (EMAIL_HOST set, or a backend chosen).
EMAIL_HOST = os.environ.get("EMAIL_HOST", "")
EMAIL_PORT = env_int("EMAIL_PORT", 587)
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "alerts@localhost")
# Email is configured: password resets are offered, and managers are emailed about an import lost on every try.
EMAIL_CONFIGURED = bool(EMAIL_HOST) or "EMAIL_BACKEND" in os.environ
PASSWORD_RESET_BY_EMAIL = env_bool("PASSWORD_RESET_BY_EMAIL", bool(EMAIL_HOST) or "EMAIL_BACKEND" in os.environ)
PASSWORD_RESET_TIMEOUT = env_int("PASSWORD_RESET_TIMEOUT", 3 * 3600)
# How many proxies in front of the web processes append to X-Forwarded-For (0: the socket's address is the
# client's). Used by the widget limits, the login lockout and the audit log.
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0)

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Files browsers ask for at the site's root (every page load asks for /favicon.ico), served by WhiteNoise.
WHITENOISE_ROOT = BASE_DIR / "static" / "root"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
# Uploaded files wait here until their import job has read them, then they are deleted.
UPLOAD_DIR = Path(os.environ.get("UPLOAD_DIR", BASE_DIR / "var" / "uploads"))
MEDIA_ROOT = BASE_DIR / "var" / "media"
MAX_UPLOAD_BYTES = env_int("MAX_UPLOAD_BYTES", 300 * 1024 * 1024)  # a million-row CIS export is about 150 MB
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("DATA_UPLOAD_MAX_MEMORY_SIZE", 2 * 1024 * 1024)
DATA_UPLOAD_MAX_NUMBER_FIELDS = 20_000  # bulk selection of a page of numbers posts many ids

# Security: the HTTPS settings follow DEBUG so `check --deploy` is clean in production.
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", not DEBUG)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("BEHIND_PROXY", False) else None
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True

SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF, CSP.NONCE],
    "img-src": [CSP.SELF, "data:"],
    "connect-src": [CSP.SELF],
    "font-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}

# The phone rules of SPEC §2: which line types may receive texts is a pluggable check.
PHONE_LINE_TYPE_CHECKER = env_choice("PHONE_LINE_TYPE_CHECKER", "subscribers.phones.PhonenumbersLineTypeChecker", ())

# Line types off the import's path (lines): the provider is metadata (offline), simulated, twilio or a class path.
LINE_TYPE_LOOKUP = env_choice("LINE_TYPE_LOOKUP", "metadata", ("metadata", "simulated", "twilio"))
LINE_TYPE_MAX_AGE_DAYS = env_int("LINE_TYPE_MAX_AGE_DAYS", 180)
LINE_TYPE_LOOKUP_BATCH_SIZE = env_int("LINE_TYPE_LOOKUP_BATCH_SIZE", 500)
LINE_TYPE_LOOKUP_RATE = env_float("LINE_TYPE_LOOKUP_RATE", 0)  # per second over all workers; 0: the provider's
LINE_TYPE_LOOKUP_CONCURRENCY = env_int("LINE_TYPE_LOOKUP_CONCURRENCY", 0)  # 0: the provider's
LINE_TYPE_LOOKUP_RETRIES = env_int("LINE_TYPE_LOOKUP_RETRIES", 3)
LINE_TYPE_LOOKUP_BACKOFF = env_float("LINE_TYPE_LOOKUP_BACKOFF", 2.0)
LINE_TYPE_LOOKUP_TIMEOUT = env_float("LINE_TYPE_LOOKUP_TIMEOUT", 10.0)
LINE_TYPE_LOOKUP_WAIT_SECONDS = env_float("LINE_TYPE_LOOKUP_WAIT_SECONDS", 5.0)
LINE_TYPE_LOOKUP_LOCK_SECONDS = env_int("LINE_TYPE_LOOKUP_LOCK_SECONDS", 300)
LINE_TYPE_SIMULATED_DELAY = env_float("LINE_TYPE_SIMULATED_DELAY", 0.002)
TWILIO_LOOKUP_BASE_URL = os.environ.get("TWILIO_LOOKUP_BASE_URL", "")
# Consecutive permanent delivery failures (30003/30005) after which a number is blocked from alerts.
ALERT_UNREACHABLE_AFTER = env_int("ALERT_UNREACHABLE_AFTER", 3)
# The monthly reassigned-numbers check: off while empty; simulated, or a class path.
REASSIGNED_NUMBERS_CHECKER = env_choice("REASSIGNED_NUMBERS_CHECKER", "", ("", "simulated"))
REASSIGNED_BATCH_SIZE = env_int("REASSIGNED_BATCH_SIZE", 500)

# The REST API: requests per second per key (0 turns the limit off), the burst allowed above it,
# and the largest JSON body (file uploads to /api/v1/imports are capped by MAX_UPLOAD_BYTES).
API_RATE_LIMIT = env_float("API_RATE_LIMIT", 20)
API_RATE_BURST = env_int("API_RATE_BURST", 40)
API_MAX_BODY_BYTES = env_int("API_MAX_BODY_BYTES", 64 * 1024)

# The import guard: a run that would suspend or opt out more than this share of the opted-in list waits.
IMPORT_GUARD_SHARE = env_float("IMPORT_GUARD_SHARE", 0.10)
# A running import renews a lease this often (seconds × 1/3); a run whose lease lapsed lost its worker.
IMPORT_LEASE_SECONDS = env_int("IMPORT_LEASE_SECONDS", 30)

# Texts (SPEC §5): the SMS gateway is console (logs), memory (tests) or twilio, or a class path.
SMS_GATEWAY = env_choice("SMS_GATEWAY", "console", ("console", "memory", "twilio"))
TWILIO_ACCOUNT_SID = os.environ.get("TWILIO_ACCOUNT_SID", "")
TWILIO_AUTH_TOKEN = os.environ.get("TWILIO_AUTH_TOKEN", "")
# The public https://host the provider calls; signatures are computed over it (needed behind a proxy).
SMS_PUBLIC_URL = os.environ.get("SMS_PUBLIC_URL", "")
# Only an explicit 0 turns off the provider-signature check of the inbound webhooks.
SMS_VERIFY_SIGNATURES = env_bool("SMS_VERIFY_SIGNATURES", True)
ALERT_BATCH_SIZE = env_int("ALERT_BATCH_SIZE", 500)
ALERT_RECHECK_SECONDS = env_float("ALERT_RECHECK_SECONDS", 1.0)
ALERT_JOB_TIMEOUT = env_int("ALERT_JOB_TIMEOUT", 4 * 3600)
MESSAGING_FORWARD_RETRY_INTERVALS = env_seconds_list("MESSAGING_FORWARD_RETRY_INTERVALS", [10, 60, 300, 900, 3600])
MESSAGING_WEBHOOK_TIMEOUT = env_float("MESSAGING_WEBHOOK_TIMEOUT", 10.0)
WIDGET_LIMIT_PER_IP_PER_HOUR = env_int("WIDGET_LIMIT_PER_IP_PER_HOUR", 5)
WIDGET_LIMIT_PER_ACCOUNT_PER_HOUR = env_int("WIDGET_LIMIT_PER_ACCOUNT_PER_HOUR", 200)
# The SFTP drop (sftpdrop): a utility's scheduled job pushes files that are imported, then deleted.
SFTP_HOST_KEY_PATH = Path(os.environ.get("SFTP_HOST_KEY_PATH", BASE_DIR / "var" / "sftp_host_key"))
SFTP_SPOOL_DIR = Path(os.environ.get("SFTP_SPOOL_DIR", BASE_DIR / "var" / "sftp"))
SFTP_PUBLIC_HOST = os.environ.get("SFTP_PUBLIC_HOST", "")  # empty: the host name the web app is reached at
SFTP_PORT = env_int("SFTP_PORT", 2222)  # where `manage.py sftp_server` listens
# 0: the port the drop listens on. Set it when a proxy or NAT forwards another port to the drop, so the page's
# `sftp -P …` instructions name the port users actually reach.
SFTP_PUBLIC_PORT = env_int("SFTP_PUBLIC_PORT", 0)
SFTP_LOGIN_TIMEOUT = env_int("SFTP_LOGIN_TIMEOUT", 30)
SFTP_MAX_UNAUTHENTICATED_PER_IP = env_int("SFTP_MAX_UNAUTHENTICATED_PER_IP", 5)
SFTP_MAX_FILE_BYTES = env_int("SFTP_MAX_FILE_BYTES", MAX_UPLOAD_BYTES)
SFTP_LOCKOUT_FAILURES = env_int("SFTP_LOCKOUT_FAILURES", 4)
SFTP_LOCKOUT_WINDOW_SECONDS = env_int("SFTP_LOCKOUT_WINDOW_SECONDS", 20 * 60)
SFTP_LOCKOUT_BLOCK_SECONDS = env_int("SFTP_LOCKOUT_BLOCK_SECONDS", 60 * 60)

# Text registration (US 10DLC): which campaign registry, and how long a job waits for its answer.
REGISTRATION_REGISTRY = env_choice("REGISTRATION_REGISTRY", "simulated", ("simulated", "twilio"))
REGISTRATION_SIMULATED_DELAY = env_float("REGISTRATION_SIMULATED_DELAY", 5.0)
REGISTRATION_SIMULATED_FAIL_FIELD = os.environ.get("REGISTRATION_SIMULATED_FAIL_FIELD", "")
REGISTRATION_POLL_SECONDS = env_float("REGISTRATION_POLL_SECONDS", 2.0)
REGISTRATION_WAIT_SECONDS = env_float("REGISTRATION_WAIT_SECONDS", 180.0)
REGISTRATION_RECHECK_SECONDS = env_int("REGISTRATION_RECHECK_SECONDS", 600)
TWILIO_MESSAGING_SERVICE_SID = os.environ.get("TWILIO_MESSAGING_SERVICE_SID", "")

# Operations: /readyz fails when the oldest waiting job is older than this, or (when set) nothing listens on the
# SFTP address; /metrics answers only with "Authorization: Bearer METRICS_TOKEN" and is off without it.
READY_MAX_JOB_AGE_SECONDS = env_int("READY_MAX_JOB_AGE_SECONDS", 300)
READY_SFTP_ADDRESS = os.environ.get("READY_SFTP_ADDRESS", "")
METRICS_TOKEN = os.environ.get("METRICS_TOKEN", "")
# An import whose worker died is run again this many times before it fails and the managers are told.
IMPORT_RETRIES = env_int("IMPORT_RETRIES", 2)
# The janitor (stale runs and alerts, held runs, orphan files, retention) runs once per this period on all workers.
JANITOR_SECONDS = env_int("JANITOR_SECONDS", 30)
# Per-number import results older than this are purged (the run's summary and the opt events stay forever).
IMPORT_RESULTS_KEEP_DAYS = env_int("IMPORT_RESULTS_KEEP_DAYS", 400)
IMPORT_RESULTS_PURGE_BATCH = env_int("IMPORT_RESULTS_PURGE_BATCH", 10_000)

LOG_FORMAT = os.environ.get("LOG_FORMAT", "text")
if LOG_FORMAT not in ("text", "json"):
    raise ImproperlyConfigured(f"LOG_FORMAT must be text or json, not {LOG_FORMAT!r}")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"context": {"()": "alertmanager.logs.ContextFilter"}},
    "formatters": {
        "text": {"()": "alertmanager.logs.TextFormatter", "format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
        "json": {"()": "alertmanager.logs.JsonFormatter"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT, "filters": ["context"]}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    # A failing probe is answered with its reason; a traceback per probe every few seconds would drown the log.
    "loggers": {"django.db.backends": {"level": "WARNING"}, "health_check": {"level": "ERROR"}},
}
