"""Settings for the provisioning portal.

Everything comes from the environment (django-environ). With nothing set, the portal runs on embedded
defaults that need no server: SQLite and a filesystem Celery broker under ``var/``.
"""

import os
import tempfile
from datetime import timedelta
from pathlib import Path

import environ
from csp.constants import NONE, SELF, UNSAFE_INLINE
from kombu import Queue

from portal.local_secrets import check_fernet_keys, read_or_create_fernet_key, read_or_create_secret_key

BASE_DIR = Path(__file__).resolve().parent.parent
env = environ.Env()
if "PYTEST_VERSION" in os.environ and (
    "PORTAL_VAR_DIR" not in os.environ or Path(os.environ["PORTAL_VAR_DIR"]).resolve() == BASE_DIR / "var"
):
    # Each test run gets its own var/: its own SQLite test database and filesystem broker, so two runs
    # on one machine never consume each other's tasks or delete each other's database, and a run never
    # touches the var/ of a portal started beside it (`manage.py start`), even with PORTAL_VAR_DIR set
    # to it. Processes a test starts inherit the run's folder through the environment.
    os.environ["PORTAL_VAR_DIR"] = tempfile.mkdtemp(prefix="portal-test-")
VAR_DIR = Path(env.str("PORTAL_VAR_DIR", default=str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = env.bool("DEBUG", default=True)
# Embedded mode: no DATABASE_URL, so SQLite and keys under var/ on one machine (the README's first
# command). There the keys generated into var/ are fine with DEBUG off; a real deployment must set them.
EMBEDDED = not env.str("DATABASE_URL", default="")
if DEBUG or EMBEDDED:
    SECRET_KEY = env.str("SECRET_KEY", default="") or read_or_create_secret_key(VAR_DIR / "secret_key")
else:
    SECRET_KEY = env.str("SECRET_KEY")  # required in production: fail loudly when missing

# Fernet keys for secrets at rest, newest first; older keys keep decrypting during a rotation.
FIELD_ENCRYPTION_KEYS = env.list("FIELD_ENCRYPTION_KEYS", default=[]) or (
    [read_or_create_fernet_key(VAR_DIR / "fernet_key")] if DEBUG or EMBEDDED else []
)
if not FIELD_ENCRYPTION_KEYS:
    raise environ.ImproperlyConfigured(
        "Set FIELD_ENCRYPTION_KEYS (comma-separated Fernet keys) when DEBUG is off"
    )
FIELD_ENCRYPTION_KEYS = [key.strip() for key in FIELD_ENCRYPTION_KEYS if key.strip()]
check_fernet_keys(FIELD_ENCRYPTION_KEYS)  # a clear message now rather than a failure at the first secret

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
PORTAL_BASE_URL = env.str("PORTAL_BASE_URL", default=f"http://127.0.0.1:{env.int('PORT', default=8000)}")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "template_partials",
    "django_celery_beat",
    "portal",
    "portal.directory",
    "portal.applications",
    "portal.accounts",
    "portal.api",
    "provisioning",
    "axes",
    "csp",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "portal.i18n.middleware.PortalLocaleMiddleware",  # the user's language, English for the API
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "portal.accounts.middleware.PortalAccessMiddleware",  # the role policy, after sign-in is required
    "axes.middleware.AxesMiddleware",  # last, as django-axes asks
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "portal.context_processors.navigation",
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'portal.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL + IMMEDIATE transactions let the web server and the worker write the same file without
    # "database is locked"; the shared test file lets a worker thread see the test database.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
    }
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test.sqlite3")}
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
CACHES = {"default": env.cache_url("CACHE_URL", default="dbcache://portal_cache")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=8 * 3600)
SESSION_EXPIRE_AT_BROWSER_CLOSE = env.bool("SESSION_EXPIRE_AT_BROWSER_CLOSE", default=False)
CSRF_FAILURE_VIEW = "portal.accounts.views.csrf_failure"  # refusals in the shell, not Django's bare page

# Sign-in: local accounts (can be turned off) and Microsoft Entra ID; see portal/accounts/.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # refuses a locked-out sign-in before any password check
    "portal.accounts.backends.LocalAccountBackend",
    "portal.accounts.backends.EntraIdBackend",
]
LOCAL_ACCOUNTS_ENABLED = env.bool("LOCAL_ACCOUNTS_ENABLED", default=True)
ENTRA_TENANT_ID = env.str("ENTRA_TENANT_ID", default="")
ENTRA_CLIENT_ID = env.str("ENTRA_CLIENT_ID", default="")
ENTRA_CLIENT_SECRET = env.str("ENTRA_CLIENT_SECRET", default="")
ENTRA_CLIENT_CERTIFICATE_PATH = env.str("ENTRA_CLIENT_CERTIFICATE_PATH", default="")  # .pfx or PEM
ENTRA_CLIENT_CERTIFICATE_PASSWORD = env.str("ENTRA_CLIENT_CERTIFICATE_PASSWORD", default="")
# ENTRA_REDIRECT_URI must match the app registration; empty = <this site>/accounts/microsoft/callback/
ENTRA_REDIRECT_URI = env.str("ENTRA_REDIRECT_URI", default="")
ENTRA_AUTHORITY = env.str("ENTRA_AUTHORITY", default="")  # e.g. https://login.microsoftonline.us/<tenant>
ENTRA_OIDC_AUTHORITY = env.str("ENTRA_OIDC_AUTHORITY", default="")  # another OpenID provider's issuer
ENTRA_INSTANCE_DISCOVERY = env.bool("ENTRA_INSTANCE_DISCOVERY", default=True)
ENTRA_SCOPES = env.list("ENTRA_SCOPES", default=[])
ENTRA_CA_BUNDLE = env.str("ENTRA_CA_BUNDLE", default="")  # a private CA for the authority's TLS
ENTRA_ROLE_MAPPING = env.json("ENTRA_ROLE_MAPPING", default={})  # {"group id / app role": "role"}
ENTRA_USE_DIRECTORY_ROLES = env.bool("ENTRA_USE_DIRECTORY_ROLES", default=True)  # the wids claim
# Tenant ids whose accounts may sign in; required with a multi-tenant ENTRA_TENANT_ID (common, organizations)
ENTRA_ALLOWED_TENANTS = env.list("ENTRA_ALLOWED_TENANTS", default=[])
# The tenant whose directory roles (wids) count; default ENTRA_TENANT_ID when it names a tenant
ENTRA_HOME_TENANT_ID = env.str("ENTRA_HOME_TENANT_ID", default="")
# An extra audience the Graph-style API accepts in access tokens (besides the client id forms)
ENTRA_API_AUDIENCE = env.str("ENTRA_API_AUDIENCE", default="")

