"""Pokaznyk settings: every value comes from the environment, read here only.

A bad value stops the process with ImproperlyConfigured naming the variable, so a
typo in deployment fails at start-up instead of in the middle of a submission.
"""

import datetime as dt
import ipaddress
import os
import re
from decimal import Decimal, InvalidOperation
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default).strip()


def env_bool(name: str, default: bool) -> bool:
    raw = env_str(name).lower()
    if not raw:
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise ImproperlyConfigured(f"{name}={raw!r}: use one of 1/0, true/false, yes/no, on/off.")


def env_int(name: str, default: int, *, low: int, high: int) -> int:
    raw = env_str(name)
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r}: expected a whole number.") from None
    if not low <= value <= high:
        raise ImproperlyConfigured(f"{name}={value}: expected a number from {low} to {high}.")
    return value


def env_decimal(name: str, default: str) -> Decimal:
    raw = env_str(name, default)
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise ImproperlyConfigured(f"{name}={raw!r}: expected a decimal number like {default}.") from None
    if not value.is_finite() or value < 0:
        raise ImproperlyConfigured(f"{name}={raw!r}: expected a non-negative decimal number.")
    return value


def env_choice(name: str, default: str, choices: tuple[str, ...]) -> str:
    value = env_str(name, default).lower()
    if value not in choices:
        raise ImproperlyConfigured(f"{name}={value!r}: expected one of {', '.join(choices)}.")
    return value


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in env_str(name, default).split(",") if item.strip()]


def env_rate(name: str, default: str) -> str:
    """A throttle rate as Django REST framework reads it: 10/hour, 5/min, 1/s."""
    value = env_str(name, default)
    if not re.fullmatch(r"[1-9][0-9]*/(s|sec|second|m|min|minute|h|hour|d|day)", value):
        raise ImproperlyConfigured(f"{name}={value!r}: expected a rate like {default} (per s, min, hour or day).")
    return value


def env_proxies(name: str) -> int | tuple:
    """TRUSTED_PROXIES: a count of proxies in front of the portal, or a list of their addresses or networks."""
    raw = env_str(name)
    if not raw:
        return 0
    if raw.isdigit():
        return env_int(name, 0, low=0, high=10)
    try:
        return tuple(ipaddress.ip_network(item.strip(), strict=False) for item in raw.split(",") if item.strip())
    except ValueError as exc:
        raise ImproperlyConfigured(
            f"{name}={raw!r}: expected a count of proxies (1) or their addresses (10.0.0.5,10.1.0.0/16): {exc}"
        ) from None


def env_range(name: str, default: str, *, low: int, high: int) -> tuple[int, int]:
    raw = env_str(name, default)
    first, sep, last = raw.partition("-")
    try:
        bounds = (int(first), int(last if sep else first))
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r}: expected a range like {default}.") from None
    if not low <= bounds[0] <= bounds[1] <= high:
        raise ImproperlyConfigured(f"{name}={raw!r}: expected MIN-MAX within {low}-{high}.")
    return bounds


# --- Core -------------------------------------------------------------------

DEBUG = env_bool("DJANGO_DEBUG", False)
SECRET_KEY = env_str("DJANGO_SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY is not set: set it (50+ random characters) or set DJANGO_DEBUG=1 for development."
        )
    SECRET_KEY = "django-insecure-development-only-key-never-use-in-production-0123456789"  # noqa: S105 - DEBUG only
elif not DEBUG and (len(SECRET_KEY) < 50 or len(set(SECRET_KEY)) < 5 or SECRET_KEY.startswith("django-insecure-")):
    # What check --deploy calls weak: anyone who guesses it can sign sessions and sign-in links.
    raise ImproperlyConfigured(
        "DJANGO_SECRET_KEY is too weak: use 50 or more random characters, e.g. "
        "python -c 'import secrets; print(secrets.token_urlsafe(50))'."
    )
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost" if DEBUG else "")
if not DEBUG and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("DJANGO_ALLOWED_HOSTS is empty: list the portal's host names, comma-separated.")

