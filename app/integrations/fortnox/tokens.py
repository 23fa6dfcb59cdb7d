"""Fortnox OAuth tokens: the value, where it is kept, the lock that guards its rotation, and
its encryption at rest.

Fortnox refresh tokens are single use (FACTS.md §1): every refresh returns a new refresh token
and invalidates the old one, and two parallel refreshes invalidate each other. So every process
that talks to one Fortnox integration shares one `TokenStore` and one lock (`RedisLock` across
processes, `ThreadLock` inside one process), and the client refreshes only while holding it.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from cryptography.fernet import Fernet, MultiFernet
from redis import Redis

# FACTS.md §1: access tokens live one hour; the token response carries `expires_in: 3600`.
DEFAULT_ACCESS_TOKEN_LIFETIME = timedelta(hours=1)


@dataclass(frozen=True)
class Tokens:
    """One Fortnox token set. `expires_at` is an aware datetime (UTC) for the access token.

    The two tokens are left out of `repr()` so that a stray `log.debug("%r", tokens)` or a
    traceback never shows them.
    """

    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)
    expires_at: datetime
    scope: str = ""

    def __post_init__(self) -> None:
        if self.expires_at.tzinfo is None:
            raise ValueError("Tokens.expires_at must be timezone-aware")

    def expires_within(self, margin: timedelta, now: datetime) -> bool:
        """True when the access token expires within `margin` of `now` (or already has)."""
        return self.expires_at - now <= margin

    @classmethod
    def from_token_response(
        cls, data: Mapping[str, Any], now: datetime, previous_refresh_token: str | None = None
    ) -> Tokens:
        """Build tokens from a token-endpoint answer (FACTS.md §1 "token response").

        `now` is when the answer arrived (the caller's clock); `expires_in` is counted from it.
        A missing `refresh_token` keeps `previous_refresh_token` (Fortnox always sends one; the
        OAuth spec allows leaving it out). Raises ValueError when no refresh token is known.
        """
        refresh_token = data.get("refresh_token") or previous_refresh_token
        if not refresh_token:
            raise ValueError("token response carries no refresh_token")
        expires_in = data.get("expires_in")
        lifetime = (
            timedelta(seconds=int(expires_in))
            if expires_in is not None
            else DEFAULT_ACCESS_TOKEN_LIFETIME
        )
        scope = data.get("scope") or ""
        if isinstance(scope, list | tuple):  # oauthlib may hand the scope back as a list
            scope = " ".join(scope)
        return cls(
            access_token=str(data["access_token"]),
            refresh_token=str(refresh_token),
            expires_at=now + lifetime,
            scope=str(scope),
        )


class TokenStore(Protocol):
    """Where one integration's tokens live (the app keeps them encrypted in the database).

    `save` must be durable and atomic when it returns: the client calls it while holding the
    refresh lock, before the lock is released, so the next holder's `load` sees the rotated
    refresh token.
    """

    def load(self) -> Tokens | None: ...

    def save(self, tokens: Tokens) -> None: ...


class MemoryTokenStore:
    """A thread-safe in-memory `TokenStore`, for tests, the CLI and single-process use."""

    def __init__(self, tokens: Tokens | None = None) -> None:
        self._tokens = tokens
        self._mutex = threading.Lock()

    def load(self) -> Tokens | None:
        with self._mutex:
            return self._tokens

    def save(self, tokens: Tokens) -> None:
        with self._mutex:
            self._tokens = tokens


class LockFactory(Protocol):
    """Makes the context manager that guards one token refresh.

    Every worker (thread or process) of one integration must get a lock on the same underlying
    resource. Entering may block; it raises TimeoutError when the lock cannot be had in time.
    """

    def __call__(self) -> AbstractContextManager[object]: ...


class ThreadLock:
    """`LockFactory` for the in-process mode: one `threading.Lock` shared by every client
    instance handed this object. Never shared across processes."""

    def __init__(self, timeout: float = 60.0) -> None:
        self._lock = threading.Lock()
        self._timeout = timeout

    @contextmanager
    def _held(self) -> Iterator[None]:
        if not self._lock.acquire(timeout=self._timeout):
            raise TimeoutError("timed out waiting for the Fortnox token lock")
        try:
            yield
        finally:
            self._lock.release()

    def __call__(self) -> AbstractContextManager[object]:
        return self._held()


class RedisLock:
    """`LockFactory` shared by every process using the same Redis and `key`.

    Built on redis-py's Lua-based lock. `timeout` is the lock's time to live, so a worker that
    dies while refreshing cannot block the integration forever; it must exceed the longest
    refresh (the client's token requests time out well before it). `blocking_timeout` is how
    long a worker waits for another's refresh before giving up with TimeoutError. A lock that
    expired before release is logged by redis-py, not raised: the refresh it guarded has
    already been saved.
    """

    def __init__(
        self,
        redis: Redis,
        key: str,
        timeout: float = 60.0,
        blocking_timeout: float = 75.0,
    ) -> None:
        self._redis = redis
        self.key = key
        self._timeout = timeout
        self._blocking_timeout = blocking_timeout

    @contextmanager
    def _held(self) -> Iterator[None]:
        lock = self._redis.lock(
            self.key,
            timeout=self._timeout,
            sleep=0.05,
            blocking_timeout=self._blocking_timeout,
            raise_on_release_error=False,
        )
        if not lock.acquire():
            raise TimeoutError(f"timed out waiting for the Redis lock {self.key!r}")
        try:
            yield
        finally:
            lock.release()

    def __call__(self) -> AbstractContextManager[object]:
        return self._held()


# --- Encryption at rest --------------------------------------------------------------------

Key = str | bytes
KeyOrKeys = Key | Sequence[Key]


def _fernet(key: KeyOrKeys) -> Fernet | MultiFernet:
    if isinstance(key, str | bytes):
        return Fernet(key)
    keys = list(key)
    if not keys:
        raise ValueError("at least one Fernet key is needed")
    return MultiFernet([Fernet(k) for k in keys])


def encrypt_tokens(tokens: Tokens, key: KeyOrKeys) -> str:
    """Encrypt `tokens` with Fernet for storage; returns URL-safe base64 text.

    `key` is one Fernet key (32 url-safe base64 bytes, `Fernet.generate_key()`) or a list of
    keys, newest first: the first encrypts, all decrypt (MultiFernet), so keys can be rotated.
    """
    payload = json.dumps(
        {
            "access_token": tokens.access_token,
            "refresh_token": tokens.refresh_token,
            "expires_at": tokens.expires_at.astimezone(UTC).isoformat(),
            "scope": tokens.scope,
        },
        separators=(",", ":"),
    ).encode()
    return _fernet(key).encrypt(payload).decode("ascii")


def decrypt_tokens(blob: str, key: KeyOrKeys) -> Tokens:
    """Decrypt what `encrypt_tokens` produced.

    Raises `cryptography.fernet.InvalidToken` when no given key opens `blob` (wrong key or
    tampered data).
    """
    data = json.loads(_fernet(key).decrypt(blob.encode("ascii")))
    return Tokens(
        access_token=data["access_token"],
        refresh_token=data["refresh_token"],
        expires_at=datetime.fromisoformat(data["expires_at"]),
        scope=data.get("scope", ""),
    )


def rotate_encrypted_tokens(blob: str, keys: Sequence[Key]) -> str:
    """Re-encrypt `blob` under the first of `keys` (newest first); any of them may open it.

    Raises `cryptography.fernet.InvalidToken` when none does.
    """
    return MultiFernet([Fernet(k) for k in keys]).rotate(blob.encode("ascii")).decode("ascii")


Clock = Callable[[], datetime]


def utcnow() -> datetime:
    """The default clock: an aware UTC datetime."""
    return datetime.now(UTC)
