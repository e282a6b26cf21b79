"""
Settings for realtime_site, read from the environment (django-environ).

Every variable is listed in docs/configuration.md. The defaults give a working development
server on SQLite and Channels' in-memory layer; production sets DJANGO_SECRET_KEY,
DJANGO_ALLOWED_HOSTS, DATABASE_URL and REDIS_URL. HTTPS-only settings switch on with
DJANGO_HTTPS=1, never merely because DEBUG is off, so the project also runs on plain
http behind a TLS-terminating proxy and in local tests.
"""

import logging
import os
import warnings
from datetime import timedelta
from pathlib import Path

import environ
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from broadcasting import conf as realtime_conf
from broadcasting.runtime.redis_target import RedisTarget

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()

# --- Core -----------------------------------------------------------------------------

DEBUG = env.bool("DJANGO_DEBUG", default=False)

SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("DJANGO_SECRET_KEY is not set. Set it, or set DJANGO_DEBUG=1 for local development.")
    SECRET_KEY = "django-insecure-development-only-key-do-not-use-in-production"

ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    # daphne first: its runserver serves HTTP and WebSocket from one process.
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "axes",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "channels",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "corsheaders",
    "csp",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_prometheus",
    "broadcasting",
    "users",
    "posts",
]

MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "realtime_site.request_log.RequestLogMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "broadcasting.publish.middleware.ClientIdMiddleware",
    "realtime_site.busy.DatabaseBusyMiddleware",
    # Last, as django-axes asks: turns a locked-out login into its 429 response.
    "axes.middleware.AxesMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

ROOT_URLCONF = "realtime_site.urls"
WSGI_APPLICATION = "realtime_site.wsgi.application"
ASGI_APPLICATION = "realtime_site.asgi.application"

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

# --- Database -------------------------------------------------------------------------

DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
SQLITE = DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3"
if SQLITE:
    # IMMEDIATE transactions take SQLite's write lock at BEGIN, so two writers queue
    # instead of failing with "database is locked" when both try to upgrade a read lock.
    DATABASES["default"].setdefault("OPTIONS", {}).update({"transaction_mode": "IMMEDIATE", "timeout": 20})
# The longest a statement waits for a row or table lock before it fails: a write then
# answers 503 with Retry-After (busy.py) instead of holding a request thread without end.
DATABASE_LOCK_TIMEOUT_SECS = env.float("DATABASE_LOCK_TIMEOUT_SECS", default=3.0)
if DATABASES["default"]["ENGINE"].startswith("django.db.backends.postgresql"):
    options = DATABASES["default"].setdefault("OPTIONS", {})
    lock_timeout = f"-c lock_timeout={int(DATABASE_LOCK_TIMEOUT_SECS * 1000)}"
    options["options"] = f"{options.get('options', '')} {lock_timeout}".strip()
# Requests run in a pool of REQUEST_THREADS threads (realtime_site/http_handler.py),
# so a connection is kept by its thread for CONN_MAX_AGE seconds and reused by the
# requests that thread answers: at most REQUEST_THREADS of them per server process.
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DATABASE_CONN_MAX_AGE", default=60))
DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)
# SQLite lets one writer in at a time, and writers in other threads wait for it by
# sleeping and retrying, the unlucky ones again and again: at 4 concurrent writers a
# write's p99 was 1.1 s in 6 threads and 0.1 s in one, at the same writes/s
# (bench/RESULTS.md). So one thread on SQLite; Python's default for I/O pools else.
REQUEST_THREADS = env.int("DJANGO_REQUEST_THREADS", default=1 if SQLITE else min(32, (os.cpu_count() or 1) + 4))

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "users.User"

# django-axes first: it refuses logins from a locked-out (user, address) pair before
# the password is even checked, on the admin, the API's login form and /api/auth/token/.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.float("LOGIN_LOCKOUT_MINUTES", default=15))
# Lock the (account, address) pair: one address cannot guess at an account, and nobody
# can lock a user out from everywhere by failing on purpose.
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# Login forms and the token endpoint all name the email field "username".
AXES_USERNAME_FORM_FIELD = "username"
# The same client address as DRF's throttles and the socket limits (NUM_PROXIES).
AXES_CLIENT_IP_CALLABLE = "broadcasting.runtime.client_address.for_request"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- Channels -------------------------------------------------------------------------