INSTALLED_APPS = [
    "portal.apps.AdminConfig",  # django.contrib.admin, its modules read by the URLconf and its checks
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "knox",
    "axes",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "csp",
    "simple_history",
    "accounts",
    "readings",
    "botbridge",
]

# The "Lean" ones are Django's (or django-csp's) own, left out on the API's and the webhooks'
# paths where they have nothing to do (portal/lean.py). CSRF and X-Frame-Options stay by their
# own names everywhere: `check --deploy` looks for exactly those, and on a csrf_exempt view
# they cost next to nothing.
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "portal.lean.LeanCSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "portal.lean.LeanSessionMiddleware",
    "portal.language.ChosenLanguageMiddleware",
    # Refuses a NUL in the address (400) and a body over its path's limit (413) before anything reads them.
    "portal.guards.RequestGuardMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "portal.lean.LeanAuthenticationMiddleware",
    "portal.lean.LeanMessageMiddleware",
    # The audit trail records who made a change in a request (admin, the cabinet, the API).
    "simple_history.middleware.HistoryRequestMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: turns a locked-out sign-in into a 429 (accounts/login_attempts.py).
    "accounts.login_attempts.LockoutMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"
ASGI_APPLICATION = "portal.asgi.application"
AUTH_USER_MODEL = "accounts.User"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

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
                "portal.context_processors.company",
            ],
        },
    },
]

# --- Database and Redis -------------------------------------------------------

# Embedded default: an SQLite file beside manage.py, so `make run` needs nothing.
DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}")
try:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60, conn_health_checks=True)}
except ValueError as exc:
    raise ImproperlyConfigured(f"DATABASE_URL is not a usable database URL: {exc}") from None
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # A pool, not persistent connections: under ASGI each request runs in a thread of
    # its own, and a connection kept per thread piles up to PostgreSQL's max_connections.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    # With a pool, Django turns this into the pool's check of every connection as it leaves the
    # pool: after a PostgreSQL restart the stale ones are replaced instead of failing the next
    # requests one by one.
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    DATABASES["default"]["OPTIONS"] = {
        # A database that does not answer fails a request in seconds (a 503), not after a long hang.
        "connect_timeout": env_int("DATABASE_CONNECT_TIMEOUT", 2, low=1, high=60),
        "pool": {
            "min_size": 1,
            "max_size": env_int("DATABASE_POOL_SIZE", 10, low=1, high=500),
            "timeout": env_int("DATABASE_POOL_TIMEOUT", 3, low=1, high=60),
            "max_lifetime": 3600,
        },
    }
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    # Wait for a concurrent writer instead of failing at once with "database is locked".
    DATABASES["default"]["OPTIONS"] = {"timeout": 20, "transaction_mode": "IMMEDIATE"}

REDIS_URL = env_str("REDIS_URL")
if REDIS_URL and not REDIS_URL.startswith(("redis://", "rediss://", "unix://")):
    raise ImproperlyConfigured(f"REDIS_URL={REDIS_URL!r}: expected redis://host:port/db.")

if REDIS_URL:
    # Redis is optional at run time: the cache holds only throttle counters and the sender's lock,
    # nothing a reading needs. With Redis down, "default" answers as an empty cache (throttles let
    # requests through, logged) instead of failing the request; "locks" fails loudly, because a
    # lock that silently is not there would let two broadcast senders run.
    _redis_options = {"SOCKET_CONNECT_TIMEOUT": 0.5, "SOCKET_TIMEOUT": 0.5}
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {**_redis_options, "IGNORE_EXCEPTIONS": True},
        },
        "locks": {"BACKEND": "django_redis.cache.RedisCache", "LOCATION": REDIS_URL, "OPTIONS": _redis_options},
    }
    DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = True
else:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
        "locks": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "locks"},
    }

