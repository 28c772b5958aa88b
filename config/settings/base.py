"""Settings shared by every environment.

With no environment variables set, the project runs *embedded*: SQLite, Celery tasks executed
in-process, and the embedded search backend. Setting ``DATABASE_URL``, ``CELERY_BROKER_URL`` (or
``REDIS_URL``) and ``ELASTICSEARCH_URL`` switches each part to its real service independently.
Every variable is documented in ``.env.example`` and in the README's settings table.
"""

import json
from datetime import timedelta
from pathlib import Path

from celery.schedules import crontab
from django.utils.translation import gettext_lazy as _

from config.env import BASE_DIR, env
from core.logging import logging_config

VAR_DIR = Path(env("TA_VAR_DIR", default=str(BASE_DIR / "var")))

DEBUG = env.bool("DJANGO_DEBUG", default=False)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    # modeltranslation patches the admin, so it must come before django.contrib.admin.
    "modeltranslation",
    # The web app's templates win over the admin's for the pages both define (sign-in, password
    # reset and change, and their e-mail), so focal points never land on "Django administration".
    "web",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "knox",
    "axes",
    "csp",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "drf_standardized_errors",
    "django_celery_beat",
    "core",
    "accounts",
    "kb",
    "matching",
]

MIDDLEWARE = [
    # First: past saturation, 503 at once before any work is done (LOAD_SHED_* below).
    "config.middleware.LoadSheddingMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Refuses oversized bodies (413) before any parser or form reads them.
    "config.middleware.RequestSizeLimitMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_permissions_policy.PermissionsPolicyMiddleware",
    # A write that timed out waiting for the database's write lock: 503 and Retry-After, not 500.
    "config.middleware.DatabaseBusyMiddleware",
    # A throttled form (password reset, access requests) answers 429 (RATELIMIT_VIEW).
    "django_ratelimit.middleware.RatelimitMiddleware",
    # Last, as django-axes asks: turns a lockout into its response (accounts.security).
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"

# --- Request limits --------------------------------------------------------------------------
# Every body: 2.5 MB (Django's default), enforced on every parser (config.middleware, kb.apis.parsers).
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=2_621_440)
# More query or form fields than this is a 400 (Django's default).
DATA_UPLOAD_MAX_NUMBER_FIELDS = 1000
# An interchange file uploaded to the API (moderators) may be larger: 50 MB, about 20,000 entries.
IMPORT_MAX_UPLOAD_SIZE = env.int("IMPORT_MAX_UPLOAD_SIZE", default=50 * 1024 * 1024)
LARGE_UPLOAD_PATHS = ("/api/v1/imports/",)
# An attachment (terms of reference, mission report...): at most 10 MB; the upload paths (ending
# in /attachments/, web and API) accept a body that large plus the form's other fields.
ATTACHMENT_MAX_SIZE = env.int("ATTACHMENT_MAX_SIZE", default=10 * 1024 * 1024)
ATTACHMENT_UPLOAD_PATH_SUFFIX = "/attachments/"

# --- Load shedding (config.middleware.LoadSheddingMiddleware) ---------------------------------
# Per web process: at most LOAD_SHED_MAX_IN_FLIGHT requests in the views at once (0: no limit),
# up to LOAD_SHED_QUEUE more waiting at most LOAD_SHED_WAIT_SECONDS for a slot; the rest answer
# 503 with Retry-After: LOAD_SHED_RETRY_AFTER at once. gunicorn's --threads must exceed slots plus
# queue (the Dockerfile runs 32 threads). Health checks and static files are never shed.
LOAD_SHED_MAX_IN_FLIGHT = env.int("LOAD_SHED_MAX_IN_FLIGHT", default=8)
LOAD_SHED_QUEUE = env.int("LOAD_SHED_QUEUE", default=16)
LOAD_SHED_WAIT_SECONDS = env.float("LOAD_SHED_WAIT_SECONDS", default=1.0)
LOAD_SHED_RETRY_AFTER = env.int("LOAD_SHED_RETRY_AFTER", default=2)
LOAD_SHED_EXEMPT_PATHS = ("/health/", "/static/")
WSGI_APPLICATION = "config.wsgi.application"

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
                "web.context_processors.notifications",
            ],
        },
    },
]

