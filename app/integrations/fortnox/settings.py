"""The settings of one Fortnox integration (spec/fortnox-settings.md §3, §4, §7, §8).

Declared once: every setting is a field of ``FortnoxSettings``, in the spec's order, made with
``setting(default, label, help, group=…)``, which records its Swedish label (exactly as in the
spec), a one-line Swedish help text, its group (the spec's section) and its rules in the field's
metadata. Everything else is derived from those fields: ``SETTING_DEFINITIONS`` (the type comes
from the annotation), ``DEFINITIONS_BY_KEY``, ``GROUPS``, the validation in ``from_dict`` /
``updated``, the settings page and its form (``app/integrations/forms.py``) and the settings
API's request and response schemas in the OpenAPI document (``app/api/integrations.py``). Adding
a setting is adding a field here. The database stores ``FortnoxSettings.to_dict()`` as JSON.

Value types (by annotation):
- ``bool``: JSON ``true``/``false`` only.
- ``int``: a non-negative integer (``null`` or ``""`` mean empty, i.e. 0 — spec §3 "0 or empty").
- ``str``: a text (``null`` means empty). Codes are trimmed; free texts (``strip=False``) are
  kept as typed. ``max_length`` bounds it; ``choices`` lists the allowed codes (upper case; the
  value is upper-cased first).
- ``tuple[str, ...]`` (type ``"list"``): ``;``-separated values (``"12;13;14"``, the form the
  admin types) or a JSON list of texts. Stored as a tuple of trimmed, non-empty, distinct
  values; ``to_dict`` writes the canonical ``"12;13;14"`` text.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal, Self, TypeVar

from app.integrations.fortnox import limits

SettingType = Literal["bool", "str", "int", "list"]
SettingValue = bool | str | int | tuple[str, ...]
V = TypeVar("V", bool, int, str, tuple[str, ...])

# The Python type of a field -> its setting type. A field of any other type is refused.
_SETTING_TYPES: Mapping[object, SettingType] = {
    bool: "bool",
    int: "int",
    str: "str",
    tuple[str, ...]: "list",
}

# The groups of the settings page, in order: (id, Swedish title, section of the spec).
_GROUP_TITLES: tuple[tuple[str, str, str], ...] = (
    ("rows", "Orderrader", "§3"),
    ("header", "Orderhuvud", "§4"),
    ("sending", "Sändning, fakturering och status", "§7"),
    ("sync", "Synkning av register", "§8"),
)


@dataclass(frozen=True, slots=True)
class SettingGroup:
    """A group of settings on the settings page: one section of fortnox-settings.md."""

    id: str
    title: str
    section: str
    keys: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SettingDefinition:
    """One setting as derived from its ``FortnoxSettings`` field: its stable key, Swedish label
    and help, type, default and group, and its rules.

    ``depends_on`` names the boolean setting without which this one has no effect (the page may
    grey it out); ``strip`` says whether a text value is trimmed (codes) or kept as typed;
    ``multiline`` asks the page for a text area; ``max_length`` and ``choices`` restrict a text
    and ``what`` names, in Swedish, what the text is in their error messages.
    """

    key: str
    label: str
    help: str
    type: SettingType
    default: SettingValue
    group: str
    depends_on: str | None = None
    strip: bool = True
    multiline: bool = False
    max_length: int | None = None
    choices: frozenset[str] | None = None
    what: str = ""


def setting(
    default: V,
    label: str,
    help: str,
    *,
    group: str,
    depends_on: str | None = None,
    strip: bool = True,
    multiline: bool = False,
    max_length: int | None = None,
    choices: frozenset[str] | None = None,
    what: str = "",
) -> V:
    """Declare one setting: a dataclass field with ``default`` and the rest as its metadata
    (see ``SettingDefinition``). Checked when the definitions are derived (``definitions_of``)."""
    metadata = {
        "label": label,
        "help": help,
        "group": group,
        "depends_on": depends_on,
        "strip": strip,
        "multiline": multiline,
        "max_length": max_length,
        "choices": choices,
        "what": what,
    }
    return dataclasses.field(default=default, metadata=metadata)


class SettingError(ValueError):
    """A settings dictionary could not be accepted.

    ``key`` is the first offending key (in definition order, unknown keys last), ``message`` a
    Swedish sentence about it, and ``problems`` every offending key with its Swedish message,
    so an API can report all of them at once (``{"fields": problems}``).
    """

    def __init__(self, key: str, message: str, problems: Mapping[str, str] | None = None):
        super().__init__(f"{key}: {message}")
        self.key = key
        self.message = message
        self.problems: dict[str, str] = dict(problems) if problems else {key: message}


class UnknownSettingError(SettingError):
    """The dictionary has a key that is not a Fortnox setting."""


class InvalidSettingError(SettingError):
    """A known setting has a value of the wrong type or out of range."""


@dataclass(frozen=True, slots=True)
class FortnoxSettings:
    """Every setting of one Fortnox integration, typed, with the spec's defaults.

    Build from stored or submitted data with ``from_dict``; the constructor itself does no
    validation (use it in code and tests with literal values). ``;``-lists are tuples.
    """

    # §3 Row settings
    sort_by_actions: bool = setting(
        False,
        "Sortera på åtgärder",
        "Grupperar raderna per datum: datumrad, dagens åtgärder och sedan dagens artiklar.",
        group="rows",
    )
    include_action_date: bool = setting(
        False,
        "Ta med datum på åtgärd",
        "Varje åtgärdsrad börjar med sitt datum, t.ex. 2026-11-20: Bytt filter.",
        group="rows",
    )
    include_description_and_cause: bool = setting(
        False,
        "Ta med beskrivning och fel/orsak",
        "Lägger Beskrivning och Fel/orsak som textrader överst på ordern.",
        group="rows",
    )
    include_service_object_on_row: bool = setting(
        False,
        "Ta med serviceobjekt på orderrad",
        "Grupperar artikelraderna per serviceobjekt under en rubrikrad med serviceobjektet.",
        group="rows",
    )
    include_machine_number: bool = setting(
        False,
        "Ta med serviceobjektets maskinnummer",
        "Serviceobjektets rubrikrad får även maskinnumret.",
        group="rows",
        depends_on="include_service_object_on_row",
    )
    serial_number_max_chars: int = setting(
        0,
        "Maximalt antal tecken vid visning av serviceobjektets serienummer",
        "Visar bara så många tecken av serienumret; 0 eller tomt visar hela.",
        group="rows",
        depends_on="include_service_object_on_row",
    )
    service_object_prefix: str = setting(
        "",
        "Serviceobjektsprefix",
        "Text före serviceobjektets namn, t.ex. ”Maskin :” ger ”Maskin :ATLAS COPCO GA 10”.",
        group="rows",
        depends_on="include_service_object_on_row",
        strip=False,
    )
    include_service_object_comment: bool = setting(
        False,
        "Ta med serviceobjektskommentar",
        "Serviceobjektets kommentar följer som textrad direkt efter dess rubrikrad.",
        group="rows",
        depends_on="include_service_object_on_row",
    )
    order_text_on_top: bool = setting(
        False,
        "Lägg ordertexten överst",
        "Ordertexten läggs som textrader överst i stället för i ordertextrutan (utan formatering).",
        group="rows",
    )
    set_prices_on_rows: bool = setting(
        False,
        "Sätt priser på orderrader",
        "Skickar radens pris härifrån i stället för att låta Fortnox sätta artikelns pris.",
        group="rows",
    )
    no_price_article_numbers: tuple[str, ...] = setting(
        (),
        "Sätt inte pris för artikelnummer",
        "Artikelnummer vars pris bara sätts i Fortnox, åtskilda med semikolon: 12;13;14.",
        group="rows",
        depends_on="set_prices_on_rows",
    )
    include_technician_on_rows: bool = setting(
        False,
        "Ta med teknikerns namn på orderrader",
        "Artikelradens text slutar med ” - <teknikerns namn>”.",
        group="rows",
    )
    sort_articles_by_date: bool = setting(
        False,
        "Sortera artiklar på datum",
        "Sorterar artikelraderna på datum.",
        group="rows",
    )
    sum_article_rows: bool = setting(
        False,
        "Summera artikelrader",
        "Slår ihop rader med samma artikel, pris, enhet och kostnadsställe till en rad.",
        group="rows",
    )
    ignore_sum_article_numbers: tuple[str, ...] = setting(
        (),
        "Ignorera summering av artikelrader för…",
        "Artikelnummer som aldrig summeras, åtskilda med semikolon: 12;13;14.",
        group="rows",
        depends_on="sum_article_rows",
    )
    exclude_hidden_articles: bool = setting(
        False,
        "Ta ej med gömda artiklar på order",
        "Artiklar markerade ”Dölj för inloggad kund och vid utskrift” skickas inte.",
        group="rows",
    )
    include_technician_on_action_summary: bool = setting(
        False,
        "Ta med teknikerns namn på åtgärdersummeringen",
        "Åtgärdsraderna slutar med teknikerns namn inom parentes.",
        group="rows",
    )
    user_cost_center_on_rows: bool = setting(
        False,
        "Ta med användarens kostnadsställe på rader",
        "Artikelraderna får radens kostnadsställe (normalt teknikerns).",
        group="rows",
    )
    ignore_cost_centers_on_rows: tuple[str, ...] = setting(
        (),
        "Ignorera kostnadsställen vid autoifyllning på artikelrader",
        "Kostnadsställen som aldrig sätts på artikelrader, åtskilda med semikolon: 12;13;14.",
        group="rows",
        depends_on="user_cost_center_on_rows",
    )
    # §4 Header settings
    order_text: str = setting(
        "",
        "Ordertext",
        "Text som följer med på samtliga ordrar som skickas till Fortnox.",
        group="header",
        strip=False,
        multiline=True,
    )
    summary_in_order_text: bool = setting(
        False,
        "Lägg en sammanfattning i ordertextrutan",
        "Ordertextrutan börjar med ordernummer, anläggning, utförandedatum och tekniker.",
        group="header",
    )
    description_in_order_text: bool = setting(
        False,
        "Lägg till beskrivning och fel/orsak i ordertextrutan",
        "Ordertextrutan får raderna Beskrivning och Fel/orsak, med radbrytningar.",
        group="header",
    )
    include_operating_hours_in_order_text: bool = setting(
        False,
        "Ta med serviceobjektens drifttid i ordertext",
        "Ordertextrutan får en rad per serviceobjekt med avläst drifttid.",
        group="header",
    )
    dont_send_order_number: bool = setting(
        False,
        "Skicka inte ordernummer",
        "Vårt ordernummer skickas inte alls; kundens ordernummer skickas fortfarande.",
        group="header",
    )
    order_number_to_your_order_number: bool = setting(
        False,
        "Flytta AO/SO:nr från Vår referens till Ert ordernummer",
        "Vårt ordernummer skickas i Ert ordernummer i stället för i Vår referens.",
        group="header",
    )
    assigned_as_our_reference: bool = setting(
        False,
        "Lägg tilldelad i vår referens",
        "Vår referens blir namnet på den som ordern är tilldelad.",
        group="header",
    )
    signer_as_our_reference: bool = setting(
        False,
        "Sätt signerad som vår referens",
        "Vår referens blir namnet på den som signerat ordern (går före tilldelad).",
        group="header",
    )
    contact_phone_in_your_reference: bool = setting(
        False,
        "Ta med kontaktpersons telefonnummer på er referens",
        "När Er referens är kontaktpersonen skickas även dess telefonnummer.",
        group="header",
    )
    orderer_as_your_reference: bool = setting(
        False,
        "Sätt beställare som er referens",
        "Er referens blir beställaren i stället för kontaktpersonen (om beställare är ifylld).",
        group="header",
    )
    include_comments: bool = setting(
        False,
        "Ta med kommentarer",
        "Orderns kommentarer skickas till Fortnox kommentarsfält (högst 1024 tecken).",
        group="header",
    )
    order_number_in_comment: bool = setting(
        False,
        "Ta med ordernummer i kommentar vid överföring till Fortnox",
        "Kommentarsfältet börjar med raden ”Order <vårt ordernummer>”.",
        group="header",
    )
    include_sales_order_status: bool = setting(
        False,
        "Ta med status på försäljningsorder",
        "Försäljningsordrar får en textrad överst med orderns status.",
        group="header",
    )
    include_facility_name: bool = setting(
        False,
        "Ta med anläggningsnamn",
        "En textrad överst med anläggningens namn.",
        group="header",
    )
    cost_center: str = setting(
        "",
        "Lägg till kostnadsställe",
        "Kostnadsställe för hela ordern; måste finnas och vara aktivt i Fortnox.",
        group="header",
        max_length=limits.COST_CENTER_CODE,
        what="en kostnadsställekod i Fortnox",
    )
    customer_name_as_delivery_name: bool = setting(
        False,
        "Sätt kundnamn i leveransnamn",
        "Leveransnamnet blir kundens namn i stället för anläggningens.",
        group="header",
    )
    customer_address_as_delivery_address: bool = setting(
        False,
        "Använd kundens adress som leveransadress",
        "Leveransadressen blir kundens adress i stället för anläggningens.",
        group="header",
    )
    internal_invoice_customer: str = setting(
        "",
        "Internfakturerad kund",
        "Fortnox kundnummer som ordrar för kunder i en annan undergrupp faktureras till.",
        group="header",
    )
    # §7 Sending, invoicing and status back
    create_invoice_directly: bool = setting(
        False,
        "Skapa faktura direkt",
        "Skickar som faktura i Fortnox; annars skapas en order.",
        group="sending",
    )
    send_invoice_after_sending: bool = setting(
        False,
        "Skicka fakturan direkt efter sändning",
        "Fakturan skickas från Fortnox till kunden direkt efter sändningen.",
        group="sending",
    )
    mark_invoiced_on_send: bool = setting(
        False,
        "Sätt som fakturerad vid sändning",
        "Ordern markeras fakturerad vid sändning, inte först när Fortnox skickat fakturan.",
        group="sending",
    )
    allow_send_before_ready: bool = setting(
        False,
        "Möjliggör sändning av order innan den är klar för fakturering",
        "Ordern kan skickas tidigare och skickas igen för att uppdatera samma dokument i Fortnox.",
        group="sending",
    )
    create_order_from_reference: bool = setting(
        False,
        "Skapa order från referens",
        "En ny order kan hämtas från ett ordernummer i Fortnox (Integrationsreferens).",
        group="sending",
    )
    send_time_report: bool = setting(
        False,
        "Skicka tidsrapport",
        "Åtgärdernas timmar rapporteras per tekniker och dag (kräver anställningsnummer).",
        group="sending",
    )
    time_report_cause_code: str = setting(
        "TID",
        "Orsakskod för tidsrapport",
        "Fortnox orsakskod för rapporterade timmar, t.ex. TID.",
        group="sending",
        depends_on="send_time_report",
        choices=limits.ATTENDANCE_CAUSE_CODES,
        what="Fortnox orsakskoder för närvaro",
    )
    attach_protocol: bool = setting(
        False,
        "Bifoga signerat serviceprotokoll",
        "Det signerade protokollet (PDF) bifogas dokumentet i Fortnox och följer med fakturan.",
        group="sending",
    )
    # §8 Register sync settings
    sync_updated_articles: bool = setting(
        False,
        "Synka uppdaterade artiklar",
        "En artikel som ändras på ena sidan uppdateras direkt på den andra.",
        group="sync",
    )
    sync_prices: bool = setting(
        False,
        "Synka priser",
        "Priser följer artiklarna åt båda hållen; artikelregistret säkerhetskopieras först.",
        group="sync",
    )
    sync_updated_customers: bool = setting(
        False,
        "Synka uppdaterade kunder",
        "Kunder som uppdateras skriver över motsvarande kund på andra sidan, alla fält.",
        group="sync",
    )
    disable_article_creation: bool = setting(
        False,
        "Inaktivera artikelskapande",
        "Artiklar som skapas eller ändras här skickas aldrig till Fortnox.",
        group="sync",
    )
    set_subgroup_on_sync: bool = setting(
        False,
        "Sätt undergrupp vid synkning",
        "Kunder som kommer från Fortnox får integrationens undergrupp.",
        group="sync",
    )
    customer_sync_tag: str = setting(
        "",
        "Kundtagg för synkning",
        "Bara kunder med denna tagg skickas till Fortnox.",
        group="sync",
    )

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        """Validate ``data`` and build settings from it; missing keys take their defaults.

        Raises ``UnknownSettingError`` for a key that is not a setting and
        ``InvalidSettingError`` for a value of the wrong type or out of range (see the module
        docstring for accepted values); the exception's ``problems`` lists every bad key.
        """
        return cls().updated(data)

    def updated(self, changes: Mapping[str, Any]) -> Self:
        """Return a copy with ``changes`` applied, validated as in ``from_dict``."""
        if not isinstance(changes, Mapping):
            raise InvalidSettingError("settings", "Inställningarna måste vara ett JSON-objekt.")
        values: dict[str, Any] = {}
        invalid: dict[str, str] = {}
        for definition in SETTING_DEFINITIONS:
            if definition.key in changes:
                try:
                    values[definition.key] = _coerce(definition, changes[definition.key])
                except ValueError as exc:
                    invalid[definition.key] = str(exc)
        unknown = {
            str(key): f"Okänd inställning: {key}."
            for key in changes
            if not isinstance(key, str) or key not in DEFINITIONS_BY_KEY
        }
        if invalid or unknown:
            problems = {**invalid, **dict(sorted(unknown.items()))}
            first_key, first_message = next(iter(problems.items()))
            error_class = InvalidSettingError if invalid else UnknownSettingError
            raise error_class(first_key, first_message, problems)
        return replace(self, **values)

    def to_dict(self) -> dict[str, bool | str | int]:
        """Every key in definition order, as JSON-ready values (lists as ``"12;13;14"``)."""
        result: dict[str, bool | str | int] = {}
        for definition in SETTING_DEFINITIONS:
            value = getattr(self, definition.key)
            result[definition.key] = ";".join(value) if isinstance(value, tuple) else value
        return result


def definitions_of(settings_class: type) -> tuple[SettingDefinition, ...]:
    """The definitions of a settings dataclass's fields, in field order.

    Raises ``TypeError`` for a field not made with ``setting()``, of a type other than
    ``bool``, ``int``, ``str`` or ``tuple[str, ...]``, with a default not of that type, in an
    unknown group, or depending on anything but an earlier boolean setting: a declaration
    mistake fails at import, not on the settings page.
    """
    hints = typing.get_type_hints(settings_class)
    groups = {group_id for group_id, _, _ in _GROUP_TITLES}
    found: dict[str, SettingDefinition] = {}
    for declared in dataclasses.fields(settings_class):
        name, meta = declared.name, declared.metadata
        if "label" not in meta:
            raise TypeError(f"{name}: declare every setting with setting(…)")
        setting_type = _SETTING_TYPES.get(hints[name])
        if setting_type is None:
            raise TypeError(f"{name}: a setting is bool, int, str or tuple[str, ...]")
        default = declared.default
        python_type = tuple if setting_type == "list" else hints[name]
        if not isinstance(default, bool | int | str | tuple) or type(default) is not python_type:
            raise TypeError(f"{name}: the default is not of type {setting_type}")
        definition = SettingDefinition(
            key=name,
            label=meta["label"],
            help=meta["help"],
            type=setting_type,
            default=default,
            group=meta["group"],
            depends_on=meta["depends_on"],
            strip=meta["strip"],
            multiline=meta["multiline"],
            max_length=meta["max_length"],
            choices=meta["choices"],
            what=meta["what"],
        )
        if definition.group not in groups:
            raise TypeError(f"{name}: unknown group {definition.group!r}")
        if definition.depends_on is not None and (
            definition.depends_on not in found or found[definition.depends_on].type != "bool"
        ):
            raise TypeError(f"{name}: depends_on must name an earlier boolean setting")
        found[name] = definition
    return tuple(found.values())


# Derived from the one declaration above: nothing to keep in step.
SETTING_DEFINITIONS: tuple[SettingDefinition, ...] = definitions_of(FortnoxSettings)

DEFINITIONS_BY_KEY: Mapping[str, SettingDefinition] = {d.key: d for d in SETTING_DEFINITIONS}

GROUPS: tuple[SettingGroup, ...] = tuple(
    SettingGroup(
        group_id,
        title,
        section,
        tuple(d.key for d in SETTING_DEFINITIONS if d.group == group_id),
    )
    for group_id, title, section in _GROUP_TITLES
)


def _coerce(definition: SettingDefinition, value: object) -> SettingValue:
    """Turn a submitted value into the setting's type, or raise ValueError (Swedish text)."""
    label = f"{definition.label} ({definition.key})"
    if definition.type == "bool":
        if not isinstance(value, bool):
            raise ValueError(f"{label} måste vara sant eller falskt.")
        return value
    if definition.type == "int":
        if value is None or value == "":
            return 0
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"{label} måste vara ett heltal, 0 eller större.")
        return value
    if definition.type == "list":
        return _coerce_list(label, value)
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise ValueError(f"{label} måste vara en text.")
    text = value.strip() if definition.strip else value
    if definition.max_length is not None and len(text) > definition.max_length:
        what = f" ({definition.what})" if definition.what else ""
        raise ValueError(f"{label} får vara högst {definition.max_length} tecken{what}.")
    if definition.choices is not None:
        text = text.upper()
        if text not in definition.choices:
            codes = ", ".join(sorted(definition.choices))
            what = definition.what or "värdena"
            raise ValueError(f"{label} måste vara en av {what}: {codes}.")
    return text


def _coerce_list(label: str, value: object) -> tuple[str, ...]:
    items: Iterable[object]
    if value is None:
        items = ()
    elif isinstance(value, str):
        items = value.split(";")
    elif isinstance(value, list | tuple):
        items = value
    else:
        raise ValueError(f"{label} måste vara värden åtskilda med semikolon, t.ex. 12;13;14.")
    result: list[str] = []
    for item in items:
        if not isinstance(item, str):
            raise ValueError(f"{label} måste vara värden åtskilda med semikolon, t.ex. 12;13;14.")
        if ";" in item and not isinstance(value, str):
            raise ValueError(f"{label}: ett värde i listan får inte innehålla semikolon.")
        cleaned = item.strip()
        if cleaned and cleaned not in result:
            result.append(cleaned)
    return tuple(result)