# Celery: with Redis a real broker; embedded mode runs tasks in-process, so nothing needs Redis.
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
# A task whose worker died (kill -9, out of memory) goes back to the queue instead of being
# dropped; each task is written to be safe to run again.
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = "Europe/Kyiv"
# A web request that queues a task must not hang on a broker that is down: it tries briefly, and
# what the task would do is already in the database (the outbox), for the schedule to pick up.
CELERY_BROKER_CONNECTION_TIMEOUT = 1
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.2}
CELERY_BROKER_TRANSPORT_OPTIONS = {"socket_connect_timeout": 1, "socket_timeout": 5}

# --- Passwords, language, time ----------------------------------------------

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    # Not a rule: Django's hook on every new password, which revokes the user's API tokens.
    {"NAME": "accounts.passwords.PasswordChangedHook"},
]

LANGUAGE_CODE = "uk"
LANGUAGES = [("uk", _("Ukrainian")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
LANGUAGE_COOKIE_AGE = 365 * 86400  # the language switch is remembered for a year
LANGUAGE_COOKIE_SECURE = not DEBUG
LANGUAGE_COOKIE_SAMESITE = "Lax"
USE_I18N = True
TIME_ZONE = "Europe/Kyiv"
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
# Meter photos (readings.ReadingPhoto): in MEDIA_ROOT by default, never served from it (MEDIA_URL
# is not routed; a view checks who asks and streams the file). PHOTOS_S3_BUCKET set: an
# S3-compatible bucket through django-storages instead, private, with its own credentials.
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(BASE_DIR / "media")))
PHOTOS_S3_BUCKET = env_str("PHOTOS_S3_BUCKET")
if PHOTOS_S3_BUCKET:
    _photos_storage = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": PHOTOS_S3_BUCKET,
            "endpoint_url": env_str("PHOTOS_S3_ENDPOINT_URL") or None,  # unset: AWS itself
            "region_name": env_str("PHOTOS_S3_REGION") or None,
            "access_key": env_str("PHOTOS_S3_ACCESS_KEY_ID") or None,
            "secret_key": env_str("PHOTOS_S3_SECRET_ACCESS_KEY") or None,
            "location": env_str("PHOTOS_S3_PREFIX", "photos"),
            "default_acl": "private",
            "querystring_auth": True,
            "file_overwrite": False,
        },
    }
else:
    _photos_storage = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": MEDIA_ROOT / "photos"},
    }
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "photos": _photos_storage,
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# --- The resident cabinet -----------------------------------------------------

# Where residents reach the portal: the bot's one-time sign-in links and every email point here.
PORTAL_URL = env_str("PORTAL_URL", "http://127.0.0.1:8000" if DEBUG else "").rstrip("/")
if PORTAL_URL and not PORTAL_URL.startswith(("https://", "http://")):
    raise ImproperlyConfigured(f"PORTAL_URL={PORTAL_URL!r}: expected an address like https://pokaznyk.example.ua.")
LOGIN_URL = "signin"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "signin"
# A one-time sign-in link sent by the bot is good for this long.
SIGNIN_LINK_MAX_AGE_SECONDS = env_int("SIGNIN_LINK_MAX_AGE_SECONDS", 600, low=60, high=3600)

# Emails (password resets, address confirmations, window reminders, review decisions): SMTP
# when EMAIL_HOST is set, otherwise printed to the console.
EMAIL_HOST = env_str("EMAIL_HOST")
EMAIL_BACKEND = (
    "django.core.mail.backends.smtp.EmailBackend" if EMAIL_HOST else "django.core.mail.backends.console.EmailBackend"
)
EMAIL_PORT = env_int("EMAIL_PORT", 587, low=1, high=65535)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
# Seconds an SMTP connection or answer may take: without a limit a silent server would hold the
# reminders' sender (and a sign-up page) for ever.
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10, low=1, high=300)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Pokaznyk <noreply@localhost>")
# Email as a channel of reminders and notices: on with an SMTP server, and in development, where
# the console shows what would be sent; off in production without EMAIL_HOST (nothing can be sent).
EMAIL_CHANNEL = "smtp" if EMAIL_HOST else ("console" if DEBUG else "")
if EMAIL_HOST and not PORTAL_URL:
    raise ImproperlyConfigured(
        "EMAIL_HOST is set: set PORTAL_URL too (the cabinet's address, like https://pokaznyk.example.ua): "
        "the emails link to the cabinet."
    )
