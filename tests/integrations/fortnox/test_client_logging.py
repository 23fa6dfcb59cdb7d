"""No token, secret, authorization code or Authorization header reaches a log line, even with
every library logging at DEBUG (oauthlib and requests-oauthlib log whole tokens there)."""

from __future__ import annotations

import base64
import logging

import pytest

from app.integrations.fortnox.errors import FortnoxValidationError
from app.integrations.fortnox.tokens import MemoryTokenStore
from fortnox_sandbox.testing import SandboxServer

try:  # tests/ as packages, or plain directories (pytest's default "prepend" import mode)
    from . import client_fixtures as fx
except ImportError:
    import client_fixtures as fx

sandbox_server = fx.sandbox_server
sandbox = fx.sandbox

LOUD_LOGGERS = ("", "oauthlib", "requests_oauthlib", "urllib3", "requests", "app")
# The sandbox plays Fortnox: what it logs is Fortnox's business, not ours.
NOT_OURS = ("fortnox_sandbox", "werkzeug")


def secrets_seen_by_fortnox(sandbox: SandboxServer) -> set[str]:
    """Every code, token and credential that crossed the wire, from the sandbox's log."""
    found = {
        fx.CLIENT_SECRET,
        base64.b64encode(f"{fx.CLIENT_ID}:{fx.CLIENT_SECRET}".encode()).decode(),
    }
    for entry in sandbox.requests_log(path="/oauth-v1/token"):
        for part in (entry["body"] or {}, entry["response"] or {}):
            for key in ("code", "refresh_token", "access_token"):
                if part.get(key):
                    found.add(str(part[key]))
    return found


def test_no_secret_in_any_log_line_at_debug(
    sandbox: SandboxServer, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in LOUD_LOGGERS:
        caplog.set_level(logging.DEBUG, logger=name)
    # Alembic's fileConfig (run by the suite's `flask db upgrade`) disables loggers that exist
    # at the time; switch them back on so that they say everything they would.
    for name, logger in list(logging.root.manager.loggerDict.items()):
        if isinstance(logger, logging.Logger) and name.startswith(LOUD_LOGGERS[1:]):
            monkeypatch.setattr(logger, "disabled", False)
    clock = fx.SimClock(sandbox)
    store = MemoryTokenStore(fx.connect(sandbox, clock))  # code exchange
    client = fx.make_client(sandbox, store, clock=clock)

    client.company_information()
    clock.advance(56 * 60)
    client.list_customers()  # refresh before expiry
    sandbox.advance_clock(2 * 3600)
    client.get_customer("1")  # 401, refresh, repeat
    with pytest.raises(FortnoxValidationError):
        client.create_order({"CustomerNumber": "1", "CostCenter": "999"})

    ours = [r for r in caplog.records if not r.name.startswith(NOT_OURS)]
    text = "\n".join(
        r.getMessage() + (logging.Formatter().formatException(r.exc_info) if r.exc_info else "")
        for r in ours
    )
    secrets = secrets_seen_by_fortnox(sandbox)
    assert len(secrets) == 2 + 1 + 3 * 2  # secret, Basic value, code, 3 token pairs
    leaked = sorted(s for s in secrets if s in text)
    assert leaked == []
    assert "Bearer ey" not in text
    # The libraries did log at DEBUG — what they said about tokens was redacted.
    assert any(r.name.startswith("requests_oauthlib") for r in ours)
    assert "[redacted" in text
