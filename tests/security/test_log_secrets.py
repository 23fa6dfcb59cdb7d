"""Secrets out of the logs (issue #17): a failed write never shows its SQL parameters, and
the access log never keeps the OAuth callback's `code` and `state`."""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.logredact import RedactingFilter, RedactingGunicornLogger, redact

ROOT = Path(__file__).resolve().parents[2]
CODE, STATE = "fx-code-5f1e2d3c4b", "st-9a8b7c6d5e"
CALLBACK = f"/settings/integration/callback?code={CODE}&state={STATE}"
CLEAN = "/settings/integration/callback?code=[redacted]&state=[redacted]"


def test_a_failed_write_does_not_show_its_parameters(app, make_user):
    from app.auth.models import User

    make_user("technician", email="taken@example.com")
    secret_hash = "scrypt:32768:8:1$very-secret-salt$deadbeefcafe"
    db.session.add(User(name="Sara Hemlig", email="taken@example.com", password_hash=secret_hash))
    with pytest.raises(IntegrityError) as failure:
        db.session.flush()
    db.session.rollback()
    text = str(failure.value)
    assert "Sara Hemlig" not in text and secret_hash not in text
    assert "hidden" in text  # SQLAlchemy says why the parameters are missing


def test_production_engine_options_hide_parameters():
    from app.config import Config

    assert Config.SQLALCHEMY_ENGINE_OPTIONS["hide_parameters"] is True


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (f"GET {CALLBACK} HTTP/1.1", f"GET {CLEAN} HTTP/1.1"),
        (f"code={CODE}&state={STATE}", "code=[redacted]&state=[redacted]"),
        (f"https://ordna.example{CALLBACK}#x", f"https://ordna.example{CLEAN}#x"),
        ("/x?STATE=abc;Code=def", "/x?STATE=[redacted];Code=[redacted]"),
        ("/orders?zipcode=123&q=pump&page=2", "/orders?zipcode=123&q=pump&page=2"),
        ("/x?code=&state=", "/x?code=&state="),
    ],
)  # fmt: skip
def test_redact(raw, expected):
    assert redact(raw) == expected


def _gunicorn_logger(tmp_path: Path) -> RedactingGunicornLogger:
    from gunicorn.config import Config as GunicornConfig

    cfg = GunicornConfig()
    cfg.set("accesslog", str(tmp_path / "access.log"))
    cfg.set("access_log_format", cfg.settings["access_log_format"].default)
    return RedactingGunicornLogger(cfg)


def test_the_gunicorn_access_log_keeps_no_code_or_state(tmp_path):
    logger = _gunicorn_logger(tmp_path)
    environ = {
        "REQUEST_METHOD": "GET",
        "RAW_URI": CALLBACK,
        "PATH_INFO": "/settings/integration/callback",
        "QUERY_STRING": CALLBACK.partition("?")[2],
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "203.0.113.9",
        "HTTP_REFERER": f"https://ordna.example{CALLBACK}",
        "HTTP_USER_AGENT": "test",
    }
    response = SimpleNamespace(
        status="302 FOUND", sent=0, headers=[("Location", "/settings/integration")]
    )
    request = SimpleNamespace(headers=[("REFERER", environ["HTTP_REFERER"])])
    logger.access(response, request, environ, timedelta(milliseconds=3))
    for handler in logger.access_log.handlers:
        handler.flush()
    line = (tmp_path / "access.log").read_text()
    assert "/settings/integration/callback?code=[redacted]&state=[redacted]" in line
    assert CODE not in line and STATE not in line


def test_the_filter_redacts_other_loggers_lines(caplog):
    log = logging.getLogger("tests.redaction")
    log.addFilter(RedactingFilter())
    with caplog.at_level(logging.INFO, logger="tests.redaction"):
        log.info('127.0.0.1 - - "%s" %s', f"GET {CALLBACK} HTTP/1.1", 302)
        log.info(f"plain {CALLBACK}")
    assert CODE not in caplog.text and STATE not in caplog.text
    assert caplog.text.count("code=[redacted]") == 2


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_gunicorn_with_our_config_logs_the_callback_without_secrets(tmp_path):
    """The documented production command, run for real: gunicorn reads ./gunicorn.conf.py."""
    port = _free_port()
    env = {
        **os.environ,
        "ORDNA_ENV": "development",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'gunicorn.sqlite3'}",
        "REDIS_URL": "",
    }
    log_path = tmp_path / "out.log"
    with log_path.open("w") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-w", "1", "-b", f"127.0.0.1:{port}", "wsgi:app"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    with socket.create_connection(("127.0.0.1", port), timeout=1):
                        break
                except OSError:
                    if time.monotonic() > deadline or server.poll() is not None:
                        pytest.fail(f"gunicorn did not start: {log_path.read_text()}")
                    time.sleep(0.2)
            request = urllib.request.Request(f"http://127.0.0.1:{port}{CALLBACK}")
            opener = urllib.request.build_opener(_NoRedirect())
            try:
                opener.open(request, timeout=10)
            except urllib.error.HTTPError:
                pass  # a redirect or a refusal: either way a line in the access log
            time.sleep(0.5)
        finally:
            server.terminate()
            server.wait(timeout=30)
    log = log_path.read_text()
    assert "/settings/integration/callback?code=[redacted]&state=[redacted]" in log, log
    assert CODE not in log and STATE not in log


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        return None