# Reminder and notice emails a second, over all recipients (an SMTP relay's limit, often 10-14).
EMAIL_RATE = env_int("EMAIL_RATE", 10, low=1, high=1000)
# How long the link that confirms an email address works.
EMAIL_CONFIRM_MAX_AGE_DAYS = env_int("EMAIL_CONFIRM_MAX_AGE_DAYS", 3, low=1, high=30)

# --- Security (manage.py check --deploy is clean with DEBUG off) -------------

SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", not DEBUG)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = 0 if DEBUG else env_int("DJANGO_HSTS_SECONDS", 31536000, low=0, high=63072000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_REFERRER_POLICY = "same-origin"
# Content-Security-Policy (django-csp): scripts only from the portal itself (and Telegram's Login
# Widget when it is on), so injected markup could run nothing. Inline style attributes stay
# allowed: the admin dashboard's bars are drawn with them, and a style cannot run code.
_telegram_widget = ["https://telegram.org"] if env_str("TELEGRAM_BOT_USERNAME") else []
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'", *_telegram_widget],
        "frame-src": ["https://oauth.telegram.org"] if _telegram_widget else ["'none'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}
# The proxies whose X-Forwarded-For the portal believes (portal/clientip.py): unset, the header is ignored.
TRUSTED_PROXIES = env_proxies("TRUSTED_PROXIES")
X_FRAME_OPTIONS = "DENY"

LOG_LEVEL = env_choice("LOG_LEVEL", "info", ("debug", "info", "warning", "error")).upper()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    # httpx logs every request's URL at info, and a Graph API URL holds the Page access token: warnings only.
    "loggers": {"httpx": {"level": "WARNING"}},
}

# --- The domain ---------------------------------------------------------------

# Length of a personal account number; companies use 6 to 12 digits.
ACCOUNT_NUMBER_LENGTH = env_range("ACCOUNT_NUMBER_LENGTH", "6-12", low=1, high=20)

# Failed linking attempts a user may make per period before linking is refused for a while.
LINK_ATTEMPTS_MAX = env_int("LINK_ATTEMPTS_MAX", 5, low=1, high=1000)
LINK_ATTEMPTS_PERIOD_SECONDS = env_int("LINK_ATTEMPTS_PERIOD_SECONDS", 3600, low=60, high=7 * 86400)
# Failed attempts per period from one client address (an IPv6 address's /64), whatever the user,
# signed in or not: sign-ups are free, so without it each new user would bring new guesses.
LINK_ATTEMPTS_PER_ADDRESS = env_int("LINK_ATTEMPTS_PER_ADDRESS", 20, low=1, high=100000)
# Failed attempts per period on one account number, from anyone: guessing one account's meter
# serial from many addresses stops here. Counted for numbers that do not exist as well.
LINK_ATTEMPTS_PER_ACCOUNT = env_int("LINK_ATTEMPTS_PER_ACCOUNT", 10, low=1, high=100000)

# The submission window (docs/domain.md): last BEFORE days of a month + first AFTER of the next.
READINGS_WINDOW_DAYS = env_choice("READINGS_WINDOW_DAYS", "working", ("working", "calendar"))
READINGS_WINDOW_BEFORE = env_int("READINGS_WINDOW_BEFORE", 2, low=0, high=10)
READINGS_WINDOW_AFTER = env_int("READINGS_WINDOW_AFTER", 3, low=0, high=10)
if READINGS_WINDOW_BEFORE + READINGS_WINDOW_AFTER == 0:
    raise ImproperlyConfigured(
        "READINGS_WINDOW_BEFORE and READINGS_WINDOW_AFTER are both 0: the window would be empty."
    )

# An unusual jump: monthly consumption above FACTOR x the meter's usual monthly use
# (and above FLOOR kWh); with no history, above NO_HISTORY kWh a month.
READINGS_JUMP_FACTOR = env_decimal("READINGS_JUMP_FACTOR", "3")
READINGS_JUMP_FLOOR_KWH = env_int("READINGS_JUMP_FLOOR_KWH", 300, low=0, high=10**6)
READINGS_JUMP_NO_HISTORY_KWH = env_int("READINGS_JUMP_NO_HISTORY_KWH", 3000, low=1, high=10**7)

