"""Optimistic locking on the web forms (issue #17; docs/decisions.md "Concurrent edits").

An order, a customer and an article carry a version (SQLAlchemy's ``version_id_col``). Their
edit forms carry it in a hidden ``version`` field; a save from a page older than the record is
answered with the form again (409): what the user typed kept, the form now at the current
version (saving again overwrites, knowingly), and beside it "Sparat av någon annan", the saved
value of every field that differs from what was typed. When nothing typed differs from what is
saved, the save goes on: it overwrites no one's work."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from flask_babel import gettext as _


@dataclass(frozen=True)
class SavedValue:
    """A field whose saved value differs from what the user typed: its form name, label, and
    the saved value as lines of text."""

    name: str
    label: str
    lines: list[str]


def posted_version(raw: Any) -> int | None:
    """The version a form was made from (None: missing or not a whole number)."""
    text = str(raw or "").strip()
    return int(text) if text.isascii() and text.isdigit() and len(text) < 10 else None


def is_stale(raw: Any, current: int) -> bool:
    """Whether a form posted with version ``raw`` was made before the record's ``current``
    version. A form without a version counts as stale: every edit page renders one."""
    return posted_version(raw) != current


def shown(value: Any) -> str:
    """A saved value as the conflict list shows it."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return _("Ja") if value else _("Nej")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return f"{value:f}"
    return str(value)


def differing(
    form: Any,
    fields: Iterable[tuple[str, Any, Any, Any]],
    labels: dict[str, str] | None = None,
) -> list[SavedValue]:
    """``fields``: (form field name, typed value, saved value, what to show of the saved value:
    one value or a list of lines). Those whose typed and saved values differ, labelled as on
    the form (``labels`` for names the form has no field of)."""
    result = []
    for name, typed, saved, display in fields:
        if typed == saved:
            continue
        if labels and name in labels:
            label = labels[name]
        else:
            label = str(form[name].label.text) if name in form else name
        lines = display if isinstance(display, list) else [display]
        result.append(SavedValue(name, label, [shown(v) for v in lines] or [_("Inga")]))
    return result
