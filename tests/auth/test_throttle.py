"""Sign-in throttling without lockout and without telling which addresses exist (issue #17)."""

from __future__ import annotations

import statistics
import time
from datetime import timedelta

import pytest

from app.auth import throttle
from app.db import utcnow
from tests.conftest import make_app

RIGHT = "secret-password"


class Clock:
    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self):  # type: ignore[no-untyped-def]
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(throttle, "now", fake)
    return fake


def _post(client, email: str, password: str, ip: str = "203.0.113.7"):  # type: ignore[no-untyped-def]
    return client.post(
        "/login",
        data={"email": email, "password": password},
        environ_base={"REMOTE_ADDR": ip},
    )


def test_waits_grow_exponentially_and_are_capped_at_a_minute():
    assert [throttle.wait_after(n) for n in range(0, 10)] == [0, 1, 2, 4, 8, 16, 32, 60, 60, 60]
    assert throttle.wait_after(10_000) == 60
    assert [throttle.wait_after(n, free=20) for n in (19, 20, 21, 22)] == [0, 0, 1, 2]


def test_each_failure_doubles_the_wait_and_the_right_password_gets_in_after_it(
    client, make_user, clock
):
    user = make_user("technician")
    for expected_wait in (1, 2, 4, 8, 16, 32, 60, 60):
        assert _post(client, user.email, "wrong-password").status_code == 401
        blocked = _post(client, user.email, RIGHT)
        assert blocked.status_code == 429
        assert blocked.headers["Retry-After"] == str(expected_wait)
        assert f"Vänta {expected_wait} sekund" in blocked.get_data(as_text=True)
        clock.advance(expected_wait - 0.5)
        assert _post(client, user.email, RIGHT).status_code == 429  # not yet
        clock.advance(0.5)
    # After the wait, the right password gets in; the count starts over.
    assert _post(client, user.email, RIGHT).status_code == 302
    client.post("/logout")
    assert _post(client, user.email, "wrong-password").status_code == 401
    assert _post(client, user.email, RIGHT).headers["Retry-After"] == "1"


def test_tries_while_waiting_are_not_looked_at_and_do_not_count(client, make_user, clock):
    user = make_user("office")
    _post(client, user.email, "wrong-password")
    for _ in range(20):  # hammering during the wait neither guesses nor prolongs it
        assert _post(client, user.email, "wrong-again").status_code == 429
    clock.advance(1)
    assert _post(client, user.email, RIGHT).status_code == 302


def test_a_named_user_is_never_locked_out_from_another_address(client, make_user, clock):
    user = make_user("admin")
    for _ in range(15):  # an attacker somewhere else
        _post(client, user.email, "guess", ip="198.51.100.66")
        clock.advance(61)
    assert _post(client, user.email, RIGHT, ip="203.0.113.7").status_code == 302


def test_an_office_behind_one_address_is_slowed_never_locked(app, client, make_user, clock):
    office_ip = "192.0.2.10"
    colleague = make_user("technician")
    # Many failed sign-ins of other people from the office's one address.
    for n in range(19):
        assert _post(client, f"typo{n}@example.com", "x" * 9, ip=office_ip).status_code == 401
    assert _post(app.test_client(), colleague.email, RIGHT, ip=office_ip).status_code == 302
    # Past the free failures, the address as a whole waits a little — never more than 60 s.
    for n in range(19, 40):
        clock.advance(61)
        _post(client, f"typo{n}@example.com", "x" * 9, ip=office_ip)
    other = make_user("technician")
    response = _post(app.test_client(), other.email, RIGHT, ip=office_ip)
    assert response.status_code == 429
    wait = int(response.headers["Retry-After"])
    assert 0 < wait <= 60
    clock.advance(wait)
    assert _post(app.test_client(), other.email, RIGHT, ip=office_ip).status_code == 302


def test_failures_are_forgotten_after_the_window(client, make_user, clock):
    user = make_user("technician")
    for _ in range(5):
        _post(client, user.email, "wrong-password")
        clock.advance(61)
    clock.advance(15 * 60)
    _post(client, user.email, "wrong-password")
    assert _post(client, user.email, RIGHT).headers["Retry-After"] == "1"


def test_every_worker_sees_the_wait(client, make_user, clock):
    """Two app instances (two gunicorn workers) over one database share the count."""
    user = make_user("technician")
    assert _post(client, user.email, "wrong-password").status_code == 401
    other_worker = make_app().test_client()
    assert _post(other_worker, user.email, RIGHT).status_code == 429


def test_unknown_addresses_are_throttled_like_known_ones(client, clock):
    assert _post(client, "nobody@example.com", "wrong-password").status_code == 401
    assert _post(client, "nobody@example.com", "wrong-password").status_code == 429


def test_no_typed_address_is_stored(client, make_user, clock):
    from sqlalchemy import select

    from app.auth.models import LoginThrottle
    from app.extensions import db

    _post(client, "hemlig.person@example.com", "wrong-password")
    keys = db.session.scalars(select(LoginThrottle.key)).all()
    assert keys and all("hemlig" not in key for key in keys)


@pytest.mark.parametrize(
    "app_config", [{"PASSWORD_HASH_METHOD": "pbkdf2:sha256:200000"}], ids=["slow-hash"]
)
def test_sign_in_takes_as_long_for_an_unknown_address_as_for_a_known_one(
    app, make_user, app_config
):
    """With a real password hash (here PBKDF2 200 000 rounds), an unknown address must cost
    what a known one does: asserted as a ratio of the medians, never an absolute time."""
    user = make_user("technician")
    inactive = make_user("technician")
    inactive.active = False
    from app.extensions import db

    db.session.commit()
    client = app.test_client()

    def duration(email: str, n: int) -> float:
        # A client address per try: the throttle must not answer before the password check.
        started = time.perf_counter()
        response = _post(client, email, "wrong-password", ip=f"10.9.{n}.{len(email) % 250}")
        elapsed = time.perf_counter() - started
        assert response.status_code == 401
        return elapsed

    duration("warm-up@example.com", 99)  # the dummy hash is made once per process
    known, unknown, not_active = [], [], []
    for n in range(5):
        known.append(duration(user.email, n))
        unknown.append(duration(f"nobody{n}@example.com", n))
        not_active.append(duration(inactive.email, n))
    ratio = statistics.median(unknown) / statistics.median(known)
    assert 0.5 <= ratio <= 2, (known, unknown)
    ratio = statistics.median(not_active) / statistics.median(known)
    assert 0.5 <= ratio <= 2, (known, not_active)