# Household tariff for cost estimates (docs/domain.md), UAH per kWh and zone multipliers.
TARIFF_UAH_PER_KWH = env_decimal("TARIFF_UAH_PER_KWH", "4.32")
TARIFF_ZONE_FACTORS = {
    1: (Decimal(1),),
    2: (env_decimal("TARIFF_2ZONE_DAY", "1"), env_decimal("TARIFF_2ZONE_NIGHT", "0.5")),
    3: (
        env_decimal("TARIFF_3ZONE_PEAK", "1.5"),
        env_decimal("TARIFF_3ZONE_HALF_PEAK", "1"),
        env_decimal("TARIFF_3ZONE_NIGHT", "0.4"),
    ),
}

# --- Passwords and API tokens (brute force, expiry) ---------------------------

AUTHENTICATION_BACKENDS = [
    # First: refuses a locked-out sign-in before any password is hashed, so a flood stays cheap.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Failed password entries (cabinet, admin, API token) counted per account name and, apart, per
# client address; at LOGIN_ATTEMPTS_MAX either one is refused for LOGIN_LOCKOUT_MINUTES.
LOGIN_ATTEMPTS_MAX = env_int("LOGIN_ATTEMPTS_MAX", 10, low=3, high=1000)
LOGIN_LOCKOUT_MINUTES = env_int("LOGIN_LOCKOUT_MINUTES", 15, low=1, high=24 * 60)
AXES_FAILURE_LIMIT = LOGIN_ATTEMPTS_MAX
AXES_COOLOFF_TIME = dt.timedelta(minutes=LOGIN_LOCKOUT_MINUTES)
AXES_LOCKOUT_PARAMETERS = ["ip_address", "username"]
# Rows in the database: the limit holds with Redis down, and every process sees the same count.
AXES_HANDLER = "accounts.login_attempts.LoginAttemptsHandler"
AXES_CLIENT_IP_CALLABLE = "portal.clientip.client_ip"
AXES_LOCKOUT_CALLABLE = "accounts.login_attempts.lockout_response"
# A success forgets the account's failures (LoginAttemptsHandler: not the address's, see there).
AXES_RESET_ON_SUCCESS = True
# Tries during a lock-out are refused without being counted: the lock ends LOGIN_LOCKOUT_MINUTES
# after it began, however long a flood goes on, and a refused try costs no write.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
# Axes would keep every successful sign-in (address, browser) forever; nothing here needs that.
AXES_DISABLE_ACCESS_LOG = True
# The middleware is our subclass of axes' own (accounts/login_attempts.py), which its check misses.
SILENCED_SYSTEM_CHECKS = ["axes.W002"]

# API tokens (django-rest-knox): hashed in the database, several per user, each expiring.
API_TOKEN_TTL_DAYS = env_int("API_TOKEN_TTL_DAYS", 90, low=1, high=3650)
# Issuing one more than this revokes the user's oldest: a script that asks for a token on
# every run cannot pile up live tokens.
API_TOKENS_PER_USER = env_int("API_TOKENS_PER_USER", 10, low=1, high=1000)
REST_KNOX = {
    "TOKEN_TTL": dt.timedelta(days=API_TOKEN_TTL_DAYS),
    "AUTH_HEADER_PREFIX": "Token",  # the header clients send already: Authorization: Token <key>
    "AUTO_REFRESH": False,
}

# Sign-up attempts per client address (the cache; a cache that fails lets sign-up through).
SIGNUP_RATE = env_rate("SIGNUP_RATE", "10/hour")

# --- REST API -----------------------------------------------------------------

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Knox's, in one query (accounts/tokens.py).
        "accounts.tokens.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": ["readings.api.parsers.BoundedJSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "readings.api.errors.exception_handler",
    # ?format= is the export's own parameter (csv, xlsx), not DRF's renderer switch.
    "URL_FORMAT_OVERRIDE": None,
    "DEFAULT_THROTTLE_RATES": {
        # Linking attempts per user, so account numbers cannot be enumerated.
        "link": env_rate("API_THROTTLE_LINK", "10/hour"),
        "submit": env_rate("API_THROTTLE_SUBMIT", "120/hour"),
        # Token requests per IP address; the sign-in attempt limit above is the guard against guessing.
        "token": env_rate("API_THROTTLE_TOKEN", "20/min"),
    },
}
# A reading or a link is a few dozen bytes; a bigger body is refused before parsing.
API_MAX_BODY_BYTES = env_int("API_MAX_BODY_BYTES", 16384, low=1024, high=10 * 1024 * 1024)
# Bodies elsewhere (portal/guards.py): admin takes the master-data CSV (up to 50 MB,
# accounts.uploads.UPLOAD_MAX_BYTES) with the form around it; every other page and the
# Telegram webhook take Django's DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MB), far above any form or update.
ADMIN_MAX_BODY_BYTES = 51 * 1024 * 1024
# A meter photo's upload: the photo (readings.photos.MAX_BYTES, 10 MB) with the form around it;
# a photo a little over 10 MB reaches the form, which says why it is refused.
PHOTO_MAX_BODY_BYTES = 11 * 1024 * 1024
SPECTACULAR_SETTINGS = {
    "TITLE": "Pokaznyk API",
    "DESCRIPTION": "Electricity meter readings for residents, billing and integrators.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI from the portal's own static files: no outside hosts.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        # The account number's pattern, and that a reading is "value" or "values".
        "readings.api.schema.postprocess",
    ],
}