# Sign-in throttling (django-axes): N failed passwords for one username from one address lock it out.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=30))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "accounts/locked_out.html"

# Content-Security-Policy (django-csp): no inline or eval'd script anywhere (htmx runs with allowEval
# off). Inline style *attributes* stay allowed (progress bars set their width), <style> elements do not.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF, UNSAFE_INLINE],
        "style-src-elem": [SELF],
        "style-src-attr": [UNSAFE_INLINE],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}

# English is the source language; the catalogues are locale/<lang>/LC_MESSAGES/django.po, compiled by
# `manage.py start`, the Dockerfile and the test session (portal/i18n/catalogues.py, no gettext needed).
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("fr", "Français"), ("nl", "Nederlands"), ("th", "ไทย")]
LOCALE_PATHS = [BASE_DIR / "locale"]
LANGUAGE_COOKIE_NAME = "portal_language"
LANGUAGE_COOKIE_AGE = 365 * 24 * 3600
# One date format on every page, per language (portal/formats/<lang>/formats.py): localisable.
FORMAT_MODULE_PATH = ["portal.formats"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
STATIC_ROOT.mkdir(exist_ok=True)  # whitenoise warns about a missing root even when it serves from finders
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG or EMBEDDED
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
# Embedded mode serves static files straight from the source folders (no collectstatic step), with
# DEBUG on or off; a deployment collects them once (the Dockerfile does) and serves the manifest.
WHITENOISE_USE_FINDERS = DEBUG or EMBEDDED

EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="provisioning@localhost")

