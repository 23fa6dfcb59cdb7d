"""Fixtures shared by the whole suite (flaskr's `app`, `client`, `runner`, plus `login` and
`api` helpers).

The schema is built once per session by `flask db upgrade` on an empty database — SQLite by
default, PostgreSQL when TEST_DATABASE_URL is set (CI) — and every test leaves it empty again.
"""

from __future__ import annotations

import os
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text

from app import create_app
from app.config import TestConfig
from app.extensions import db

_TMP = Path(tempfile.mkdtemp(prefix="ordna-tests-"))
DATABASE_URL = os.environ.get("TEST_DATABASE_URL") or f"sqlite:///{_TMP / 'test.sqlite3'}"
IS_POSTGRES = DATABASE_URL.startswith("postgresql")

requires_postgres = pytest.mark.skipif(
    not IS_POSTGRES and not os.environ.get("CI"),
    reason="needs PostgreSQL: set TEST_DATABASE_URL (CI always does)",
)


def test_config(**overrides: Any) -> type[TestConfig]:
    """A TestConfig subclass bound to the session's database, with overrides."""
    attrs = {"SQLALCHEMY_DATABASE_URI": DATABASE_URL, **overrides}
    return type("BoundTestConfig", (TestConfig,), attrs)


# --- no network but loopback (indico's disallow idea) ------------------------------------

_real_connect = socket.socket.connect
_LOOPBACK = {"127.0.0.1", "::1", "localhost", "0.0.0.0"}


def _guarded_connect(self: socket.socket, address: Any) -> Any:
    if isinstance(address, tuple) and address and address[0] not in _LOOPBACK:
        raise RuntimeError(f"test tried to reach {address[0]}: only 127.0.0.1 is allowed")
    return _real_connect(self, address)


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(socket.socket, "connect", _guarded_connect)


# --- database ---------------------------------------------------------------------------------


def _reset_schema() -> None:
    """Start from an empty database so `upgrade` really builds everything."""
    if IS_POSTGRES:
        engine = create_engine(DATABASE_URL)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    else:
        path = DATABASE_URL.removeprefix("sqlite:///")
        if os.path.exists(path):
            os.remove(path)


@pytest.fixture(scope="session")
def migrated_database() -> str:
    from flask_migrate import upgrade

    _reset_schema()
    app = create_app(test_config())
    with app.app_context():
        upgrade()
        db.engine.dispose()
    return DATABASE_URL


