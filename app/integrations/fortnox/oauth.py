"""Fortnox OAuth2 authorization-code flow (FACTS.md §1), on requests-oauthlib.

- `authorization_url` builds the consent URL (`access_type=offline`, so that refresh works
  while the user is away).
- `exchange_code` turns the one-time code (10 minutes, single use) into tokens.
- `refresh` spends a single-use refresh token for a new token set. Call it only while holding
  the integration's refresh lock (`FortnoxClient` does) and save the result before releasing.

Both token calls authenticate the client with HTTP Basic `client_id:client_secret`, as the token
endpoint requires. Their errors: `invalid_grant` → FortnoxAuthorizationRevoked; any other OAuth
error (e.g. `invalid_client`) → FortnoxAuthError; 429 → FortnoxRateLimited; 5xx →
FortnoxServerError; no answer → FortnoxConnectionError. These functions do not retry.

Logging: oauthlib and requests-oauthlib log whole tokens, request bodies and Authorization
headers at DEBUG. Importing this module caps those loggers at INFO (unless a level was set
explicitly) and attaches `SecretRedactingFilter` to them, to urllib3's and to ours, so no
token, secret, code or Authorization header reaches a log line even at DEBUG.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import re
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

import requests
from oauthlib.oauth2 import InvalidGrantError, OAuth2Error
from requests.auth import HTTPBasicAuth
from requests_oauthlib import OAuth2Session

from .errors import (
    FortnoxAuthError,
    FortnoxAuthorizationRevoked,
    FortnoxConnectionError,
    FortnoxRateLimited,
    FortnoxServerError,
)
from .tokens import Clock, Tokens, utcnow

log = logging.getLogger(__name__)

# (connect, read) seconds for token requests. Short, so that a refresh finishes well inside the
# refresh lock's time to live (RedisLock timeout, 60 s by default).
TOKEN_TIMEOUT = (5.0, 15.0)


# --- Log redaction ---------------------------------------------------------------------------

_SECRET_KEYS = (
    "access_token|refresh_token|id_token|client_secret|code|password|Access-Token|Client-Secret"
)
_REDACTIONS: tuple[tuple[re.Pattern[str], str], ...] = (
    # Authorization: Bearer …/Basic … in headers dicts, raw header lines or exception texts.
    (re.compile(r"\b(Bearer|Basic)\s+[A-Za-z0-9\-._~+/=]+", re.IGNORECASE), r"\1 [redacted]"),
    # key=value (form bodies, query strings) and 'key': 'value' / "key":"value" (dict or JSON).
    (
        re.compile(
            rf"""(?P<k>\b(?:{_SECRET_KEYS})\b['"]?\s*[:=]\s*['"]?)[^'"&\s,;}}\]]+""",
            re.IGNORECASE,
        ),
        r"\g<k>[redacted]",
    ),
    # Bare JWTs (Fortnox access tokens are JWTs, FACTS.md §1).
    (re.compile(r"\beyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*"), "[redacted-jwt]"),
)


def redact(text: str) -> str:
    """`text` with tokens, secrets, codes and Authorization credentials replaced."""
    for pattern, replacement in _REDACTIONS:
        text = pattern.sub(replacement, text)
    return text


class SecretRedactingFilter(logging.Filter):
    """Rewrites a record's message through `redact` (the record is kept, never dropped)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string is the logging module's problem
            return True
        cleaned = redact(message)
        if cleaned != message:
            record.msg = cleaned
            record.args = None
        return True


_FILTER = SecretRedactingFilter()
# Libraries that log request/response details; filters apply per logger (not inherited by
# child loggers), so every logger under these names gets one.
_GUARDED_PREFIXES = ("oauthlib", "requests_oauthlib", "urllib3", "requests", "app.integrations")
# These log tokens at DEBUG; keep them at INFO unless someone set a level on purpose.
_QUIET_LIBRARIES = ("oauthlib", "requests_oauthlib")


def install_log_redaction() -> None:
    """Attach the redacting filter to every existing logger of the guarded libraries (and
    ours) and cap oauthlib/requests-oauthlib at INFO when their level is unset. Idempotent;
    runs on import of this module, after those libraries have created their loggers."""
    names = [
        name
        for name in logging.root.manager.loggerDict
        if any(name == p or name.startswith(p + ".") for p in _GUARDED_PREFIXES)
    ]
    for name in {*names, *_GUARDED_PREFIXES, __name__}:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
    for name in _QUIET_LIBRARIES:
        logger = logging.getLogger(name)
        if logger.level == logging.NOTSET:
            logger.setLevel(logging.INFO)


install_log_redaction()


# --- Transport -------------------------------------------------------------------------------


def check_transport(url: str) -> None:
    """Allow https everywhere and plain http only to a loopback host (the bundled sandbox).

    oauthlib refuses http unless OAUTHLIB_INSECURE_TRANSPORT is set; for a loopback URL this
    sets it for the process (side effect) — our own check here still refuses http elsewhere.
    Raises ValueError for http to any other host or any other scheme.
    """
    parts = urlsplit(url)
    if parts.scheme == "https":
        return
    if parts.scheme == "http" and _is_loopback(parts.hostname or ""):
        os.environ.setdefault("OAUTHLIB_INSECURE_TRANSPORT", "1")
        return
    raise ValueError(f"Fortnox URL must use https (http only to a loopback host): {url!r}")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _endpoint(oauth_url: str, name: str) -> str:
    return f"{oauth_url.rstrip('/')}/{name}"