if not DEBUG:
    # Embedded mode serves plain http on loopback: secure-only cookies and HSTS would lock it out.
    SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not EMBEDDED)
    CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not EMBEDDED)
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if EMBEDDED else 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=False)
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not EMBEDDED)
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]  # the container healthcheck asks over plain HTTP
    # Trust X-Forwarded-Proto only from a declared proxy: without one, any client could claim HTTPS.
    if env.bool("TRUSTED_PROXY", default=False):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Celery: Redis in production; a filesystem broker under var/ when no server is configured.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    _broker_dir = VAR_DIR / "broker"
    for _sub in ("queue", "processed", "control"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
        "polling_interval": 0.1,  # the default 1 s poll would add a second to every task hop
    }
# Provisioning engine: the page knobs are read here because the broker options below depend on them.
PROVISIONING_PAGE_SIZE = env.int("PROVISIONING_PAGE_SIZE", default=500)
# SCIM requests in flight per worker
PROVISIONING_CONCURRENCY = env.int("PROVISIONING_CONCURRENCY", default=4)
PROVISIONING_REQUEST_TIMEOUT = env.float("PROVISIONING_REQUEST_TIMEOUT", default=30.0)
PROVISIONING_RETRY_BASE_DELAY = env.float("PROVISIONING_RETRY_BASE_DELAY", default=0.5)
# Attempts of one SCIM request on a transient error (network, 408, 429, 5xx)
PROVISIONING_RETRY_ATTEMPTS = env.int("PROVISIONING_RETRY_ATTEMPTS", default=4)
# Page tasks: soft limit (the page fails with a clear error), hard limit (the process is killed and the
# page comes back). The longest page: page size / concurrency x (request timeout x retries), far below
# these for healthy targets; the defaults fit 500 objects against a slow target.
PROVISIONING_PAGE_SOFT_TIME_LIMIT = env.int("PROVISIONING_PAGE_SOFT_TIME_LIMIT", default=20 * 60)
PROVISIONING_PAGE_TIME_LIMIT = env.int(
    "PROVISIONING_PAGE_TIME_LIMIT", default=PROVISIONING_PAGE_SOFT_TIME_LIMIT + 60
)
# A page pending or running without a sign of life (a worker's heartbeat) for this long is queued again
# by the reaper (beat, every PROVISIONING_REAPER_INTERVAL s); after PROVISIONING_PAGE_MAX_ATTEMPTS runs
# it is marked failed and the cycle finishes as failed instead of running forever.
PROVISIONING_PAGE_STALE_SECONDS = env.int("PROVISIONING_PAGE_STALE_SECONDS", default=180)
PROVISIONING_REAPER_INTERVAL = env.float("PROVISIONING_REAPER_INTERVAL", default=60.0)
PROVISIONING_PAGE_MAX_ATTEMPTS = env.int("PROVISIONING_PAGE_MAX_ATTEMPTS", default=5)
# Database or broker errors in a page: retried after 2, 4, 8... s (capped) up to the attempts above.
PROVISIONING_PAGE_RETRY_DELAY = env.float("PROVISIONING_PAGE_RETRY_DELAY", default=2.0)
# A dead target: after this many consecutive connection failures (or 401/403) a page stops sending and
# its remaining objects wait (back off PROVISIONING_TARGET_BACKOFF s, doubling); after
# PROVISIONING_TARGET_MAX_PAUSES pauses in a row the cycle ends as failed and the next cycle resumes them.
PROVISIONING_TARGET_FAILURE_THRESHOLD = env.int("PROVISIONING_TARGET_FAILURE_THRESHOLD", default=5)
PROVISIONING_TARGET_BACKOFF = env.float("PROVISIONING_TARGET_BACKOFF", default=30.0)
PROVISIONING_TARGET_MAX_PAUSES = env.int("PROVISIONING_TARGET_MAX_PAUSES", default=6)

CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True  # a task whose worker dies is delivered again
CELERY_TASK_REJECT_ON_WORKER_LOST = True  # ... at once when a pool process dies (prefork)
if CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    # Redis hands an unacknowledged task to another worker after the visibility timeout: it must exceed
    # the longest page (its hard time limit), or a page still running would be delivered twice; it
    # bounds how long the page of a killed worker waits (the reaper usually re-queues it sooner).
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": env.int(
            "CELERY_VISIBILITY_TIMEOUT", default=int(PROVISIONING_PAGE_TIME_LIMIT * 1.25)
        ),
        "unacked_restore_interval": env.int("CELERY_UNACKED_RESTORE_INTERVAL", default=10),
        "unacked_restore_throttle": 1,
        "socket_timeout": 30,
        "socket_connect_timeout": 10,
    }