# --- Browser-side defences (docs/SECURITY.md) ---------------------------------------------------
# Content-Security-Policy (django-csp): scripts, styles, fonts, images and requests only from the
# app itself; no plugin, no framing, forms post only here. Every script is a file (no inline
# script anywhere, Swagger UI included); style attributes remain in a few templates (meters,
# chart sizes) and are the one allowance (style-src-attr), <style> elements are not allowed.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "style-src-elem": ["'self'"],
        "style-src-attr": ["'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    },
}
# Permissions-Policy (django-permissions-policy): the app uses no device or sensor API.
PERMISSIONS_POLICY = {
    feature: []
    for feature in (
        "accelerometer", "autoplay", "camera", "display-capture", "encrypted-media", "fullscreen",
        "geolocation", "gyroscope", "magnetometer", "microphone", "midi", "payment", "picture-in-picture",
        "publickey-credentials-get", "screen-wake-lock", "serial", "usb", "xr-spatial-tracking",
    )
}  # fmt: skip
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# --- Database --------------------------------------------------------------------------------
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web process read while a management command writes.
    DATABASES["default"].setdefault("OPTIONS", {})
    DATABASES["default"]["OPTIONS"].update(
        {
            "transaction_mode": "IMMEDIATE",
            # Busy timeout (seconds) a write waits for another's lock; imports write in short
            # batches (kb.services.importing), so waiting this long means something is wrong:
            # the request then answers 503 with Retry-After (config.middleware), never 500.
            "timeout": env.int("SQLITE_BUSY_TIMEOUT", default=15),
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
# django-axes first: a locked-out (address, IP) pair is refused before a password is checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    # ModelBackend, with the user's moderator flag loaded in the same query (accounts.backends).
    "accounts.backends.UserBackend",
    # Sessions opened before UserBackend existed name this one; they keep working.
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    # Not a rule: revokes the account's API tokens whenever its password changes.
    {"NAME": "accounts.security.RevokeTokensOnPasswordChange"},
]

# --- Sign-in defences (accounts.security, docs/SECURITY.md) -------------------------------------
# Reverse proxies in front of the app that append to X-Forwarded-For (0: clients connect directly).
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
# Per (address, IP): an attacker cannot lock a focal point out from elsewhere, and guessing one
# account's password from one address stops after AXES_FAILURE_LIMIT tries.
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# Every login path sends the address as "username" (Django's sign-in form, the token endpoint).
AXES_USERNAME_FORM_FIELD = "username"
AXES_USERNAME_CALLABLE = "accounts.security.axes_username"
AXES_CLIENT_IP_CALLABLE = "accounts.security.client_ip"
AXES_LOCKOUT_CALLABLE = "accounts.security.lockout_response"
AXES_VERBOSE = False
# Password reset and access requests, per address and per client IP (django-ratelimit).
FORM_RATE_PER_ADDRESS = env("FORM_RATE_PER_ADDRESS", default="5/h")
FORM_RATE_PER_IP = env("FORM_RATE_PER_IP", default="30/h")
RATELIMIT_VIEW = "web.views.accounts.rate_limited"
# API tokens (django-rest-knox): hashed at rest, expiring, a few per user.
REST_KNOX = {
    "TOKEN_TTL": timedelta(days=env.int("API_TOKEN_TTL_DAYS", default=30)),
    "AUTH_HEADER_PREFIX": "Token",
}
API_TOKENS_PER_USER = 10
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/"
# How long invitation links and password-reset links stay valid.
ACCOUNT_INVITATION_DAYS = env.int("ACCOUNT_INVITATION_DAYS", default=7)
PASSWORD_RESET_TIMEOUT = env.int("PASSWORD_RESET_TIMEOUT", default=3 * 24 * 3600)
# Absolute address used in e-mailed links (invitations, notifications). Unless set, the address
# bin/start and bin/dev serve (TA_HOST, TA_PORT), so a link never points at a port nobody serves.
TA_HOST = env("TA_HOST", default="127.0.0.1")
TA_PORT = env.int("TA_PORT", default=8000)
_SERVED_HOST = "localhost" if TA_HOST in ("0.0.0.0", "::") else TA_HOST
SITE_URL = env("SITE_URL", default=f"http://{_SERVED_HOST}:{TA_PORT}")
if _SERVED_HOST not in ALLOWED_HOSTS:
    ALLOWED_HOSTS = [*ALLOWED_HOSTS, _SERVED_HOST]

# --- Languages -------------------------------------------------------------------------------
# The six official UN languages, all first-class. Arabic is right-to-left.
LANGUAGE_CODE = "en"
LANGUAGES = [
    ("ar", _("Arabic")),
    ("zh-hans", _("Chinese")),
    ("en", _("English")),
    ("fr", _("French")),
    ("ru", _("Russian")),
    ("es", _("Spanish")),
]
MODELTRANSLATION_DEFAULT_LANGUAGE = "en"
MODELTRANSLATION_FALLBACK_LANGUAGES = ("en",)
LOCALE_PATHS = [BASE_DIR / "locale"]
# Dates with the month in words in every language (config/formats): 12/03/2026 is read as
# 3 December by some readers and 12 March by others.
FORMAT_MODULE_PATH = ["config.formats"]
USE_I18N = True
TIME_ZONE = "UTC"
USE_TZ = True

# --- Static files ----------------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
# --- Attachments (core/attachments.py) -------------------------------------------------------
# Never served directly: no URL maps to this directory or bucket; a view checks who may read.
ATTACHMENTS_ROOT = Path(env("ATTACHMENTS_ROOT", default=str(VAR_DIR / "attachments")))
ATTACHMENTS_S3_BUCKET = env("ATTACHMENTS_S3_BUCKET", default="")
if ATTACHMENTS_S3_BUCKET:
    # Any S3-compatible store (AWS, MinIO, Ceph...) through django-storages; private objects, and
    # the app streams them itself, so no signed or public URL ever leaves it.
    STORAGES["attachments"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": ATTACHMENTS_S3_BUCKET,
            "endpoint_url": env("ATTACHMENTS_S3_ENDPOINT_URL", default="") or None,
            "region_name": env("ATTACHMENTS_S3_REGION", default="") or None,
            "access_key": env("ATTACHMENTS_S3_ACCESS_KEY_ID", default="") or None,
            "secret_key": env("ATTACHMENTS_S3_SECRET_ACCESS_KEY", default="") or None,
            "default_acl": "private",
            "querystring_auth": True,
            "file_overwrite": False,
        },
    }
