"""The words for order kinds and statuses, written once.

Swedish, as Fortnox documents print them whatever the user's language (mapping.py uses these
untranslated), and the msgids of what the pages show (`OrderKind.label`, `OrderStatus.label`
in app/orders/models.py translate them). Standard library only, so the pure mapping may import
it; keyed by the enums' values, which are plain strings.
"""

from __future__ import annotations

from collections.abc import Mapping


def N_(message: str) -> str:
    """Marks a msgid for the catalogue (one of pybabel's default keywords); no translation."""
    return message


# fortnox-settings.md §2: the prefix of our order number per kind (SO 1001, AO 1042, FO 1003).
KIND_PREFIX: Mapping[str, str] = {"service": "SO", "work": "AO", "sales": "FO"}
KIND_WORD: Mapping[str, str] = {
    "service": N_("Serviceorder"),
    "work": N_("Arbetsorder"),
    "sales": N_("Försäljningsorder"),
}
STATUS_WORD: Mapping[str, str] = {
    "draft": N_("Utkast"),
    "in_progress": N_("Pågående"),
    "ready": N_("Klar för fakturering"),
    "sent": N_("Skickad"),
    "invoiced": N_("Fakturerad"),
    "cancelled": N_("Makulerad"),
}
