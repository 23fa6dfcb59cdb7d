"""Secrets out of the logs (issue #17). The OAuth callback carries Fortnox's one-time `code`
and our `state` in its query string; an access log line must not keep them. Every URL a log
line shows has those values (and any token-like query value) replaced by `[redacted]`:

- `RedactingGunicornLogger`: gunicorn's access log (gunicorn.conf.py names it), for the
  request line, the query string, the referrer and every header or environ atom;
- `RedactingFilter`: a `logging.Filter` for any other logger that writes URLs (Werkzeug's
  development server).

SQL parameters are kept out by the engine (`hide_parameters`, app/config.py)."""

from __future__ import annotations

import logging
import re
from typing import Any

from gunicorn.glogging import Logger as GunicornLogger

SECRET_QUERY_KEYS = (
    "code",
    "state",
    "access_token",
    "refresh_token",
    "id_token",
    "token",
    "client_secret",
    "password",
)
REDACTED = "[redacted]"

# `key=value` in a query string (after ?, & or ;, or at the start of a bare query string).
_SECRET = re.compile(
    r"(?P<key>(?:^|[?&;])(?:" + "|".join(SECRET_QUERY_KEYS) + r")=)(?P<value>[^&;#\s\"]*)",
    re.IGNORECASE,
)


def redact(text: str) -> str:
    """`text` (a URL, a query string, a request line) with every secret query value
    replaced."""
    if "=" not in text:
        return text
    return _SECRET.sub(lambda m: m.group("key") + (REDACTED if m.group("value") else ""), text)


def _redact_value(value: Any) -> Any:
    return redact(value) if isinstance(value, str) else value


class RedactingFilter(logging.Filter):
    """Redacts secret query values in a record's message and its arguments."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, dict):
            record.args = {key: _redact_value(value) for key, value in record.args.items()}
        elif isinstance(record.args, tuple):
            record.args = tuple(_redact_value(value) for value in record.args)
        return True


class RedactingGunicornLogger(GunicornLogger):
    """gunicorn's logger, its access log atoms redacted (`%(r)s`, `%(q)s`, `%(f)s`, headers)."""

    def atoms(self, resp: Any, req: Any, environ: Any, request_time: Any) -> dict[str, Any]:
        atoms = super().atoms(resp, req, environ, request_time)
        return {key: _redact_value(value) for key, value in atoms.items()}