# Fairness: provision on demand and near-real-time cycles go ahead of bulk pages, and starting a cycle
# never waits behind another app's thousands of pages. Workers consume all three, in this order.
# A worker consumes every queue below (``-Q realtime,celery,pages`` says so explicitly); pages of small
# cycles (one page per phase) go to ``realtime`` and each cycle keeps at most PROVISIONING_PAGES_IN_FLIGHT
# pages queued at once, so a 5,000-user cycle never stands between a 12-user app and a worker.
CELERY_TASK_DEFAULT_QUEUE = "celery"
CELERY_TASK_QUEUES = [Queue("realtime"), Queue("celery"), Queue("pages")]
CELERY_TASK_ROUTES = {
    "provisioning.tasks.process_page": {"queue": "pages"},
    "provisioning.tasks.run_cycle": {"queue": "realtime"},
    "provisioning.tasks.near_real_time": {"queue": "realtime"},
}
PROVISIONING_PAGES_IN_FLIGHT = env.int("PROVISIONING_PAGES_IN_FLIGHT", default=4)
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ALWAYS_EAGER = False
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_BEAT_SCHEDULE = {
    "provisioning-schedule-tick": {"task": "provisioning.tasks.schedule_tick", "schedule": 30.0},
    "directory-purge-recycle-bin": {
        "task": "portal.directory.tasks.purge_recycle_bin",
        "schedule": 24 * 3600.0,
    },
    "directory-purge-stale-imports": {
        "task": "portal.directory.tasks.purge_stale_imports",
        "schedule": 24 * 3600.0,
    },
    "provisioning-purge-logs": {"task": "provisioning.tasks_retention.purge_logs", "schedule": 24 * 3600.0},
    "provisioning-reap-pages": {
        "task": "provisioning.tasks.reap_pages",
        "schedule": PROVISIONING_REAPER_INTERVAL,
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "httpx": {"level": "WARNING"},  # one line per SCIM request drowns everything else
        "httpx2": {"level": "WARNING"},
    },
}