# --- Telegram -----------------------------------------------------------------

# Unset token = the bot is off (the webhook answers 404, runbot refuses to start).
TELEGRAM_BOT_TOKEN = env_str("TELEGRAM_BOT_TOKEN")
if TELEGRAM_BOT_TOKEN and not re.fullmatch(r"\d+:[A-Za-z0-9_-]+", TELEGRAM_BOT_TOKEN):
    raise ImproperlyConfigured("TELEGRAM_BOT_TOKEN does not look like a bot token (123:AA…): copy it from @BotFather.")
# The Bot API server: Telegram's own, a self-hosted one, or a fake one in tests.
TELEGRAM_API_BASE = env_str("TELEGRAM_API_BASE", "https://api.telegram.org").rstrip("/")
if not TELEGRAM_API_BASE.startswith(("https://", "http://")):
    raise ImproperlyConfigured(
        f"TELEGRAM_API_BASE={TELEGRAM_API_BASE!r}: expected an address like https://api.telegram.org."
    )
# Telegram sends it in X-Telegram-Bot-Api-Secret-Token; the webhook refuses updates without it.
TELEGRAM_WEBHOOK_SECRET = env_str("TELEGRAM_WEBHOOK_SECRET")
if TELEGRAM_WEBHOOK_SECRET and not re.fullmatch(r"[A-Za-z0-9_-]{16,256}", TELEGRAM_WEBHOOK_SECRET):
    raise ImproperlyConfigured("TELEGRAM_WEBHOOK_SECRET: use 16 to 256 characters of A-Z, a-z, 0-9, _ and -.")
# A 429 from the Bot API asking to wait longer than this is logged instead of waited out.
TELEGRAM_RETRY_MAX_SECONDS = env_int("TELEGRAM_RETRY_MAX_SECONDS", 5, low=0, high=600)

# Window reminders and announcements: sent from this local hour on the window's first and
# last day, at most this many messages a second over all chats (Telegram allows about 30 for
# free; paid broadcasts up to 1000), and never two a second to one chat.
REMINDERS_HOUR = env_int("REMINDERS_HOUR", 9, low=0, high=23)
TELEGRAM_BROADCAST_RATE = env_int("TELEGRAM_BROADCAST_RATE", 25, low=1, high=1000)

