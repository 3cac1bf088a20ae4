"""imadmin settings: every value comes from the environment (see README.md).

A variable has the name of the setting it sets, with DJANGO_ in front for most
of Django's own (DJANGO_DEBUG sets DEBUG). A few set several settings or a
library's (DJANGO_SECURE, DATABASE_URL, SIGNIN_*); the README says which.
Variables renamed to follow that rule are still read under their old names.
"""

import ipaddress
import math
import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from accounts.filemodes import private_dir, private_file_create

BASE_DIR = Path(__file__).resolve().parent.parent
# Local state of a laptop run: SQLite file, sandbox key and state, uploads.
IMADMIN_VAR_DIR = Path(os.environ.get("IMADMIN_VAR_DIR", BASE_DIR / "var"))


def envbool(name, default):
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    if value.lower() in ("1", "true", "yes", "on"):
        return True
    if value.lower() in ("0", "false", "no", "off"):
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {value!r}")


def envint(name, default):
    value = os.environ.get(name, "")
    try:
        return int(value) if value else default
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number") from None


def envfloat(name, default):
    value = os.environ.get(name, "")
    try:
        return float(value) if value else default
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number") from None


def envlist(name, default):
    value = os.environ.get(name, "")
    return [v.strip() for v in value.split(",") if v.strip()] if value else default


def env_name(name, *old_names):
    """``name``, or the first of its ``old_names`` set instead (renamed variables)."""
    for candidate in (name, *old_names):
        if os.environ.get(candidate):
            return candidate
    return name


def _local_secret(path, nbytes=32):
    """A random secret kept in var/, made on first use, never committed."""
    path = Path(path)
    if not path.exists():
        import secrets

        private_dir(path.parent)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(nbytes))
    return path.read_text().strip()


# 0700 at each start, which also mends a folder made readable before.
private_dir(IMADMIN_VAR_DIR)
DEBUG = envbool("DJANGO_DEBUG", False)
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY") or _local_secret(
    IMADMIN_VAR_DIR / "django-secret.key"
)
ALLOWED_HOSTS = envlist("DJANGO_ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = envlist("DJANGO_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_q",
    "axes",
    "csp",
    # Its docs page then serves Swagger UI from our static files, not a CDN.
    "ninja",
    "accounts",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Static files before anything else reads the request (sessions, sign-in).
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # After sessions, before common: picks the language from the cookie that
    # the switcher sets, else the browser's Accept-Language.
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    # Over-long or NUL-holding query values get a 400 before any view runs.
    "accounts.params.QueryStringMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Every view is private unless it says otherwise.
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    # Lets audit entries written from signals (role changes) name who and where.
    "accounts.audit.records.AuditRequestMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes requires: turns a lock-out into its response.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "imadmin.urls"
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
                "accounts.web.context_processors.im_status",
            ],
        },
    },
]
WSGI_APPLICATION = "imadmin.wsgi.application"


def _database():
    url = (
        os.environ.get("DATABASE_URL")
        or f"sqlite:///{IMADMIN_VAR_DIR / 'imadmin.sqlite3'}"
    )
    try:
        db = dj_database_url.parse(url)
    except Exception as exc:  # dj_database_url raises several kinds
        raise ImproperlyConfigured(
            f"DATABASE_URL is not a database URL: {exc}"
        ) from None
    if db["ENGINE"] == "django.db.backends.sqlite3":
        # Its folder 0700 and the file 0600 before SQLite makes it 0644.
        private_dir(Path(db["NAME"]).parent)
        private_file_create(db["NAME"])
        # Measured (shared/PLATFORM.md): WAL plus IMMEDIATE transactions and a
        # 20 s busy timeout remove "database is locked" between workers.
        db["OPTIONS"] = {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
        # A file, not memory, so a real qcluster process can share the test data;
        # one per test run, so two runs on one machine never share it.
        db["TEST"] = {"NAME": str(IMADMIN_VAR_DIR / f"test-{os.getpid()}.sqlite3")}
    else:
        # A connection per request made the ORM broker ~10x slower on PostgreSQL.
        db["CONN_MAX_AGE"] = envint("DATABASE_CONN_MAX_AGE", 60)
        db["CONN_HEALTH_CHECKS"] = True
    return db


DATABASES = {"default": _database()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
        }
    }