# Provisioning engine (page size, concurrency, timeouts and page reliability: see the Celery section)
# SCIM Bulk for creates when the target advertises it
PROVISIONING_USE_BULK = env.bool("PROVISIONING_USE_BULK", default=True)
# Values per matching GET (`userName eq "a" or userName eq "b"`): worth raising only for targets that
# index `or` filters; scim2-server scans for them, so one indexed `eq` per object is faster there.
PROVISIONING_MATCH_BATCH_SIZE = env.int("PROVISIONING_MATCH_BATCH_SIZE", default=1)
# Members added or removed per group PATCH (Entra sends several in one request)
PROVISIONING_MEMBER_BATCH_SIZE = env.int("PROVISIONING_MEMBER_BATCH_SIZE", default=100)
# Outbound destinations (CIDR lists; see provisioning/connectors/outbound.py): link-local and cloud
# metadata addresses are always refused, loopback and private ranges unless allowed here. The embedded
# (DEBUG) defaults allow loopback so the demo SCIM target on 127.0.0.1 works.
PROVISIONING_OUTBOUND_ALLOW = env.list(
    "PROVISIONING_OUTBOUND_ALLOW", default=["127.0.0.0/8", "::1/128"] if DEBUG else []
)
PROVISIONING_OUTBOUND_DENY = env.list("PROVISIONING_OUTBOUND_DENY", default=[])
# Test Connection / validateCredentials attempts per user per window (seconds).
PROVISIONING_TEST_CONNECTION_LIMIT = env.int("PROVISIONING_TEST_CONNECTION_LIMIT", default=10)
PROVISIONING_TEST_CONNECTION_WINDOW = env.int("PROVISIONING_TEST_CONNECTION_WINDOW", default=60)
# Seconds Test Connection waits for the application
PROVISIONING_TEST_CONNECTION_TIMEOUT = env.float("PROVISIONING_TEST_CONNECTION_TIMEOUT", default=10.0)
# Near-real-time provisioning: seconds a directory change waits so a burst of changes makes one cycle
PROVISIONING_DEBOUNCE_SECONDS = env.float("PROVISIONING_DEBOUNCE_SECONDS", default=2.0)
# Quarantine retries come 6 h, 12 h, 24 h after the first failure, times this factor (drills shrink it)
PROVISIONING_QUARANTINE_TIME_SCALE = env.float("PROVISIONING_QUARANTINE_TIME_SCALE", default=1.0)
# Escrow-proportion quarantine (Entra's rule): a cycle with at least MIN_FAILURES failed objects that are
# more than FAILURE_PROPORTION of its objects, or more than MAX_FAILURES, quarantines the job
PROVISIONING_QUARANTINE_MIN_FAILURES = env.int("PROVISIONING_QUARANTINE_MIN_FAILURES", default=5000)
PROVISIONING_QUARANTINE_FAILURE_PROPORTION = env.float(
    "PROVISIONING_QUARANTINE_FAILURE_PROPORTION", default=0.4
)
PROVISIONING_QUARANTINE_MAX_FAILURES = env.int("PROVISIONING_QUARANTINE_MAX_FAILURES", default=40000)
# At most one failure email per job and kind in this many seconds
PROVISIONING_NOTIFICATION_INTERVAL = env.int("PROVISIONING_NOTIFICATION_INTERVAL", default=86400)
# Provisioning log rows older than this many days are purged (Entra keeps them 30 days)
PROVISIONING_LOG_RETENTION_DAYS = env.int("PROVISIONING_LOG_RETENTION_DAYS", default=30)
# A running cycle with no progress (no page saved) for this many seconds is reported as stalled: on the
# overview, in the API job status, by one email and by /healthz (provisioning/sync/stalls.py).
PROVISIONING_STALL_AFTER = env.int("PROVISIONING_STALL_AFTER", default=900)
# /healthz reports lost work when a running cycle's pending pages have no message in the broker and the
# cycle has made no progress for this many seconds: longer than a page normally takes, since the
# filesystem broker cannot show the messages workers hold (Redis can: its unacked ones are counted).
PROVISIONING_LOST_WORK_AFTER = env.int("PROVISIONING_LOST_WORK_AFTER", default=300)
# Characters of one attribute value kept in the escrow record and in log rows: a larger value still
# reaches the target whole, but the record keeps its sha256 digest and a log row a truncated copy.
PROVISIONING_RECORD_VALUE_LIMIT = env.int("PROVISIONING_RECORD_VALUE_LIMIT", default=4096)
# Authorize (OAuth authorization code): the redirect URI to register at the applications (empty = this
# site's /applications/provisioning/authorize/callback/), and a private CA for their OAuth endpoints.
PROVISIONING_OAUTH_REDIRECT_URI = env.str("PROVISIONING_OAUTH_REDIRECT_URI", default="")
PROVISIONING_OAUTH_CA_BUNDLE = env.str("PROVISIONING_OAUTH_CA_BUNDLE", default="")

# Budgets of one attribute-mapping expression evaluation (provisioning/expressions/budget.py): over any
# of them the object fails with a clear error instead of hanging or bloating a worker.
# Total time regular expressions may run (catastrophic backtracking is stopped here)
EXPRESSION_REGEX_TIMEOUT_MS = env.int("EXPRESSION_REGEX_TIMEOUT_MS", default=250)
# Longest value (characters; summed over a multi-valued one) a function may return
EXPRESSION_MAX_VALUE_LENGTH = env.int("EXPRESSION_MAX_VALUE_LENGTH", default=65_536)
# Function calls and per-value transforms
EXPRESSION_MAX_STEPS = env.int("EXPRESSION_MAX_STEPS", default=100_000)

# Directory: days a deleted user or group stays in the recycle bin; CSV imports of more rows than
# DIRECTORY_IMPORT_ASYNC_ROWS run on a worker; uploads up to DIRECTORY_IMPORT_MAX_BYTES, kept for
# DIRECTORY_IMPORT_KEEP_DAYS days.
DIRECTORY_RECYCLE_BIN_DAYS = env.int("DIRECTORY_RECYCLE_BIN_DAYS", default=30)
DIRECTORY_IMPORT_ASYNC_ROWS = env.int("DIRECTORY_IMPORT_ASYNC_ROWS", default=5000)
DIRECTORY_IMPORT_MAX_BYTES = env.int("DIRECTORY_IMPORT_MAX_BYTES", default=50 * 1024 * 1024)
DIRECTORY_IMPORT_KEEP_DAYS = env.int("DIRECTORY_IMPORT_KEEP_DAYS", default=7)