# The bot's @username without the @: turns on the Telegram Login Widget on the sign-in page.
TELEGRAM_BOT_USERNAME = env_str("TELEGRAM_BOT_USERNAME").lstrip("@")
if TELEGRAM_BOT_USERNAME and not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]{3,31}", TELEGRAM_BOT_USERNAME):
    raise ImproperlyConfigured(
        f"TELEGRAM_BOT_USERNAME={TELEGRAM_BOT_USERNAME!r}: expected a bot username like PokaznykBot."
    )
# How old a Telegram Login Widget answer may be; django-telegram-login refuses anything past one day.
TELEGRAM_LOGIN_MAX_AGE_SECONDS = env_int("TELEGRAM_LOGIN_MAX_AGE_SECONDS", 86400, low=60, high=86400)

# --- Viber and Facebook Messenger ----------------------------------------------


def env_api_base(name: str, default: str) -> str:
    base = env_str(name, default).rstrip("/")
    if not base.startswith(("https://", "http://")):
        raise ImproperlyConfigured(f"{name}={base!r}: expected an address like {default}.")
    return base


# Unset token = the Viber bot is off (its webhook answers 404). From the bot's page on
# partners.viber.com; it also signs what Viber posts to the webhook.
VIBER_AUTH_TOKEN = env_str("VIBER_AUTH_TOKEN")
if VIBER_AUTH_TOKEN and not re.fullmatch(r"[A-Za-z0-9-]{16,128}", VIBER_AUTH_TOKEN):
    raise ImproperlyConfigured(
        "VIBER_AUTH_TOKEN does not look like a Viber token (4453b6…-…): copy it from the bot's page."
    )
# The sender name shown on every message (Viber allows at most 28 characters).
VIBER_BOT_NAME = env_str("VIBER_BOT_NAME", "Показник")
if not 1 <= len(VIBER_BOT_NAME) <= 28:
    raise ImproperlyConfigured(f"VIBER_BOT_NAME={VIBER_BOT_NAME!r}: use 1 to 28 characters (Viber's limit).")
VIBER_API_BASE = env_api_base("VIBER_API_BASE", "https://chatapi.viber.com/pa")
VIBER_BROADCAST_RATE = env_int("VIBER_BROADCAST_RATE", 25, low=1, high=1000)

# Unset token = the Messenger bot is off. The Page's access token, the app's secret (signs
# what Facebook posts to the webhook) and the verify token you type into the app's webhook
# settings (Facebook sends it back when it checks the webhook).
MESSENGER_PAGE_ACCESS_TOKEN = env_str("MESSENGER_PAGE_ACCESS_TOKEN")
MESSENGER_APP_SECRET = env_str("MESSENGER_APP_SECRET")
MESSENGER_VERIFY_TOKEN = env_str("MESSENGER_VERIFY_TOKEN")
if MESSENGER_PAGE_ACCESS_TOKEN and not (MESSENGER_APP_SECRET and MESSENGER_VERIFY_TOKEN):
    raise ImproperlyConfigured(
        "MESSENGER_PAGE_ACCESS_TOKEN is set: set MESSENGER_APP_SECRET (the app's secret, Settings → Basic) "
        "and MESSENGER_VERIFY_TOKEN (any string you also type into the app's webhook settings) too."
    )
if MESSENGER_PAGE_ACCESS_TOKEN and not re.fullmatch(r"[A-Za-z0-9]{20,512}", MESSENGER_PAGE_ACCESS_TOKEN):
    raise ImproperlyConfigured("MESSENGER_PAGE_ACCESS_TOKEN does not look like a Page access token (EAA…).")
MESSENGER_API_BASE = env_api_base("MESSENGER_API_BASE", "https://graph.facebook.com/v21.0")
MESSENGER_BROADCAST_RATE = env_int("MESSENGER_BROADCAST_RATE", 25, low=1, high=1000)
# Messenger allows a page to write only within 24 hours of the person's last message, except
# with an approved utility message template: its name; unset = no reminders outside 24 hours.
MESSENGER_REMINDER_TEMPLATE = env_str("MESSENGER_REMINDER_TEMPLATE")

