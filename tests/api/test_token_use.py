"""An API token's last use is saved on any request, a GET too, at most once a minute."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import event, select, update

from app.auth.models import ApiToken
from app.extensions import db


def saved_last_use(token_id: int) -> datetime | None:
    """What the database holds, read outside the request's session."""
    with db.engine.connect() as conn:
        return conn.scalar(select(ApiToken.last_used_at).where(ApiToken.id == token_id))


def save_last_use(token_id: int, moment: datetime) -> None:
    with db.engine.begin() as conn:
        conn.execute(update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=moment))


def test_a_get_saves_the_tokens_last_use_once_a_minute_at_most(api):
    client = api("technician")
    token_id = db.session.scalar(select(ApiToken.id).where(ApiToken.user_id == client.user.id))
    assert saved_last_use(token_id) is None
    writes: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):  # noqa: ARG001
        if statement.lstrip().upper().startswith("UPDATE API_TOKENS"):
            writes.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        started = datetime.now(UTC)
        for _ in range(3):
            assert client.get("/customers").status_code == 200
    finally:
        event.remove(db.engine, "before_cursor_execute", count)

    first = saved_last_use(token_id)
    assert first is not None and started <= first <= datetime.now(UTC)
    assert len(writes) == 1  # the first GET only

    half_a_minute_ago = datetime.now(UTC) - timedelta(seconds=30)
    save_last_use(token_id, half_a_minute_ago)
    assert client.get("/customers").status_code == 200
    assert saved_last_use(token_id) == half_a_minute_ago

    two_minutes_ago = datetime.now(UTC) - timedelta(minutes=2)
    save_last_use(token_id, two_minutes_ago)
    assert client.get("/customers").status_code == 200
    later = saved_last_use(token_id)
    assert later is not None and later > two_minutes_ago + timedelta(minutes=1)


def test_a_write_within_the_minute_does_not_stamp_the_token_again(api):
    client = api("office")
    token_id = db.session.scalar(select(ApiToken.id).where(ApiToken.user_id == client.user.id))
    recent = datetime.now(UTC) - timedelta(seconds=10)
    save_last_use(token_id, recent)

    assert client.post("/customers", json={"name": "Stämpel AB"}).status_code == 201

    assert saved_last_use(token_id) == recent