# One Redis URL, or a master behind Sentinel (REDIS_SENTINELS, REDIS_SENTINEL_MASTER):
# every Redis client is built from this (broadcasting/runtime/redis_target.py).
REDIS = RedisTarget.from_env(env)
REDIS_URL = REDIS.address
REDIS_KEY_PREFIX = env.str("REDIS_KEY_PREFIX", default="realtime")
REDIS_CHANNEL_LAYER_BACKEND = "channels_redis.pubsub.RedisPubSubChannelLayer"

if REDIS_URL:
    # Redis pub/sub: a group send is one PUBLISH and a process's subscriptions are pushed
    # to it, where channels-redis's default layer takes four round trips to send and a
    # blocking pop per message to receive (bench/RESULTS.md, "The channel layer: Redis
    # pub/sub"). Pub/sub keeps nothing for a process that is not listening; the history
    # does (delivery/fanout.py's check).
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": REDIS_CHANNEL_LAYER_BACKEND,
            "CONFIG": {
                "hosts": [
                    REDIS.layer_host(
                        # How long a command may wait on a Redis that stopped answering
                        # (redis-py >= 8 defaults to 5 s). Sends are bounded by
                        # REALTIME_PUBLISH_TIMEOUT_SECS anyway; subscriptions poll.
                        socket_timeout=env.float("REDIS_SOCKET_TIMEOUT_SECS", default=30.0),
                        socket_connect_timeout=5,
                    )
                ],
                # Pub/sub channels are one namespace per Redis server, whatever the
                # database number; with the number in the prefix, deployments sharing a
                # server on other databases stay apart, as their keys do.
                "prefix": f"{REDIS_KEY_PREFIX}:db{REDIS.database_number}:layer",
            },
        }
    }
else:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels.layers.InMemoryChannelLayer",
            "CONFIG": {"capacity": env.int("CHANNEL_LAYER_CAPACITY", default=1000)},
        }
    }

# Live events: one block, every default and its meaning in broadcasting/conf.py; each
# setting NAME comes from the REALTIME_NAME variable. Read through realtime_setting().
REALTIME = realtime_conf.from_environment(env)
# runserver's daphne drops a connection whose client sends a frame over this before the
# application sees it. Its limit also bounds the frames it sends, so it is the larger of
# the two limits; the consumer refuses client frames between them itself.
DAPHNE_WEBSOCKET_MAX_MESSAGE_SIZE = DAPHNE_WEBSOCKET_MAX_FRAME_SIZE = max(
    REALTIME["MAX_CLIENT_FRAME_BYTES"], REALTIME["MAX_FRAME_BYTES"]
)

# The cache every process shares: DRF throttles and socket connect rates count here.
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": f"{REDIS_KEY_PREFIX}:cache",
            # Counting must be quick or skipped (broadcasting/runtime/circuit.py), never slow.
            "OPTIONS": REDIS.cache_options(socket_connect_timeout=0.5, socket_timeout=0.5),
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- REST -----------------------------------------------------------------------------

REST_FRAMEWORK = {
    "DEFAULT_PARSER_CLASSES": [
        "realtime_site.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "broadcasting.authentication.TokenAuthentication",  # DRF's, its lookup one raw join
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticatedOrReadOnly"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": env.int("API_PAGE_SIZE", default=50),
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "realtime_site.search.BoundedSearchFilter",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_THROTTLE_CLASSES": [
        "realtime_site.throttling.AnonRateThrottle",
        "realtime_site.throttling.UserRateThrottle",
    ],
    # Reverse proxies in front of the server: the client address is the N-th entry from
    # the right of X-Forwarded-For (0: the peer address, the header is ignored).
    "NUM_PROXIES": env.int("NUM_PROXIES", default=0),
    "DEFAULT_THROTTLE_RATES": {
        "anon": env.str("API_THROTTLE_ANON", default="600/minute"),
        "user": env.str("API_THROTTLE_USER", default="3000/minute"),
    },
}

SPECTACULAR_SETTINGS = {
    "TITLE": "realtime_site API",
    "DESCRIPTION": (
        "CRUD on users and posts; every committed change is pushed over /ws/<channel>. "
        "The sockets' own document: [AsyncAPI 3](/api/schema/asyncapi/) "
        "([YAML](/api/schema/asyncapi/?format=yaml)), whose events carry this document's response components."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # JSON Schema throughout (3.1), and response components apart from request ones, so
    # the AsyncAPI document's events take the very components REST responses use.
    "OAS_VERSION": "3.1.0",
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "broadcasting.contract.openapi.mark_audience_fields",
        "broadcasting.contract.openapi.document_error_responses",
    ],
}