# --- Flow ------------------------------------------------------------------------------------


def authorization_url(
    oauth_url: str,
    client_id: str,
    redirect_uri: str,
    scopes: Sequence[str],
    state: str,
    *,
    account_type: str | None = None,
) -> str:
    """The Fortnox consent URL to send the admin's browser to (FACTS.md §1 "Authorize URL").

    `scopes` are Fortnox scope names (case-sensitive, sent space-delimited); `state` is the
    caller's CSRF value, returned unchanged on the redirect. `account_type="service"` asks for
    a service account. Pure: no request is made.
    """
    check_transport(oauth_url)
    extra: dict[str, str] = {"access_type": "offline"}
    if account_type:
        extra["account_type"] = account_type
    session = OAuth2Session(client_id, redirect_uri=redirect_uri, scope=list(scopes))
    url, _ = session.authorization_url(_endpoint(oauth_url, "auth"), state=state, **extra)
    return str(url)


def exchange_code(
    oauth_url: str,
    client_id: str,
    client_secret: str,
    code: str,
    redirect_uri: str,
    *,
    clock: Clock = utcnow,
    timeout: tuple[float, float] = TOKEN_TIMEOUT,
) -> Tokens:
    """Exchange the authorization `code` from the redirect for tokens (FACTS.md §1
    "code exchange body"). `redirect_uri` must be the one used for the authorization URL.
    `expires_at` is counted from `clock()` when the answer arrived. Raises as the module says;
    an expired or reused code is `invalid_grant` → FortnoxAuthorizationRevoked.
    """
    session = _token_session(oauth_url, client_id, redirect_uri=redirect_uri)
    data = _call_token_endpoint(
        lambda: session.fetch_token(
            _endpoint(oauth_url, "token"),
            code=code,
            auth=HTTPBasicAuth(client_id, client_secret),
            include_client_id=False,
            timeout=timeout,
        )
    )
    return Tokens.from_token_response(data, clock())


def refresh(
    oauth_url: str,
    client_id: str,
    client_secret: str,
    refresh_token: str,
    *,
    clock: Clock = utcnow,
    timeout: tuple[float, float] = TOKEN_TIMEOUT,
) -> Tokens:
    """Spend `refresh_token` for a new token set (FACTS.md §1 "refresh body").

    The old refresh token is invalid afterwards whatever happens to the answer, so the caller
    must hold the refresh lock and save the result before releasing it. Raises as the module
    says; a spent, expired or revoked refresh token is FortnoxAuthorizationRevoked.
    """
    session = _token_session(oauth_url, client_id)
    data = _call_token_endpoint(
        lambda: session.refresh_token(
            _endpoint(oauth_url, "token"),
            refresh_token=refresh_token,
            auth=HTTPBasicAuth(client_id, client_secret),
            timeout=timeout,
        )
    )
    return Tokens.from_token_response(data, clock(), previous_refresh_token=refresh_token)


def _token_session(
    oauth_url: str, client_id: str, redirect_uri: str | None = None
) -> OAuth2Session:
    check_transport(oauth_url)
    session = OAuth2Session(client_id, redirect_uri=redirect_uri)
    session.register_compliance_hook("access_token_response", _check_token_response)
    session.register_compliance_hook("refresh_token_response", _check_token_response)
    return session


def _check_token_response(response: requests.Response) -> requests.Response:
    """Turn answers that are not OAuth JSON into our errors before oauthlib parses them.

    OAuth error bodies (`{"error": "invalid_grant", …}`, 400/401) pass through: oauthlib
    raises the matching OAuth2Error, mapped in `_call_token_endpoint`.
    """
    status = response.status_code
    if status == 429:
        raise FortnoxRateLimited(
            "token endpoint rate limited", status=status, method="POST", path="/token"
        )
    if status >= 500:
        raise FortnoxServerError(
            f"token endpoint answered HTTP {status}", status=status, method="POST", path="/token"
        )
    if status >= 400:
        try:
            body = response.json()
        except ValueError:
            body = None
        if not (isinstance(body, dict) and "error" in body):
            raise FortnoxAuthError(
                f"token endpoint answered HTTP {status}",
                status=status,
                method="POST",
                path="/token",
            )
    return response


def _call_token_endpoint(call: Any) -> dict[str, Any]:
    try:
        token = call()
    except InvalidGrantError as exc:
        raise FortnoxAuthorizationRevoked(
            f"Fortnox refused the grant: {exc.error}", status=exc.status_code, path="/token"
        ) from None
    except OAuth2Error as exc:
        # invalid_client, unauthorized_client, invalid_request…: our credentials or our bug.
        raise FortnoxAuthError(
            f"Fortnox token endpoint error: {exc.error}", status=exc.status_code, path="/token"
        ) from None
    except requests.RequestException as exc:
        raise FortnoxConnectionError(
            f"no answer from the Fortnox token endpoint ({type(exc).__name__})",
            method="POST",
            path="/token",
        ) from None
    return dict(token)