# A message a transport could not send for network trouble is tried this many times in all
# (every channel; TELEGRAM_BROADCAST_ATTEMPTS is its older name, still read).
BROADCAST_ATTEMPTS = env_int(
    "BROADCAST_ATTEMPTS", env_int("TELEGRAM_BROADCAST_ATTEMPTS", 5, low=1, high=20), low=1, high=20
)

# The bots' webhooks store each event and answer at once; workers (manage.py converse) run
# the conversation and send the replies. Inline: the webhook works the event itself right
# after storing it, for `make run` and development, where no worker runs.
BOT_EVENTS_INLINE = env_bool("BOT_EVENTS_INLINE", DEBUG)
# How long a worker holds an event before another may take it (the first one is taken to have
# died): longer than handling one event takes, a photo's download (60 s at most) included.
BOT_EVENT_LEASE_SECONDS = env_int("BOT_EVENT_LEASE_SECONDS", 90, low=1, high=3600)

COMPANY_CONTACTS = env_list(
    "COMPANY_CONTACTS",
    "(061) 225-36-09,+38 (098) 168-01-01,+38 (050) 119-91-69,+38 (093) 170-23-35",
)

# --- Phone voice menu (FastAGI) -----------------------------------------------

# Where a caller goes who presses 0 or cannot get through the menu: an extension of the
# exchange's dialplan, passed back in the channel variable POKAZNYK_TRANSFER (README shows
# the dialplan that acts on it). Unset = no operator: such callers are told so and say goodbye.
IVR_OPERATOR_EXTENSION = env_str("IVR_OPERATOR_EXTENSION")
if IVR_OPERATOR_EXTENSION and not re.fullmatch(r"[0-9A-Za-z_+*#-]{1,32}", IVR_OPERATOR_EXTENSION):
    raise ImproperlyConfigured(
        f"IVR_OPERATOR_EXTENSION={IVR_OPERATOR_EXTENSION!r}: expected a dialplan extension such as 100 or operator."
    )
# How the prompts' sound files are named to Asterisk: prefix + name, e.g. pokaznyk/ask-account
# is pokaznyk/ask-account.wav under Asterisk's sounds directory (manage.py ivr_prompts writes them).
IVR_SOUNDS_PREFIX = env_str("IVR_SOUNDS_PREFIX", "pokaznyk/")
if not re.fullmatch(r"([A-Za-z0-9_-]+/)*", IVR_SOUNDS_PREFIX):
    raise ImproperlyConfigured(
        f"IVR_SOUNDS_PREFIX={IVR_SOUNDS_PREFIX!r}: expected folders under Asterisk's sounds directory, "
        "ending in / (pokaznyk/), or empty."
    )
# How long a question waits for the caller's keys after its prompt (GET DATA's time-out).
IVR_ANSWER_TIMEOUT_MS = env_int("IVR_ANSWER_TIMEOUT_MS", 7000, low=1000, high=60000)
# Wrong or empty answers at one step before the call ends politely (or goes to the operator).
IVR_MAX_TRIES = env_int("IVR_MAX_TRIES", 3, low=1, high=10)
# `runagi` serves at most this many calls at once (a thread each); one more is refused at once:
# the channel variable IVR_STATUS is set to "busy" and the call goes back to the dialplan.
IVR_MAX_CALLS = env_int("IVR_MAX_CALLS", 200, low=1, high=5000)
# A call whose Asterisk says nothing for this long is dropped (GET DATA: this plus its own time-out).
IVR_IDLE_TIMEOUT_SECONDS = env_int("IVR_IDLE_TIMEOUT_SECONDS", 120, low=5, high=3600)
# On SIGTERM the calls in progress may go on for this long; the rest are dropped (back to the dialplan).
IVR_STOP_GRACE_SECONDS = env_int("IVR_STOP_GRACE_SECONDS", 20, low=0, high=3600)
# The FastAGI script of the dialplan's URL (agi://host:4573/<script>) → the function running the call.
IVR_SCRIPTS = {"readings": "botbridge.conversation.phone.call"}