else:
    # Local memory would hide the cluster's status from the web process.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "imadmin_cache",
        }
    }

Q_WORKERS = envint("Q_WORKERS", 2)
_Q_TIMEOUT = 180
Q_CLUSTER = {
    "name": "imadmin",
    "workers": Q_WORKERS,
    "queue_limit": Q_WORKERS,
    # Jobs are sent by each worker's engine, not by tasks; the tasks that
    # remain (a file's preparation works in slices of PREPARE_SLICE_SECONDS,
    # the maintenance) stay well under this timeout.
    "timeout": _Q_TIMEOUT,
    # A task not done within ``retry`` seconds of being pulled runs again, and
    # time in the cluster's prefetch queue counts: keep
    # retry > timeout * (1 + ceil((queue_limit + 1) / workers)).
    "retry": _Q_TIMEOUT * (1 + math.ceil((Q_WORKERS + 1) / Q_WORKERS)) + 30,
    # Durable progress lives in our tables; a redelivery only re-kicks a job.
    "max_attempts": 2,
    # -1 keeps no successful task (0 would keep every one, forever); failed
    # tasks are still kept, for the admin.
    "save_limit": -1,
    "ack_failures": True,
    "catch_up": False,
    "label": "Background tasks",
}
if REDIS_URL:
    Q_CLUSTER["redis"] = REDIS_URL
else:
    Q_CLUSTER["orm"] = "default"

