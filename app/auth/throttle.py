"""Sign-in throttling without lockout (issue #17): after failed sign-ins, an exponential wait
per (e-mail address, client address) — 1 s, 2 s, 4 s … at most 60 s — before the next try is
even looked at; the right password after the wait gets in. A client address on its own gets
the same kind of wait only after many failures (`LOGIN_IP_FREE_FAILURES`), so password
spraying from one address slows down while an office behind one NAT is never locked out.

The counts live in the database (`login_throttles`), so every gunicorn worker sees them,
with or without Redis. Keys are hashes: neither the typed address nor anything typed into
the wrong field is stored. Callers commit."""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import case, delete, select, update
from sqlalchemy.exc import IntegrityError

from app.auth.models import LoginThrottle
from app.auth.services import normalise_email
from app.db import utcnow
from app.extensions import db

MAX_WAIT_SECONDS = 60


def now() -> datetime:
    """The clock (tests move it)."""
    return utcnow()


def wait_after(failures: int, free: int = 0) -> int:
    """Seconds to wait after `failures` failures in a row, the first `free` of them costing
    nothing: 1, 2, 4, … capped at MAX_WAIT_SECONDS."""
    counted = failures - free
    if counted <= 0:
        return 0
    return min(MAX_WAIT_SECONDS, 2 ** min(counted - 1, 16))


def _key(*parts: str) -> str:
    return hashlib.sha256("\x00".join(parts).encode("utf-8", "replace")).hexdigest()


@dataclass(frozen=True)
class Keys:
    pair: str  # this address from this client address
    client: str  # any address from this client address


def keys_for(email: str, client_address: str | None) -> Keys:
    ip = client_address or "-"
    return Keys(pair=_key("pair", normalise_email(email), ip), client=_key("client", ip))


def _window() -> timedelta:
    return timedelta(seconds=current_app.config.get("LOGIN_THROTTLE_WINDOW", 15 * 60))


def _ip_free() -> int:
    return int(current_app.config.get("LOGIN_IP_FREE_FAILURES", 20))


def seconds_to_wait(keys: Keys) -> int:
    """Whole seconds until a sign-in with these keys is looked at again; 0: go ahead."""
    current = now()
    ends = db.session.scalars(
        select(LoginThrottle.blocked_until).where(
            LoginThrottle.key.in_([keys.pair, keys.client]),
            LoginThrottle.blocked_until.is_not(None),
            LoginThrottle.blocked_until > current,
        )
    ).all()
    waits = [(until - current).total_seconds() for until in ends if until is not None]
    return max(1, math.ceil(max(waits))) if waits else 0


def record_failure(keys: Keys) -> int:
    """Count one failed sign-in for both keys and start their waits; returns the seconds the
    pair must now wait. Failures older than the window are forgotten (the count restarts)."""
    current = now()
    cutoff = current - _window()
    db.session.execute(
        delete(LoginThrottle).where(LoginThrottle.last_failure_at < current - timedelta(days=1))
    )
    waits = {}
    for key, free in ((keys.pair, 0), (keys.client, _ip_free())):
        failures = _increment(key, current, cutoff)
        wait = wait_after(failures, free)
        waits[key] = wait
        if wait:
            db.session.execute(
                update(LoginThrottle)
                .where(LoginThrottle.key == key)
                .values(blocked_until=current + timedelta(seconds=wait))
            )
    db.session.flush()
    return max(waits.values())


def _increment(key: str, current: datetime, cutoff: datetime) -> int:
    """Add one failure to `key`'s row (created when missing), atomically in the database so
    two workers counting at once both count; returns the new count."""
    for _attempt in range(2):
        result = db.session.execute(
            update(LoginThrottle)
            .where(LoginThrottle.key == key)
            .values(
                failures=case(
                    (LoginThrottle.last_failure_at < cutoff, 1),
                    else_=LoginThrottle.failures + 1,
                ),
                last_failure_at=current,
            )
            .returning(LoginThrottle.failures)
        )
        failures = result.scalar()
        if failures is not None:
            return int(failures)
        try:
            with db.session.begin_nested():
                db.session.add(LoginThrottle(key=key, failures=1, last_failure_at=current))
            return 1
        except IntegrityError:
            continue  # another worker created it meanwhile: count on its row
    return 1


def record_success(keys: Keys) -> None:
    """The pair's failures are forgotten (the client address's are not: an attacker must not
    reset them by signing in to an account of their own)."""
    db.session.execute(delete(LoginThrottle).where(LoginThrottle.key == keys.pair))
    db.session.flush()