else:
    STORAGES["attachments"] = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(ATTACHMENTS_ROOT), "base_url": None},
    }

# --- Cache -----------------------------------------------------------------------------------
REDIS_URL = env("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env("CACHE_KEY_PREFIX", default="ta"),
            # A cache outage must degrade throttling, never fail a request outright.
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Celery ----------------------------------------------------------------------------------
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default=REDIS_URL)
# Embedded mode: with no broker, tasks run in the calling process (after commit, like real ones).
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
if CELERY_TASK_ALWAYS_EAGER:
    CELERY_BROKER_URL = "memory://"
CELERY_TASK_EAGER_PROPAGATES = False
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
# The longest task (a full matching run at 10k x 10k) takes well under an hour; the visibility
# timeout must exceed it or Redis redelivers a task that is still running.
# Socket timeouts: publishing from a request must fail within about a second when Redis is down
# or hung (accepts, never answers) — core/tasks.py then skips further publishes for a while and
# the periodic jobs catch up.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": 4 * 3600,
    "socket_connect_timeout": 1,
    "socket_timeout": 1,
}
CELERY_BROKER_CONNECTION_TIMEOUT = 1
CELERY_TASK_PUBLISH_RETRY = False
BROKER_BREAKER_SECONDS = env.int("BROKER_BREAKER_SECONDS", default=30)
CACHE_BREAKER_SECONDS = env.int("CACHE_BREAKER_SECONDS", default=30)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_BEAT_SCHEDULE = {
    "search-reconcile": {
        "task": "kb.tasks.search_reconcile_task",
        "schedule": env.int("SEARCH_RECONCILE_INTERVAL_SECONDS", default=60),
    },
    # Entry vectors missing or stale (the encoder was down, the model changed): computed in batches.
    "vectors-reconcile": {
        "task": "kb.tasks.entry_vectors_reconcile_task",
        "schedule": env.int("VECTORS_RECONCILE_INTERVAL_SECONDS", default=300),
    },
    # Runs whose worker died or whose message was lost are handed to the broker again.
    "matching-runs-recover": {
        "task": "matching.tasks.runs_recover_task",
        "schedule": env.int("MATCHING_RECOVER_INTERVAL_SECONDS", default=60),
    },
    # Re-scoring that the chain after an entry's commit did not finish (broker or search down).
    "matching-rescore-drain": {
        "task": "matching.tasks.rescore_requests_drain_task",
        "schedule": env.int("MATCHING_RESCORE_DRAIN_SECONDS", default=60),
    },
    # Notification e-mails the after-commit task could not send (broker or mail server down).
    "notification-emails-drain": {
        "task": "matching.tasks.notification_emails_drain_task",
        "schedule": env.int("NOTIFICATION_EMAIL_DRAIN_SECONDS", default=60),
    },
    # One e-mail a day to readers who chose the daily digest.
    "notification-daily-digest": {
        "task": "matching.tasks.notification_digests_task",
        "schedule": crontab(hour=env.int("NOTIFICATION_DIGEST_HOUR", default=6), minute=30),
    },
    "matching-nightly-full-run": {
        "task": "matching.tasks.nightly_full_run_task",
        "schedule": crontab(hour=env.int("MATCHING_NIGHTLY_HOUR", default=1), minute=0),
    },
    # Once a night, compare every entry's version with the index (catches anything at all).
    "search-reconcile-full": {
        "task": "kb.tasks.search_reconcile_task",
        "schedule": crontab(hour=2, minute=15),
        "kwargs": {"full": True},
    },
}