AUTH_PASSWORD_VALIDATORS = [
    {
        "NAME": "django.contrib.auth.password_validation."
        "UserAttributeSimilarityValidator"
    },
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "web:home"
LOGOUT_REDIRECT_URL = "login"

# --- Sign-in throttling (django-axes) ---------------------------------------
# The first backend refuses sign-ins while a username+address pair is locked
# out; the second checks the password.
AUTHENTICATION_BACKENDS = [
    "accounts.security.ThrottledSignInBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# django-axes names these settings; the variables name what they do.
AXES_ENABLED = envbool("SIGNIN_THROTTLING", True)
AXES_FAILURE_LIMIT = envint("SIGNIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=envint("SIGNIN_LOCKOUT_MINUTES", 15))
# Keyed by both, so a stranger cannot lock a colleague out from elsewhere...
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
# ...until a username's failures from all addresses reach this higher limit
# (an attacker rotating addresses); the handler adds that second lock-out.
SIGNIN_USERNAME_FAILURE_LIMIT = envint("SIGNIN_USERNAME_FAILURE_LIMIT", 20)
AXES_HANDLER = "accounts.security.SignInLockoutHandler"
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "audit/locked_out.html"
# The address the audit history records, so both name the same client.
AXES_CLIENT_IP_CALLABLE = "accounts.audit.records.client_ip"
# The audit history records sign-ins; axes keeps only the failure counters.
AXES_DISABLE_ACCESS_LOG = True

# --- HTTPS and browser protections -------------------------------------------
# DJANGO_SECURE=1 where the site is served over HTTPS (production): secure
# cookies, HSTS and a redirect of plain HTTP.
_secure = envbool("DJANGO_SECURE", False)
SECURE_SSL_REDIRECT = _secure
# Probes of a load balancer or orchestrator call these over plain HTTP.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
SESSION_COOKIE_SECURE = _secure
CSRF_COOKIE_SECURE = _secure
LANGUAGE_COOKIE_SECURE = _secure
# The variables were DJANGO_HSTS_SECONDS, DJANGO_HSTS_INCLUDE_SUBDOMAINS,
# DJANGO_HSTS_PRELOAD and DJANGO_PROXY_SSL_HEADER: still read if set.
SECURE_HSTS_SECONDS = (
    envint(env_name("DJANGO_SECURE_HSTS_SECONDS", "DJANGO_HSTS_SECONDS"), 31_536_000)
    if _secure
    else 0
)
SECURE_HSTS_INCLUDE_SUBDOMAINS = envbool(
    env_name("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", "DJANGO_HSTS_INCLUDE_SUBDOMAINS"),
    True,
)
SECURE_HSTS_PRELOAD = envbool(
    env_name("DJANGO_SECURE_HSTS_PRELOAD", "DJANGO_HSTS_PRELOAD"), True
)
# Behind a TLS-terminating proxy: the header it sets to "https", e.g.
# X-Forwarded-Proto. Only set it if the proxy always overwrites that header.
_proxy_ssl_header = os.environ.get(
    env_name("DJANGO_SECURE_PROXY_SSL_HEADER", "DJANGO_PROXY_SSL_HEADER"), ""
)
if _proxy_ssl_header:
    SECURE_PROXY_SSL_HEADER = (
        "HTTP_" + _proxy_ssl_header.upper().replace("-", "_"),
        "https",
    )
# Behind a reverse proxy: the header it appends the client's address to (e.g.
# X-Forwarded-For), for the audit history and sign-in throttling. Unset, the
# connection's address (REMOTE_ADDR) is used. Not a Django setting: the
# variable was DJANGO_CLIENT_IP_HEADER, still read if set.
CLIENT_IP_HEADER = os.environ.get(
    env_name("CLIENT_IP_HEADER", "DJANGO_CLIENT_IP_HEADER"), ""
)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Turning HSTS preload or subdomains off is a decision, not an oversight.
SILENCED_SYSTEM_CHECKS = [
    *([] if SECURE_HSTS_PRELOAD else ["security.W021"]),
    *([] if SECURE_HSTS_INCLUDE_SUBDOMAINS else ["security.W005"]),
]
# No inline scripts or styles anywhere, the admin included.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    }
}
# A refused form (an expired page, cookies off) gets the styled 403 page.
CSRF_FAILURE_VIEW = "accounts.errorpages.views.csrf_failure"
# Error reports also hide the IM secret key and UserSigs held in variables.
DEFAULT_EXCEPTION_REPORTER_FILTER = "accounts.security.SecretsReporterFilter"

LANGUAGE_CODE = "en"
# Chinese is spelled zh-hans, the code Django's admin and django-q2 ship
# their catalogues under; browsers sending zh-CN or zh-SG fall back to it.
LANGUAGES = [("en", "English"), ("zh-hans", "简体中文")]
LOCALE_PATHS = [BASE_DIR / "locale"]
# The switcher's choice outlasts the browser session (Django's default).
LANGUAGE_COOKIE_AGE = 365 * 24 * 3600
FORMAT_MODULE_PATH = ["imadmin.formats"]
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", IMADMIN_VAR_DIR / "static"))
# collectstatic writes hashed names (cached for a year by browsers) and gzip
# variants, which WhiteNoise serves from the web process itself.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
# No STATICFILES_DIRS: accounts/static is an app's static/ folder, which the
# app directories finder already serves; listing it again made collectstatic
# find every file twice.

# --- Tencent IM -----------------------------------------------------------
# With no IM_SDKAPPID the project runs in sandbox mode: the local im_sandbox
# with a generated key, so a laptop needs no credentials.
IM_SDKAPPID = os.environ.get("IM_SDKAPPID", "")
IM_SANDBOX = not IM_SDKAPPID
IM_SECRET_KEY = os.environ.get("IM_SECRET_KEY", "")
IM_SECRET_KEY_FILE = os.environ.get("IM_SECRET_KEY_FILE", "")
if IM_SANDBOX and not (IM_SECRET_KEY or IM_SECRET_KEY_FILE):
    IM_SECRET_KEY_FILE = str(IMADMIN_VAR_DIR / "im-sandbox-secret.key")
    _local_secret(IM_SECRET_KEY_FILE)
IM_ADMIN_IDENTIFIER = os.environ.get("IM_ADMIN_IDENTIFIER", "administrator")
IM_REGION = os.environ.get("IM_REGION", "" if IM_SANDBOX else "china")
IM_SANDBOX_PORT = envint("IM_SANDBOX_PORT", 8765)
IM_API_BASE_URL = os.environ.get("IM_API_BASE_URL", "") or (
    f"http://127.0.0.1:{IM_SANDBOX_PORT}" if IM_SANDBOX else ""
)
IM_CONNECT_TIMEOUT = envfloat("IM_CONNECT_TIMEOUT", 3.05)
# The service gives up after 3 s on its own side; read longer than that.
IM_READ_TIMEOUT = envfloat("IM_READ_TIMEOUT", 10.0)
IM_USERSIG_TTL = envint("IM_USERSIG_TTL", 86400)
# Share of each API's documented rate that all workers together may use.
IM_RATE_FRACTION = envfloat("IM_RATE_FRACTION", 0.9)
# Sender threads of each worker process's engine: calls it keeps in flight.
IM_CONCURRENCY = envint("IM_CONCURRENCY", 8)
IM_MAX_ATTEMPTS = envint("IM_MAX_ATTEMPTS", 5)
# A claim's lease; renewed every quarter of it while a worker holds the claim.
IM_CLAIM_LEASE_SECONDS = envint("IM_CLAIM_LEASE_SECONDS", 30)
# Longest pause between two probes of a job waiting for IM to answer again.
IM_OUTAGE_MAX_WAIT_SECONDS = envint("IM_OUTAGE_MAX_WAIT_SECONDS", 120)
# Run the send engine in each django-q2 worker process (off: tasks only).
IM_ENGINE = envbool("IM_ENGINE", True)
PREPARE_SLICE_SECONDS = envint("PREPARE_SLICE_SECONDS", 60)
CHECK_INTERVAL_MINUTES = envint("CHECK_INTERVAL_MINUTES", 10)

# Deleting from IM cannot be undone: more than this many accounts (or "all
# that match") asks for their count to be typed; more than the cap is refused
# unless DELETE_ALLOW_ABOVE_MAX is set.
DELETE_CONFIRM_COUNT_ABOVE = envint("DELETE_CONFIRM_COUNT_ABOVE", 20)
DELETE_MAX_ACCOUNTS = envint("DELETE_MAX_ACCOUNTS", 10_000)
DELETE_ALLOW_ABOVE_MAX = envbool("DELETE_ALLOW_ABOVE_MAX", False)

UPLOAD_MAX_BYTES = envint("UPLOAD_MAX_BYTES", 200 * 1024 * 1024)
UPLOAD_MAX_ROWS = envint("UPLOAD_MAX_ROWS", 2_000_000)
# Larger CSV files (and XLSX files above a tenth of it: they read about ten
# times slower) are previewed by a worker while the page shows its progress.
UPLOAD_PREVIEW_SYNC_BYTES = envint("UPLOAD_PREVIEW_SYNC_BYTES", 4 * 1024 * 1024)
UPLOAD_DIR = Path(os.environ.get("UPLOAD_DIR", IMADMIN_VAR_DIR / "uploads"))
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# --- The JSON API (/api/v1/) ------------------------------------------------
# Requests one token may make per window; 0 turns the limit off. Counted in
# Django's cache (Redis, or the database cache), so every process shares it.
API_RATE_LIMIT = envint("API_RATE_LIMIT", 600)
API_RATE_WINDOW_SECONDS = envint("API_RATE_WINDOW_SECONDS", 60)
# Largest request body: 10,000 accounts with long nicknames and avatar URLs
# fit; DATA_UPLOAD_MAX_MEMORY_SIZE (the pages' limit) does not apply to it.
API_MAX_BODY_BYTES = envint("API_MAX_BODY_BYTES", 16 * 1024 * 1024)

# --- Notifications of a job's end ---------------------------------------------
# Attempts per webhook delivery, and the wait before the second one (doubled
# after each failure after that).
WEBHOOK_MAX_ATTEMPTS = envint("WEBHOOK_MAX_ATTEMPTS", 6)
WEBHOOK_BACKOFF_SECONDS = envfloat("WEBHOOK_BACKOFF_SECONDS", 30.0)
WEBHOOK_TIMEOUT_SECONDS = envfloat("WEBHOOK_TIMEOUT_SECONDS", 10.0)
# Plain http:// is accepted for webhooks and scheduled-import URLs only to a
# loopback address, and only when this is on (local development and tests).
OUTBOUND_HTTP_LOOPBACK = envbool("OUTBOUND_HTTP_LOOPBACK", DEBUG)
# Django's mail: the console backend (mail printed by the worker) unless an
# SMTP host is set.
EMAIL_HOST = os.environ.get("DJANGO_EMAIL_HOST", "")
EMAIL_BACKEND = os.environ.get("DJANGO_EMAIL_BACKEND") or (
    "django.core.mail.backends.smtp.EmailBackend"
    if EMAIL_HOST
    else "django.core.mail.backends.console.EmailBackend"
)
EMAIL_PORT = envint("DJANGO_EMAIL_PORT", 25)
EMAIL_HOST_USER = os.environ.get("DJANGO_EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("DJANGO_EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = envbool("DJANGO_EMAIL_USE_TLS", False)
EMAIL_USE_SSL = envbool("DJANGO_EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = envint("DJANGO_EMAIL_TIMEOUT", 10)
DEFAULT_FROM_EMAIL = os.environ.get("DJANGO_DEFAULT_FROM_EMAIL", "imadmin@localhost")

# --- Scheduled imports --------------------------------------------------------
# Files a scheduled import may read: this folder and below, nothing else.
SCHEDULED_IMPORT_DIR = Path(
    os.environ.get("SCHEDULED_IMPORT_DIR", IMADMIN_VAR_DIR / "imports")
)
# Hosts a scheduled import may fetch from; a private, loopback or link-local
# address is refused unless listed itself (an address or a network).
SCHEDULED_IMPORT_HOSTS = envlist("SCHEDULED_IMPORT_HOSTS", [])
SCHEDULED_IMPORT_TIMEOUT_SECONDS = envfloat("SCHEDULED_IMPORT_TIMEOUT_SECONDS", 30.0)

LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO")
# "json": one JSON object a line, for a log collector; "plain" for people.
LOG_FORMAT = os.environ.get("LOG_FORMAT", "plain")
if LOG_FORMAT not in ("plain", "json"):
    raise ImproperlyConfigured(f"LOG_FORMAT must be plain or json, not {LOG_FORMAT!r}")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        # Every line a job writes names it; no line carries a UserSig.
        "job": {"()": "accounts.ops.logs.JobIdFilter"},
        "secrets": {"()": "accounts.im.client.UserSigRedactingFilter"},
    },
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s%(job)s %(message)s"},
        "json": {"()": "accounts.ops.logs.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["job", "secrets"],
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    # urllib3 logs full request URLs at DEBUG, and those carry the UserSig.
    # django-axes announces itself at every start (every manage.py command).
    "loggers": {"urllib3": {"level": "WARNING"}, "axes.apps": {"level": "WARNING"}},
}

# --- Operations: health, metrics, retention ------------------------------------
# /metrics answers a request with "Authorization: Bearer METRICS_TOKEN", or
# from an address in METRICS_ALLOWED_ADDRESSES (addresses or networks).
METRICS_TOKEN = os.environ.get("METRICS_TOKEN", "")
METRICS_ALLOWED_ADDRESSES = envlist("METRICS_ALLOWED_ADDRESSES", [])
for _address in METRICS_ALLOWED_ADDRESSES:
    try:
        ipaddress.ip_network(_address, strict=False)
    except ValueError:
        raise ImproperlyConfigured(
            f"METRICS_ALLOWED_ADDRESSES: {_address!r} is not an address or network"
        ) from None
# /readyz's account_check of one UserID waits at most this long for IM.
READYZ_IM_TIMEOUT = envfloat("READYZ_IM_TIMEOUT", 3.0)
# prune: decided uploads (rows and files) older than this many days go.
UPLOAD_RETENTION_DAYS = envint("UPLOAD_RETENTION_DAYS", 30)
# prune: API-call rows older than this many days go; 0 keeps them forever
# (auditors read them).
API_CALL_RETENTION_DAYS = envint("API_CALL_RETENTION_DAYS", 0)
