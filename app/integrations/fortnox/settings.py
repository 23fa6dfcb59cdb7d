"""The settings of one Fortnox integration (spec/fortnox-settings.md §3, §4, §7, §8).

Self-describing: ``SETTING_DEFINITIONS`` lists every key in the spec's order with its Swedish
label (exactly as in the spec), a one-line Swedish help text, its type, default and group, and
``GROUPS`` lists the groups (the spec's sections) in order. The settings page renders from
them, the JSON API (``GET/PUT /integrations/fortnox/settings``) validates with
``FortnoxSettings.from_dict`` and the database stores ``FortnoxSettings.to_dict()`` as JSON.

Value types:
- ``bool``: JSON ``true``/``false`` only.
- ``int``: a non-negative integer (``null`` or ``""`` mean empty, i.e. 0 — spec §3 "0 or empty").
- ``str``: a text (``null`` means empty). Codes are trimmed; free texts are kept as typed.
- ``list``: ``;``-separated values (``"12;13;14"``, the form the admin types) or a JSON list of
  texts. Stored on ``FortnoxSettings`` as a tuple of trimmed, non-empty, distinct values;
  ``to_dict`` writes the canonical ``"12;13;14"`` text.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal, Self

from app.integrations.fortnox import limits

SettingType = Literal["bool", "str", "int", "list"]
SettingValue = bool | str | int | tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SettingGroup:
    """A group of settings on the settings page: one section of fortnox-settings.md."""

    id: str
    title: str
    section: str
    keys: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SettingDefinition:
    """One setting: its stable key, Swedish label and help, type, default and group.

    ``depends_on`` names the boolean setting without which this one has no effect (the page may
    grey it out); ``strip`` says whether a text value is trimmed (codes) or kept as typed.
    """

    key: str
    label: str
    help: str
    type: SettingType
    default: SettingValue
    group: str
    depends_on: str | None = None
    strip: bool = True


def _bool(
    key: str, label: str, help: str, group: str, depends_on: str | None = None
) -> SettingDefinition:
    return SettingDefinition(key, label, help, "bool", False, group, depends_on)


# fortnox-settings.md §3, §4, §7, §8 — in the spec's order. Labels are copied verbatim.
SETTING_DEFINITIONS: tuple[SettingDefinition, ...] = (
    # §3 Row settings
    _bool(
        "sort_by_actions",
        "Sortera på åtgärder",
        "Grupperar raderna per datum: datumrad, dagens åtgärder och sedan dagens artiklar.",
        "rows",
    ),
    _bool(
        "include_action_date",
        "Ta med datum på åtgärd",
        "Varje åtgärdsrad börjar med sitt datum, t.ex. 2026-11-20: Bytt filter.",
        "rows",
    ),
    _bool(
        "include_description_and_cause",
        "Ta med beskrivning och fel/orsak",
        "Lägger Beskrivning och Fel/orsak som textrader överst på ordern.",
        "rows",
    ),
    _bool(
        "include_service_object_on_row",
        "Ta med serviceobjekt på orderrad",
        "Grupperar artikelraderna per serviceobjekt under en rubrikrad med serviceobjektet.",
        "rows",
    ),
    _bool(
        "include_machine_number",
        "Ta med serviceobjektets maskinnummer",
        "Serviceobjektets rubrikrad får även maskinnumret.",
        "rows",
        "include_service_object_on_row",
    ),
    SettingDefinition(
        "serial_number_max_chars",
        "Maximalt antal tecken vid visning av serviceobjektets serienummer",
        "Visar bara så många tecken av serienumret; 0 eller tomt visar hela.",
        "int",
        0,
        "rows",
        "include_service_object_on_row",
    ),
    SettingDefinition(
        "service_object_prefix",
        "Serviceobjektsprefix",
        "Text före serviceobjektets namn, t.ex. ”Maskin :” ger ”Maskin :ATLAS COPCO GA 10”.",
        "str",
        "",
        "rows",
        "include_service_object_on_row",
        strip=False,
    ),
    _bool(
        "include_service_object_comment",
        "Ta med serviceobjektskommentar",
        "Serviceobjektets kommentar följer som textrad direkt efter dess rubrikrad.",
        "rows",
        "include_service_object_on_row",
    ),
    _bool(
        "order_text_on_top",
        "Lägg ordertexten överst",
        "Ordertexten läggs som textrader överst i stället för i ordertextrutan (utan formatering).",
        "rows",
    ),
    _bool(
        "set_prices_on_rows",
        "Sätt priser på orderrader",
        "Skickar radens pris härifrån i stället för att låta Fortnox sätta artikelns pris.",
        "rows",
    ),
    SettingDefinition(
        "no_price_article_numbers",
        "Sätt inte pris för artikelnummer",
        "Artikelnummer vars pris bara sätts i Fortnox, åtskilda med semikolon: 12;13;14.",
        "list",
        (),
        "rows",
        "set_prices_on_rows",
    ),
    _bool(
        "include_technician_on_rows",
        "Ta med teknikerns namn på orderrader",
        "Artikelradens text slutar med ” - <teknikerns namn>”.",
        "rows",
    ),
    _bool(
        "sort_articles_by_date",
        "Sortera artiklar på datum",
        "Sorterar artikelraderna på datum.",
        "rows",
    ),
    _bool(
        "sum_article_rows",
        "Summera artikelrader",
        "Slår ihop rader med samma artikel, pris, enhet och kostnadsställe till en rad.",
        "rows",
    ),
    SettingDefinition(
        "ignore_sum_article_numbers",
        "Ignorera summering av artikelrader för…",
        "Artikelnummer som aldrig summeras, åtskilda med semikolon: 12;13;14.",
        "list",
        (),
        "rows",
        "sum_article_rows",
    ),
    _bool(
        "exclude_hidden_articles",
        "Ta ej med gömda artiklar på order",
        "Artiklar markerade ”Dölj för inloggad kund och vid utskrift” skickas inte.",
        "rows",
    ),
    _bool(
        "include_technician_on_action_summary",
        "Ta med teknikerns namn på åtgärdersummeringen",
        "Åtgärdsraderna slutar med teknikerns namn inom parentes.",
        "rows",
    ),
    _bool(
        "user_cost_center_on_rows",
        "Ta med användarens kostnadsställe på rader",
        "Artikelraderna får radens kostnadsställe (normalt teknikerns).",
        "rows",
    ),
    SettingDefinition(
        "ignore_cost_centers_on_rows",
        "Ignorera kostnadsställen vid autoifyllning på artikelrader",
        "Kostnadsställen som aldrig sätts på artikelrader, åtskilda med semikolon: 12;13;14.",
        "list",
        (),
        "rows",
        "user_cost_center_on_rows",
    ),
    # §4 Header settings
    SettingDefinition(
        "order_text",
        "Ordertext",
        "Text som följer med på samtliga ordrar som skickas till Fortnox.",
        "str",
        "",
        "header",
        strip=False,
    ),
    _bool(
        "summary_in_order_text",
        "Lägg en sammanfattning i ordertextrutan",
        "Ordertextrutan börjar med ordernummer, anläggning, utförandedatum och tekniker.",
        "header",
    ),
    _bool(
        "description_in_order_text",
        "Lägg till beskrivning och fel/orsak i ordertextrutan",
        "Ordertextrutan får raderna Beskrivning och Fel/orsak, med radbrytningar.",
        "header",
    ),
    _bool(
        "include_operating_hours_in_order_text",
        "Ta med serviceobjektens drifttid i ordertext",
        "Ordertextrutan får en rad per serviceobjekt med avläst drifttid.",
        "header",
    ),
    _bool(
        "dont_send_order_number",
        "Skicka inte ordernummer",
        "Vårt ordernummer skickas inte alls; kundens ordernummer skickas fortfarande.",
        "header",
    ),
    _bool(
        "order_number_to_your_order_number",
        "Flytta AO/SO:nr från Vår referens till Ert ordernummer",
        "Vårt ordernummer skickas i Ert ordernummer i stället för i Vår referens.",
        "header",
    ),
    _bool(
        "assigned_as_our_reference",
        "Lägg tilldelad i vår referens",
        "Vår referens blir namnet på den som ordern är tilldelad.",
        "header",
    ),
    _bool(
        "signer_as_our_reference",
        "Sätt signerad som vår referens",
        "Vår referens blir namnet på den som signerat ordern (går före tilldelad).",
        "header",
    ),
    _bool(
        "contact_phone_in_your_reference",
        "Ta med kontaktpersons telefonnummer på er referens",
        "När Er referens är kontaktpersonen skickas även dess telefonnummer.",
        "header",
    ),
    _bool(
        "orderer_as_your_reference",
        "Sätt beställare som er referens",
        "Er referens blir beställaren i stället för kontaktpersonen (om beställare är ifylld).",
        "header",
    ),
    _bool(
        "include_comments",
        "Ta med kommentarer",
        "Orderns kommentarer skickas till Fortnox kommentarsfält (högst 1024 tecken).",
        "header",
    ),
    _bool(
        "order_number_in_comment",
        "Ta med ordernummer i kommentar vid överföring till Fortnox",
        "Kommentarsfältet börjar med raden ”Order <vårt ordernummer>”.",
        "header",
    ),
    _bool(
        "include_sales_order_status",
        "Ta med status på försäljningsorder",
        "Försäljningsordrar får en textrad överst med orderns status.",
        "header",
    ),
    _bool(
        "include_facility_name",
        "Ta med anläggningsnamn",
        "En textrad överst med anläggningens namn.",
        "header",
    ),
    SettingDefinition(
        "cost_center",
        "Lägg till kostnadsställe",
        "Kostnadsställe för hela ordern; måste finnas och vara aktivt i Fortnox.",
        "str",
        "",
        "header",
    ),
    _bool(
        "customer_name_as_delivery_name",
        "Sätt kundnamn i leveransnamn",
        "Leveransnamnet blir kundens namn i stället för anläggningens.",
        "header",
    ),
    _bool(
        "customer_address_as_delivery_address",
        "Använd kundens adress som leveransadress",
        "Leveransadressen blir kundens adress i stället för anläggningens.",
        "header",
    ),
    SettingDefinition(
        "internal_invoice_customer",
        "Internfakturerad kund",
        "Fortnox kundnummer som ordrar för kunder i en annan undergrupp faktureras till.",
        "str",
        "",
        "header",
    ),
    # §7 Sending, invoicing and status back
    _bool(
        "create_invoice_directly",
        "Skapa faktura direkt",
        "Skickar som faktura i Fortnox; annars skapas en order.",
        "sending",
    ),
    _bool(
        "send_invoice_after_sending",
        "Skicka fakturan direkt efter sändning",
        "Fakturan skickas från Fortnox till kunden direkt efter sändningen.",
        "sending",
    ),
    _bool(
        "mark_invoiced_on_send",
        "Sätt som fakturerad vid sändning",
        "Ordern markeras fakturerad vid sändning, inte först när Fortnox skickat fakturan.",
        "sending",
    ),
    _bool(
        "allow_send_before_ready",
        "Möjliggör sändning av order innan den är klar för fakturering",
        "Ordern kan skickas tidigare och skickas igen för att uppdatera samma dokument i Fortnox.",
        "sending",
    ),
    _bool(
        "create_order_from_reference",
        "Skapa order från referens",
        "En ny order kan hämtas från ett ordernummer i Fortnox (Integrationsreferens).",
        "sending",
    ),
    _bool(
        "send_time_report",
        "Skicka tidsrapport",
        "Åtgärdernas timmar rapporteras per tekniker och dag (kräver anställningsnummer).",
        "sending",
    ),
    SettingDefinition(
        "time_report_cause_code",
        "Orsakskod för tidsrapport",
        "Fortnox orsakskod för rapporterade timmar, t.ex. TID.",
        "str",
        "TID",
        "sending",
        "send_time_report",
    ),
    _bool(
        "attach_protocol",
        "Bifoga signerat serviceprotokoll",
        "Det signerade protokollet (PDF) bifogas dokumentet i Fortnox och följer med fakturan.",
        "sending",
    ),
    # §8 Register sync settings
    _bool(
        "sync_updated_articles",
        "Synka uppdaterade artiklar",
        "En artikel som ändras på ena sidan uppdateras direkt på den andra.",
        "sync",
    ),
    _bool(
        "sync_prices",
        "Synka priser",
        "Priser följer artiklarna åt båda hållen; artikelregistret säkerhetskopieras först.",
        "sync",
    ),
    _bool(
        "sync_updated_customers",
        "Synka uppdaterade kunder",
        "Kunder som uppdateras skriver över motsvarande kund på andra sidan, alla fält.",
        "sync",
    ),
    _bool(
        "disable_article_creation",
        "Inaktivera artikelskapande",
        "Artiklar som skapas eller ändras här skickas aldrig till Fortnox.",
        "sync",
    ),
    _bool(
        "set_subgroup_on_sync",
        "Sätt undergrupp vid synkning",
        "Kunder som kommer från Fortnox får integrationens undergrupp.",
        "sync",
    ),
    SettingDefinition(
        "customer_sync_tag",
        "Kundtagg för synkning",
        "Bara kunder med denna tagg skickas till Fortnox.",
        "str",
        "",
        "sync",
    ),
)

DEFINITIONS_BY_KEY: Mapping[str, SettingDefinition] = {d.key: d for d in SETTING_DEFINITIONS}

GROUPS: tuple[SettingGroup, ...] = tuple(
    SettingGroup(
        group_id,
        title,
        section,
        tuple(d.key for d in SETTING_DEFINITIONS if d.group == group_id),
    )
    for group_id, title, section in (
        ("rows", "Orderrader", "§3"),
        ("header", "Orderhuvud", "§4"),
        ("sending", "Sändning, fakturering och status", "§7"),
        ("sync", "Synkning av register", "§8"),
    )
)


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
    sort_by_actions: bool = False
    include_action_date: bool = False
    include_description_and_cause: bool = False
    include_service_object_on_row: bool = False
    include_machine_number: bool = False
    serial_number_max_chars: int = 0
    service_object_prefix: str = ""
    include_service_object_comment: bool = False
    order_text_on_top: bool = False
    set_prices_on_rows: bool = False
    no_price_article_numbers: tuple[str, ...] = ()
    include_technician_on_rows: bool = False
    sort_articles_by_date: bool = False
    sum_article_rows: bool = False
    ignore_sum_article_numbers: tuple[str, ...] = ()
    exclude_hidden_articles: bool = False
    include_technician_on_action_summary: bool = False
    user_cost_center_on_rows: bool = False
    ignore_cost_centers_on_rows: tuple[str, ...] = ()
    # §4 Header settings
    order_text: str = ""
    summary_in_order_text: bool = False
    description_in_order_text: bool = False
    include_operating_hours_in_order_text: bool = False
    dont_send_order_number: bool = False
    order_number_to_your_order_number: bool = False
    assigned_as_our_reference: bool = False
    signer_as_our_reference: bool = False
    contact_phone_in_your_reference: bool = False
    orderer_as_your_reference: bool = False
    include_comments: bool = False
    order_number_in_comment: bool = False
    include_sales_order_status: bool = False
    include_facility_name: bool = False
    cost_center: str = ""
    customer_name_as_delivery_name: bool = False
    customer_address_as_delivery_address: bool = False
    internal_invoice_customer: str = ""
    # §7 Sending, invoicing and status back
    create_invoice_directly: bool = False
    send_invoice_after_sending: bool = False
    mark_invoiced_on_send: bool = False
    allow_send_before_ready: bool = False
    create_order_from_reference: bool = False
    send_time_report: bool = False
    time_report_cause_code: str = "TID"
    attach_protocol: bool = False
    # §8 Register sync settings
    sync_updated_articles: bool = False
    sync_prices: bool = False
    sync_updated_customers: bool = False
    disable_article_creation: bool = False
    set_subgroup_on_sync: bool = False
    customer_sync_tag: str = ""

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
    if definition.key == "cost_center" and len(text) > limits.COST_CENTER_CODE:
        raise ValueError(
            f"{label} får vara högst {limits.COST_CENTER_CODE} tecken "
            "(en kostnadsställekod i Fortnox)."
        )
    if definition.key == "time_report_cause_code":
        text = text.upper()
        if text not in limits.ATTENDANCE_CAUSE_CODES:
            codes = ", ".join(sorted(limits.ATTENDANCE_CAUSE_CODES))
            raise ValueError(f"{label} måste vara en av Fortnox orsakskoder för närvaro: {codes}.")
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