# --- Search ----------------------------------------------------------------------------------
ELASTICSEARCH_URL = env("ELASTICSEARCH_URL", default="")
SEARCH_BACKEND = "elasticsearch" if ELASTICSEARCH_URL else "embedded"
# Index names are "<prefix>-offers" / "<prefix>-needs"; the prefix separates environments
# sharing one cluster.
SEARCH_INDEX_PREFIX = env("SEARCH_INDEX_PREFIX", default="ta-dev")
SEARCH_EMBEDDED_PATH = Path(env("SEARCH_EMBEDDED_PATH", default=str(VAR_DIR / "search")))
# Seconds a search request may take before the API answers 503 (indexing uses its own, longer one).
SEARCH_REQUEST_TIMEOUT = env.float("SEARCH_REQUEST_TIMEOUT", default=2.0)
SEARCH_INDEXING_TIMEOUT = env.float("SEARCH_INDEXING_TIMEOUT", default=30.0)
SEARCH_NUMBER_OF_REPLICAS = env.int("SEARCH_NUMBER_OF_REPLICAS", default=0)
SEARCH_NUMBER_OF_SHARDS = env.int("SEARCH_NUMBER_OF_SHARDS", default=1)
# Make each write visible to search before returning (tests); production relies on the 1 s refresh.
SEARCH_REFRESH_ON_WRITE = env.bool("SEARCH_REFRESH_ON_WRITE", default=False)

# A search from a page or the API that finds Elasticsearch down or hung this many times in a row
# opens the circuit: further searches answer 503 at once for SEARCH_BREAKER_SECONDS, then one tries.
SEARCH_BREAKER_FAILURES = env.int("SEARCH_BREAKER_FAILURES", default=3)
SEARCH_BREAKER_SECONDS = env.int("SEARCH_BREAKER_SECONDS", default=30)
# /health/ready probes the broker and search concurrently and answers within this many seconds.
HEALTH_CHECK_TIMEOUT = env.float("HEALTH_CHECK_TIMEOUT", default=1.0)

# --- Domain ----------------------------------------------------------------------------------
# Which list makes a State "global South": "g77" (Group of 77, the default) or "m49" (the M49
# "developing regions" designation). Every South-South match names the definition used.
SOUTH_SOUTH_DEFINITION = env("SOUTH_SOUTH_DEFINITION", default="g77")