def _empty_tables() -> None:
    tables = [t for t in reversed(db.metadata.sorted_tables)]
    with db.engine.begin() as conn:
        if IS_POSTGRES:
            # A session leaked by a failed test must fail loudly here, not hang the run.
            conn.execute(text("SET LOCAL lock_timeout = '30s'"))
            names = ", ".join(f'"{t.name}"' for t in tables)
            conn.execute(text(f"TRUNCATE TABLE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                conn.execute(table.delete())
        # The migration seeds each kind's number sequence; put it back as it was.
        conn.execute(
            text(
                "INSERT INTO order_number_sequences (kind, next_number) VALUES "
                "('service', 1001), ('work', 1001), ('sales', 1001)"
            )
        )


class RequestIsolatingClient(FlaskClient):
    """The `app` fixture keeps an app context pushed so tests can use `db.session`; Flask then
    reuses it for every request, and with it `g`. Flask-Login caches the signed-in user in
    `g`, so without this two clients would share a user. Each request starts with a clean `g`
    as it would in production."""

    def open(self, *args: Any, **kwargs: Any):  # type: ignore[no-untyped-def]
        from flask import g

        if g:
            for key in list(vars(g)):
                delattr(g, key)
        return super().open(*args, **kwargs)


def make_app(**overrides: Any) -> Flask:
    application = create_app(test_config(**overrides))
    application.test_client_class = RequestIsolatingClient
    return application


@pytest.fixture
def app_config() -> dict[str, Any]:
    """Override in a test module to change the app's config."""
    return {}


@pytest.fixture
def app(migrated_database: str, app_config: dict[str, Any]) -> Iterator[Flask]:
    application = make_app(**app_config)
    with application.app_context():
        yield application
        db.session.remove()
        _empty_tables()
        db.engine.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask):  # type: ignore[no-untyped-def]
    return app.test_cli_runner()


# --- people -----------------------------------------------------------------------------------


@pytest.fixture
def make_user(app: Flask):  # type: ignore[no-untyped-def]
    from app.auth.services import create_user

    counter = {"n": 0}

    def factory(role: str = "admin", **kwargs: Any):  # type: ignore[no-untyped-def]
        counter["n"] += 1
        kwargs.setdefault("email", f"{role}{counter['n']}@example.com")
        kwargs.setdefault("name", f"{role.title()} {counter['n']}")
        kwargs.setdefault("password", "secret-password")
        user = create_user(role=role, **kwargs)
        db.session.commit()
        return user

    return factory


@pytest.fixture
def login(client: FlaskClient, make_user):  # type: ignore[no-untyped-def]
    """login(role) signs a new user of that role in on `client` and returns the user."""

    def do_login(role: str = "admin", **kwargs: Any):  # type: ignore[no-untyped-def]
        user = make_user(role, **kwargs)
        response = client.post("/login", data={"email": user.email, "password": "secret-password"})
        assert response.status_code == 302, response.data
        return user

    return do_login


class ApiClient:
    """A test client that sends `Authorization: Bearer <token>` and JSON."""

    def __init__(self, client: FlaskClient, token: str, user: Any) -> None:
        self.client = client
        self.token = token
        self.user = user

    def _call(self, method: str, path: str, **kwargs: Any):  # type: ignore[no-untyped-def]
        headers = {"Authorization": f"Bearer {self.token}", **kwargs.pop("headers", {})}
        return self.client.open(f"/api/v1{path}", method=method, headers=headers, **kwargs)

    def get(self, path: str, **kwargs: Any):  # type: ignore[no-untyped-def]
        return self._call("GET", path, **kwargs)

    def post(self, path: str, json: Any = None, **kwargs: Any):  # type: ignore[no-untyped-def]
        return self._call("POST", path, json=json, **kwargs)

    def patch(self, path: str, json: Any = None, **kwargs: Any):  # type: ignore[no-untyped-def]
        return self._call("PATCH", path, json=json, **kwargs)

    def put(self, path: str, json: Any = None, **kwargs: Any):  # type: ignore[no-untyped-def]
        return self._call("PUT", path, json=json, **kwargs)

    def delete(self, path: str, **kwargs: Any):  # type: ignore[no-untyped-def]
        return self._call("DELETE", path, **kwargs)


@pytest.fixture
def api(app: Flask, make_user):  # type: ignore[no-untyped-def]
    """api(role, **user_fields) -> ApiClient for a new user of that role."""
    from app.auth.services import create_api_token

    def factory(role: str = "admin", **kwargs: Any) -> ApiClient:
        user = make_user(role, **kwargs)
        token = create_api_token(user, "test")
        db.session.commit()
        return ApiClient(app.test_client(), token, user)

    return factory


# --- a real RQ queue on Redis --------------------------------------------------------------------


@pytest.fixture
def rq_queue(app: Flask) -> Iterator[Any]:
    """The app's jobs go to a real RQ queue on Redis (``REDIS_URL``, else the local default)
    of the test's own, emptied afterwards; run them with :func:`work_off`. Without Redis the
    test is skipped, except under ``CI=true``, where it fails instead."""
    import uuid

    from redis import Redis

    from app.jobs import RQQueue

    url = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
    try:
        Redis.from_url(url, socket_connect_timeout=1).ping()
    except Exception:
        if os.environ.get("CI"):
            pytest.fail(f"Redis at {url} is not reachable (CI needs it)")
        pytest.skip(f"Redis at {url} is not reachable; set REDIS_URL")
    queue = RQQueue(url, name=f"test-{uuid.uuid4().hex[:8]}")
    previous = app.extensions["jobs"]
    app.extensions["jobs"] = queue
    try:
        yield queue
    finally:
        app.extensions["jobs"] = previous
        queue.queue.delete(delete_jobs=True)


def work_off(queue: Any) -> None:
    """Run every job on ``queue`` with RQ's worker, in this process, until none is left."""
    from rq import SimpleWorker

    SimpleWorker([queue.queue], connection=queue.connection).work(burst=True)


# --- Fortnox's official OpenAPI file -----------------------------------------------------------


@pytest.fixture
def official_openapi() -> Path:
    """The path of Fortnox's official OpenAPI file, for tests that need that file itself.

    It lives beside the checkout (``../shared/fortnox/openapi.json`` or
    ``FORTNOX_OPENAPI_PATH``), never in the repository, so a fresh clone lacks it: the test is
    skipped with the reason shown, except under ``CI=true``, where it fails instead. Use
    ``pytestmark = pytest.mark.usefixtures("official_openapi")`` for a whole module.
    """
    from fortnox_sandbox.schema import SchemaUnavailable, openapi_path

    try:
        return openapi_path()
    except SchemaUnavailable as exc:
        if os.environ.get("CI", "").strip().lower() in ("true", "1", "yes"):
            pytest.fail(f"CI must have Fortnox's official OpenAPI file: {exc}", pytrace=False)
        pytest.skip(f"needs Fortnox's official OpenAPI file: {exc}")
