"""Configuration classes read from the environment.

Production values come from environment variables documented in the README; nothing here
guesses a type, and `create_app` refuses to start without a real SECRET_KEY unless the config
says it is for development or testing.
"""

from __future__ import annotations

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool = False) -> bool:
    """Parse a boolean environment variable ("1", "true", "yes", "on" are true)."""
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_str(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    return value.strip()


def env_int(name: str, default: int | None = None) -> int | None:
    """Parse an integer environment variable; anything but digits fails fast (ValueError)."""
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    try:
        return int(value.strip())
    except ValueError:
        raise ValueError(f"{name} must be a whole number, not {value!r}") from None


def default_sqlite_url() -> str:
    return f"sqlite:///{BASE_DIR / 'instance' / 'ordna.sqlite3'}"


class Config:
    """Production defaults: everything sensitive must come from the environment."""

    DEBUG = False
    TESTING = False
    # Set to True by configs that may run without SECRET_KEY (development, tests).
    ALLOW_INSECURE_SECRET = False

    SECRET_KEY = env_str("SECRET_KEY")
    SQLALCHEMY_DATABASE_URI = env_str("DATABASE_URL", default_sqlite_url())
    # hide_parameters: a failed statement's error (and so the log) never shows its values —
    # password hashes, personal data, tokens.
    SQLALCHEMY_ENGINE_OPTIONS: dict = {"pool_pre_ping": True, "hide_parameters": True}
    REDIS_URL = env_str("REDIS_URL")
    # Key for tokens at rest (Fernet, urlsafe base64 32 bytes). Derived from SECRET_KEY if unset.
    TOKEN_ENCRYPTION_KEY = env_str("TOKEN_ENCRYPTION_KEY")

    # No default in production: the sandbox's credentials must never reach Fortnox.
    FORTNOX_CLIENT_ID = env_str("FORTNOX_CLIENT_ID")
    FORTNOX_CLIENT_SECRET = env_str("FORTNOX_CLIENT_SECRET")
    FORTNOX_API_URL = env_str("FORTNOX_API_URL", "https://api.fortnox.se/3")
    FORTNOX_OAUTH_URL = env_str("FORTNOX_OAUTH_URL", "https://apps.fortnox.se/oauth-v1")
    # How long a worker holds a send (seconds); never less than the send job's timeout + 30.
    FORTNOX_SEND_LEASE_SECONDS = env_int("FORTNOX_SEND_LEASE_SECONDS", 180)
    # Must equal the redirect URI registered for the Fortnox app; default: our callback URL.
    FORTNOX_REDIRECT_URI = env_str("FORTNOX_REDIRECT_URI")
    # The change feed (app/integrations/fortnox/feed.py): Fortnox's WebSocket topics (default
    # derived from FORTNOX_API_URL), the poll interval (status back, and the fallback while
    # the socket is down: at most two calls per poll) and the quiet spell before a run starts.
    FORTNOX_FEED_URL = env_str("FORTNOX_FEED_URL")
    FORTNOX_FEED_POLL_SECONDS = env_int("FORTNOX_FEED_POLL_SECONDS", 60)
    FORTNOX_FEED_DEBOUNCE_SECONDS = env_int("FORTNOX_FEED_DEBOUNCE_SECONDS", 2)

    ORGANISATION_NAME = env_str("ORGANISATION_NAME", "Ordna Demo AB")

    # E-mail (the service protocol to the customer) over SMTP. Without MAIL_SERVER nothing is
    # sent: each mail is written as an .eml file to MAIL_FILE_PATH (default instance/mail/).
    MAIL_SERVER = env_str("MAIL_SERVER")
    MAIL_PORT = env_int("MAIL_PORT")  # unset: 465 with MAIL_USE_SSL, 587 with MAIL_USE_TLS, else 25
    MAIL_USERNAME = env_str("MAIL_USERNAME")
    MAIL_PASSWORD = env_str("MAIL_PASSWORD")
    MAIL_USE_TLS = env_bool("MAIL_USE_TLS")  # STARTTLS
    MAIL_USE_SSL = env_bool("MAIL_USE_SSL")  # SMTPS from the first byte
    MAIL_DEFAULT_SENDER = env_str("MAIL_DEFAULT_SENDER", "ordna@localhost")
    MAIL_TIMEOUT = env_int("MAIL_TIMEOUT", 10)  # seconds per SMTP operation
    # The protocol PDF is laid out in a process of its own, stopped after this many seconds
    # (under gunicorn's 30-s worker timeout): the largest order the limits allow would take
    # about a minute (issue #17; app/orders/protocol.py).
    PROTOCOL_RENDER_SECONDS = env_int("PROTOCOL_RENDER_SECONDS", 15)
    MAIL_FILE_PATH = env_str("MAIL_FILE_PATH")
    # None: SMTP when MAIL_SERVER is set, else .eml files (app/mail.py). Tests pick "locmem".
    MAIL_BACKEND: str | None = None

    # A drawn signature travels in the order form as a data URL (up to 512 KB of PNG, about
    # 700 KB as text); Werkzeug's default of 500 KB per form field would refuse it with a 413
    # before the service could explain what is wrong.
    MAX_FORM_MEMORY_SIZE = 2 * 1024 * 1024
    # No request body is larger than this (a signature is at most 512 KB): 413 before parsing.
    MAX_CONTENT_LENGTH = 8 * 1024 * 1024

    # Sessions and cookies: secure by default; plain HTTP only in development.
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", True)
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", True)
    REMEMBER_COOKIE_SAMESITE = "Lax"
    PERMANENT_SESSION_LIFETIME = 60 * 60 * 12

    WTF_CSRF_ENABLED = True
    WTF_CSRF_TIME_LIMIT = None  # a technician keeps a form open all day on site

    BABEL_DEFAULT_LOCALE = "sv"
    BABEL_DEFAULT_TIMEZONE = "Europe/Stockholm"
    LANGUAGES = ("sv", "en")

    # Sign-in throttling (app/auth/throttle.py): after a failure, a wait of 1, 2, 4 … 60 s per
    # (e-mail address, client address); a client address alone waits only after this many
    # failures; failures older than the window are forgotten.
    LOGIN_IP_FREE_FAILURES = env_int("LOGIN_IP_FREE_FAILURES", 20)
    LOGIN_THROTTLE_WINDOW = env_int("LOGIN_THROTTLE_WINDOW", 15 * 60)

    # flask-smorest / OpenAPI
    API_TITLE = "Ordna API"
    API_VERSION = "v1"
    OPENAPI_VERSION = "3.0.3"
    OPENAPI_URL_PREFIX = "/api/v1"
    OPENAPI_JSON_PATH = "openapi.json"

    # Jobs run on RQ when REDIS_URL is set, else in-process.
    JOBS_INLINE = env_bool("JOBS_INLINE", REDIS_URL is None)


class DevConfig(Config):
    """What `make run` uses: SQLite under instance/, the bundled sandbox, in-process jobs."""

    DEBUG = True
    ALLOW_INSECURE_SECRET = True
    SECRET_KEY = env_str("SECRET_KEY", "dev-only-not-secret")
    SESSION_COOKIE_SECURE = False
    REMEMBER_COOKIE_SECURE = False
    FORTNOX_API_URL = env_str("FORTNOX_API_URL", "http://127.0.0.1:8765/3")
    FORTNOX_OAUTH_URL = env_str("FORTNOX_OAUTH_URL", "http://127.0.0.1:8765/oauth-v1")
    FORTNOX_CLIENT_ID = env_str("FORTNOX_CLIENT_ID", "ordna-dev")  # the bundled sandbox's
    FORTNOX_CLIENT_SECRET = env_str("FORTNOX_CLIENT_SECRET", "ordna-dev-secret")


class TestConfig(Config):
    """Tests: a database from TEST_DATABASE_URL (PostgreSQL in CI) or in-memory-like SQLite."""

    TESTING = True
    ALLOW_INSECURE_SECRET = True
    SECRET_KEY = "test-secret-key"
    SQLALCHEMY_DATABASE_URI = env_str("TEST_DATABASE_URL", "sqlite://")
    SESSION_COOKIE_SECURE = False
    REMEMBER_COOKIE_SECURE = False
    WTF_CSRF_ENABLED = False  # tests that check CSRF switch it back on
    PASSWORD_HASH_METHOD = "pbkdf2:sha256:1000"  # fast hashing: tests create many users
    JOBS_INLINE = True
    REDIS_URL = None
    FORTNOX_API_URL = "http://127.0.0.1:9/3"
    FORTNOX_OAUTH_URL = "http://127.0.0.1:9/oauth-v1"
    FORTNOX_CLIENT_ID = "ordna-dev"  # the sandbox's
    FORTNOX_CLIENT_SECRET = "ordna-dev-secret"
    # Signing in does not start the day's first sync (tests of it switch it on): a test's
    # sign-in should not talk to Fortnox.
    FORTNOX_LOGIN_REFRESH = False
    # Mails stay in memory (mail.outbox) unless a test asks for SMTP or files.
    MAIL_BACKEND = "locmem"
    MAIL_SERVER = None
    MAIL_PORT = None
    MAIL_USERNAME = None
    MAIL_PASSWORD = None
    MAIL_USE_TLS = False
    MAIL_USE_SSL = False
    MAIL_DEFAULT_SENDER = "ordna@example.com"
    MAIL_TIMEOUT = 5
    MAIL_FILE_PATH = None
