"""Locale and time: the signed-in user's language (else Swedish), and the organisation's time
zone (BABEL_DEFAULT_TIMEZONE, Europe/Stockholm) for every date that defaults to "today".

Timestamps are stored in UTC; pages show them in the organisation's time through the `dt`
template filter (Flask-Babel's `format_datetime`, which converts to BABEL_DEFAULT_TIMEZONE)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from flask import current_app, has_app_context
from flask_login import current_user

ORGANISATION_TIMEZONE = "Europe/Stockholm"


def select_locale() -> str:
    languages = current_app.config["LANGUAGES"]
    if current_user and current_user.is_authenticated and current_user.locale in languages:
        return current_user.locale
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def organisation_timezone() -> ZoneInfo:
    """Where the organisation works: BABEL_DEFAULT_TIMEZONE (Europe/Stockholm)."""
    name = current_app.config.get("BABEL_DEFAULT_TIMEZONE") if has_app_context() else None
    return ZoneInfo(name or ORGANISATION_TIMEZONE)


def utcnow() -> datetime:
    """The clock the dates below read (tests set it)."""
    return datetime.now(UTC)


def local_now() -> datetime:
    """Now in the organisation's time zone (aware)."""
    return utcnow().astimezone(organisation_timezone())


def local_today() -> date:
    """Today in the organisation's time zone: the default date of an action, an article row,
    a printed protocol… At 00:30 in Stockholm it is already the new day, while UTC is not."""
    return local_now().date()