CORS_ALLOWED_ORIGINS = env.list("DJANGO_CORS_ALLOWED_ORIGINS", default=[])
CORS_ALLOW_CREDENTIALS = True
CORS_ALLOW_HEADERS = (
    "accept",
    "authorization",
    "content-type",
    "x-client-id",
    "x-csrftoken",
    "x-requested-with",
)
CORS_EXPOSE_HEADERS = ["X-Channel-Seq", "X-Channel-Epoch", "X-Auth-Token"]

# --- Static files ---------------------------------------------------------------------

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = env.path("DJANGO_STATIC_ROOT", default=BASE_DIR / "staticfiles")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Whitenoise serves static files with DEBUG off too; the manifest storage needs
    # collectstatic, so it is used only where that step runs (production images).
    "staticfiles": {
        "BACKEND": env.str(
            "DJANGO_STATICFILES_STORAGE",
            default="whitenoise.storage.CompressedStaticFilesStorage",
        )
    },
}
# Without collectstatic (runserver, tests), serve straight from the apps' static dirs.
WHITENOISE_USE_FINDERS = env.bool("WHITENOISE_USE_FINDERS", default=True)
WHITENOISE_AUTOREFRESH = DEBUG

# --- Internationalisation -------------------------------------------------------------

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Security -------------------------------------------------------------------------

HTTPS = env.bool("DJANGO_HTTPS", default=False)
SECURE_SSL_REDIRECT = HTTPS
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_HSTS_SECONDS = env.int("DJANGO_HSTS_SECONDS", default=31536000) if HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_HSTS_PRELOAD = HTTPS
if env.bool("DJANGO_BEHIND_PROXY", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    USE_X_FORWARDED_HOST = True
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

# Content-Security-Policy (django-csp): scripts, styles and sockets from this origin
# only, no inline script, no framing. The API docs pages are the one exception
# (realtime_site/urls.py): drf-spectacular's templates start Swagger UI and ReDoc
# with an inline script.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

# /metrics (django-prometheus): with METRICS_TOKEN set, served to
# "Authorization: Bearer <METRICS_TOKEN>" only; without one, served only with DEBUG on.
# METRICS_ENABLED=0 removes it (the counters are still kept).
METRICS_ENABLED = env.bool("METRICS_ENABLED", default=True)
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")

LOGIN_URL = "/admin/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/"

# --- Logging --------------------------------------------------------------------------

# LOG_FORMAT=json: one JSON object per line (python-json-logger), with the structured
# fields of request and socket lines (method, path, status, channel, close_code, …).
LOG_FORMAT = env.str("LOG_FORMAT", default="plain")
# Python's warnings become log records, in the same format as every other line.
logging.captureWarnings(True)
# Without collectstatic there is no STATIC_ROOT, and whitenoise serves from the finders
# (WHITENOISE_USE_FINDERS): its warning about the missing directory is not news.
warnings.filterwarnings("ignore", message="No directory at", category=UserWarning)
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s %(message)s",
        },
    },
    "filters": {
        "refusal_into_request_line": {"()": "realtime_site.request_log.RefusalIntoRequestLine"},
        "outage_without_traceback": {"()": "realtime_site.log_filters.OutageWithoutTraceback"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json" if LOG_FORMAT == "json" else "plain",
            # A bad Host header (and Django's other suspicious requests): one request line, no traceback.
            # A failed readiness check or a lost Redis connection (an outage): one line each.
            "filters": ["refusal_into_request_line", "outage_without_traceback"],
        }
    },
    "root": {"handlers": ["console"], "level": env.str("DJANGO_LOG_LEVEL", default="INFO")},
    "loggers": {
        # Django's own console handler (DEBUG only) would print each of its records a
        # second time beside the root handler's; the root handler alone prints them.
        "django": {"handlers": [], "level": "INFO", "propagate": True},
        "django.channels.server": {"level": "WARNING"},
        # Lockouts and failed logins are warnings; its start-up banner is not news.
        "axes": {"level": "WARNING"},
    },
}