# --- Matching --------------------------------------------------------------------------------
# Defaults of the weights and limits; moderators override them in the admin (MatchingSettings).
# Re-score affected needs whenever an entry changes (after commit, on the "matching" queue).
MATCHING_INCREMENTAL = env.bool("MATCHING_INCREMENTAL", default=True)
# Needs scored between two progress updates (and cancellation checks) of a full run.
MATCHING_BATCH_SIZE = env.int("MATCHING_BATCH_SIZE", default=500)
# Helper tasks a full run queues on the "matching" queue: each one claims and scores batches on
# whichever matching worker takes it, beside the run's own worker (more workers, faster runs).
# In embedded mode tasks run in the calling process, so there are none.
MATCHING_RUN_HELPERS = env.int("MATCHING_RUN_HELPERS", default=0 if CELERY_TASK_ALWAYS_EAGER else 3)
# Recovery is driven by the run record, not the broker message: the worker executing a run holds
# a lease of MATCHING_RUN_LEASE_SECONDS, renewed by a heartbeat every third of it; every
# MATCHING_RECOVER_INTERVAL_SECONDS beat hands back to the broker any run whose lease expired (its
# worker died) or that was queued but never picked up (broker down) for MATCHING_RUN_QUEUED_SECONDS.
# A run that was claimed MATCHING_RUN_MAX_ATTEMPTS times without finishing fails.
MATCHING_RUN_LEASE_SECONDS = env.int("MATCHING_RUN_LEASE_SECONDS", default=60)
MATCHING_RUN_QUEUED_SECONDS = env.int("MATCHING_RUN_QUEUED_SECONDS", default=120)
MATCHING_RUN_MAX_ATTEMPTS = env.int("MATCHING_RUN_MAX_ATTEMPTS", default=5)
MATCHING_RECOVER_INTERVAL_SECONDS = env.int("MATCHING_RECOVER_INTERVAL_SECONDS", default=60)
# Time limits of matching tasks, in seconds: the soft one raises inside the task (the run fails
# with the reason), the hard one kills the pool process (its lease expires and recovery takes the
# run over, up to MATCHING_RUN_MAX_ATTEMPTS). Checked at start-up (matching/checks.py):
# lease < soft < hard < the broker's visibility timeout.
MATCHING_RUN_SOFT_TIME_LIMIT = env.int("MATCHING_RUN_SOFT_TIME_LIMIT", default=3300)
MATCHING_RUN_TIME_LIMIT = env.int("MATCHING_RUN_TIME_LIMIT", default=3600)
MATCHING_RESCORE_SOFT_TIME_LIMIT = env.int("MATCHING_RESCORE_SOFT_TIME_LIMIT", default=240)
MATCHING_RESCORE_TIME_LIMIT = env.int("MATCHING_RESCORE_TIME_LIMIT", default=300)
# Re-scoring requests (the incremental outbox): re-sent after a grace period, at most every
# RETRY seconds, dropped after BUDGET hours (the nightly full run has covered them by then).
MATCHING_RESCORE_GRACE_SECONDS = env.int("MATCHING_RESCORE_GRACE_SECONDS", default=120)
MATCHING_RESCORE_RETRY_SECONDS = env.int("MATCHING_RESCORE_RETRY_SECONDS", default=300)
MATCHING_RESCORE_BUDGET_HOURS = env.int("MATCHING_RESCORE_BUDGET_HOURS", default=24)
# Unsent notification e-mails are retried by beat for this long, then stay in the app only.
NOTIFICATION_EMAIL_RETRY_HOURS = env.int("NOTIFICATION_EMAIL_RETRY_HOURS", default=24)
# Readers who chose a daily digest get one e-mail at this hour (UTC) with their notifications not
# e-mailed yet from the last NOTIFICATION_DIGEST_HOURS (more than a day: a late run misses none;
# each notification is e-mailed once whatever the overlap).
NOTIFICATION_DIGEST_HOUR = env.int("NOTIFICATION_DIGEST_HOUR", default=6)
NOTIFICATION_DIGEST_HOURS = env.int("NOTIFICATION_DIGEST_HOURS", default=36)
# The text encoder behind semantic matching (kb/vectors/encoders.py): "e5" (multilingual-e5-small,
# bundled), "use" (multilingual USE v3, bundled) or "none" (no vectors). MATCHING_ENCODER_MODEL may
# name another model file for the e5 engine (a larger model). One thread per process by default.
MATCHING_ENCODER = env("MATCHING_ENCODER", default="use")
MATCHING_ENCODER_MODEL = env("MATCHING_ENCODER_MODEL", default="")
MATCHING_ENCODER_THREADS = env.int("MATCHING_ENCODER_THREADS", default=1)
MATCHING_DEFAULTS = {
    "weight_text": 0.30,
    "weight_semantic": 0.30,
    "weight_articles": 0.15,
    "weight_ta_type": 0.10,
    "weight_thematic": 0.15,
    "weight_language": 0.10,
    "weight_south_south": 0.05,
    "weight_proximity": 0.05,
    "weight_capacity": 0.05,
    "weight_feedback": 0.05,
    # How much context (language, South-South, region, capacity, feedback) can move a topical match.
    "context_share": 0.35,
    "south_south_prefer_bonus": 0.15,
    "candidates_per_need": 30,
    "stored_per_need": 10,
    # Below this a pair is listed but never proposed.
    "min_score": 0.45,
    # Centred cosines of the encoder: this much scores 0 (unrelated), this much 1 (clearly related).
    "semantic_floor": 0.0,
    "semantic_ceiling": 0.3,
}
# The weights, cut-off and calibration fitted for the configured encoder by `manage.py fit_matching`
# (matching/fitted/<encoder>.json, committed with the numbers of the fit) replace the values above.
_MATCHING_FITTED = BASE_DIR / "matching" / "fitted" / f"{MATCHING_ENCODER}.json"
if _MATCHING_FITTED.exists():
    MATCHING_DEFAULTS.update(json.loads(_MATCHING_FITTED.read_text())["defaults"])

