"""Organisation settings: every known key with its default, read and written by key.

Services flush; the caller commits."""

from __future__ import annotations

from typing import Any

from app.auth.models import User
from app.extensions import db
from app.settings.models import OrganisationSetting

# Every setting an admin may change, with the value it has until someone does.
DEFAULTS: dict[str, Any] = {
    # "Visa priser på protokollet": article rows on the service protocol show à-price and sum.
    "protocol_show_prices": False,
}


def get_setting(key: str) -> Any:
    """The stored value of `key`, else its default. KeyError for a key not in DEFAULTS."""
    default = DEFAULTS[key]
    row = db.session.get(OrganisationSetting, key)
    return default if row is None else row.value


def set_setting(key: str, value: Any, *, by: User) -> None:
    """Store `value` for `key` (KeyError for an unknown key)."""
    if key not in DEFAULTS:
        raise KeyError(key)
    row = db.session.get(OrganisationSetting, key)
    if row is None:
        row = OrganisationSetting(key=key)
        db.session.add(row)
    row.value = value
    row.updated_by_id = by.id
    db.session.flush()


def protocol_shows_prices() -> bool:
    return bool(get_setting("protocol_show_prices"))