# --- REST API --------------------------------------------------------------------------------
API_PAGE_SIZE = 25
API_MAX_PAGE_SIZE = 100
REST_FRAMEWORK = {
    # Token first: an unauthenticated request then gets 401 with a WWW-Authenticate header.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "knox.auth.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "core.api.pagination.StandardPagination",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PARSER_CLASSES": [
        "kb.apis.parsers.BoundedJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_SCHEMA_CLASS": "core.api.schema.AutoSchema",
    "EXCEPTION_HANDLER": "drf_standardized_errors.handler.exception_handler",
    "DEFAULT_THROTTLE_CLASSES": ["core.api.throttling.WriteRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"writes": env("API_WRITE_THROTTLE_RATE", default="120/min")},
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
DRF_STANDARDIZED_ERRORS = {
    "EXCEPTION_HANDLER_CLASS": "core.api.errors.DomainExceptionHandler",
    # 409 and 503 are documented on the endpoints that can answer them (core.api.errors).
}
SPECTACULAR_SETTINGS = {
    "TITLE": "TA Exchange API",
    "DESCRIPTION": (
        "Knowledge base of anti-corruption technical assistance under UNCAC: expertise offers, "
        "assistance needs, moderation, search and matching. Every error has the shape "
        '`{"type": ..., "errors": [{"code", "detail", "attr"}]}`.'
    ),
    "VERSION": "1.0.0",
    # Swagger UI's files come from the app (drf-spectacular-sidecar), never from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "EntryStatusEnum": "kb.models.EntryStatus",
        "MatchRunStatusEnum": "matching.models.RunStatus",
        "OutcomeResultEnum": "matching.models.OutcomeResult",
        "EntryTypeEnum": [("offers", "offers"), ("needs", "needs")],
        "ValidationErrorEnum": "drf_standardized_errors.openapi_serializers.ValidationErrorEnum.choices",
        "ClientErrorEnum": "drf_standardized_errors.openapi_serializers.ClientErrorEnum.choices",
        "ServerErrorEnum": "drf_standardized_errors.openapi_serializers.ServerErrorEnum.choices",
        "ErrorCode401Enum": "drf_standardized_errors.openapi_serializers.ErrorCode401Enum.choices",
        "ErrorCode403Enum": "drf_standardized_errors.openapi_serializers.ErrorCode403Enum.choices",
        "ErrorCode404Enum": "drf_standardized_errors.openapi_serializers.ErrorCode404Enum.choices",
        "ErrorCode405Enum": "drf_standardized_errors.openapi_serializers.ErrorCode405Enum.choices",
        "ErrorCode406Enum": "drf_standardized_errors.openapi_serializers.ErrorCode406Enum.choices",
        "ErrorCode415Enum": "drf_standardized_errors.openapi_serializers.ErrorCode415Enum.choices",
        "ErrorCode429Enum": "drf_standardized_errors.openapi_serializers.ErrorCode429Enum.choices",
        "ErrorCode500Enum": "drf_standardized_errors.openapi_serializers.ErrorCode500Enum.choices",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_standardized_errors.openapi_hooks.postprocess_schema_enums",
        "core.api.schema.postprocess_validation_errors",
    ],
}

# --- Email -----------------------------------------------------------------------------------
EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="TA Exchange <no-reply@ta-exchange.invalid>")

# --- Logging ---------------------------------------------------------------------------------
# One console handler (core.logging): LOG_FORMAT "plain" lines here, in development, embedded and
# tests; production defaults to "json" (one object per line). Repeated WARNING+ messages are
# rate-limited to one per LOG_RATELIMIT_SECONDS per message, the next one counting those dropped;
# 503 responses log at WARNING; a failed task attempt that will be retried is one WARNING line.
LOG_FORMAT = env("LOG_FORMAT", default="plain")
LOG_LEVEL = env("LOG_LEVEL", default="INFO")
LOG_RATELIMIT_SECONDS = env.float("LOG_RATELIMIT_SECONDS", default=30.0)
LOGGING = logging_config(fmt=LOG_FORMAT, level=LOG_LEVEL, ratelimit_seconds=LOG_RATELIMIT_SECONDS)
