"""The mapping engine: an order snapshot plus settings becomes the exact Fortnox request body.

``map_order`` is a pure function (spec/fortnox-settings.md §1): no database, network or Flask;
the same input gives the same dict, built in the same key order, so ``json.dumps`` of it is
byte-identical between runs. It follows the spec's pipeline — filter, sum, order and group,
decorate, header, validate — and never lets Fortnox reject a text: long texts are split over
text rows or cut with ``…`` (each recorded as a warning). What would make the send wrong or
fail (an unknown cost center, a technician without employee number) is an error: a Swedish
sentence naming the fix; the send code refuses to send while there are errors.

Decisions where the spec is silent are written down in ``docs/mapping.md``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal
from zoneinfo import ZoneInfo

from app.integrations.fortnox import limits
from app.integrations.fortnox.settings import FortnoxSettings
from app.integrations.fortnox.snapshot import (
    ActionSnapshot,
    ArticleRowSnapshot,
    CommentSnapshot,
    Lookups,
    OrderSnapshot,
    ServiceObjectSnapshot,
    UserSnapshot,
)
from app.orders.words import KIND_PREFIX, KIND_WORD, STATUS_WORD

_Date = date  # the type, for annotations inside classes with a `date` field

DocumentType = Literal["Order", "Invoice"]

# Our order number's prefix per kind (§2), the word that names the kind (§4
# summary_in_order_text) and the statuses (§4 include_sales_order_status): Swedish whatever the
# user's language, from app/orders/words.py — the words the enums' labels translate.
# §5: custom-field names that hold "Er referens", in order of preference (compared casefolded).
YOUR_REFERENCE_FIELDS = ("er referens", "referens")
# §4: sales-order custom fields that carry delivery codes.
TERMS_OF_DELIVERY_FIELD = "leveransvillkor"
WAY_OF_DELIVERY_FIELD = "leveranssätt"
# §3 sort_by_actions: the heading of rows without a date.
UNDATED_HEADING = "Övrigt"
# Dates of comments are shown in Swedish local time (docs/mapping.md).
SWEDISH_TIME = ZoneInfo("Europe/Stockholm")

DOCUMENT_PATHS: Mapping[str, str] = {"Order": "/3/orders", "Invoice": "/3/invoices"}
ROWS_KEY: Mapping[str, str] = {"Order": "OrderRows", "Invoice": "InvoiceRows"}

# Header fields the spec names that a re-send must blank when we no longer have a value
# (Fortnox keeps a field a PUT leaves out). DeliveryDate is left out: "" is not a date.
CLEARABLE_HEADER_FIELDS = (
    "YourReference",
    "OurReference",
    "YourOrderNumber",
    "CostCenter",
    "TermsOfDelivery",
    "WayOfDelivery",
    "DeliveryName",
    "DeliveryAddress1",
    "DeliveryAddress2",
    "DeliveryZipCode",
    "DeliveryCity",
    "DeliveryCountry",
    "Remarks",
    "Comments",
)

# How warnings name the header fields (the Swedish labels of Fortnox's own forms).
FIELD_LABELS: Mapping[str, str] = {
    "YourReference": "Er referens",
    "OurReference": "Vår referens",
    "Remarks": "Ordertextrutan",
    "DeliveryName": "Leveransnamnet",
    "DeliveryAddress1": "Leveransadressen",
    "DeliveryAddress2": "Leveransadressen (rad 2)",
    "DeliveryZipCode": "Leveranspostnumret",
    "DeliveryCity": "Leveransorten",
    "DeliveryCountry": "Leveranslandet",
}

# Control characters that are not line breaks (str.splitlines() handles those): Fortnox
# answers odd characters with 2000359 "Värdet innehåller ej tillåtna tecken" (FACTS.md §3).
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1b\x1f\x7f-\x84\x86-\x9f]")
# Anything a one-line text must be cleaned of: control characters and every line break.
_UNUSUAL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


# --------------------------------------------------------------------------------------------
# Results


@dataclass(frozen=True, slots=True)
class MappingResult:
    """What ``map_order`` produced.

    ``payload`` is the request body (``{"Order": {...}}`` or ``{"Invoice": {...}}``);
    ``warnings`` say what was split, cut or dropped; ``errors`` what blocks the send, each a
    Swedish sentence naming the fix. ``reference`` is the send reference, also sent as
    ``ExternalInvoiceReference1`` (§2).
    """

    document_type: DocumentType
    payload: dict[str, Any]
    warnings: tuple[str, ...]
    errors: tuple[str, ...]
    reference: str

    @property
    def ok(self) -> bool:
        """True when nothing blocks the send."""
        return not self.errors

    @property
    def path(self) -> str:
        """The Fortnox path a new document is created with (``POST``)."""
        return DOCUMENT_PATHS[self.document_type]

    @property
    def document(self) -> dict[str, Any]:
        """The document inside the wrapper (``payload["Order"]`` or ``payload["Invoice"]``)."""
        document: dict[str, Any] = self.payload[self.document_type]
        return document

    @property
    def rows(self) -> list[dict[str, Any]]:
        """The document's rows (``OrderRows`` or ``InvoiceRows``)."""
        rows: list[dict[str, Any]] = self.document[ROWS_KEY[self.document_type]]
        return rows

    def update_payload(self) -> dict[str, Any]:
        """The body for updating an existing document (``PUT``) with this mapping.

        Like ``payload``, but every header field of ``CLEARABLE_HEADER_FIELDS`` that we have no
        value for is sent as ``""``, so that a value removed here since the last send is removed
        in Fortnox too (a ``PUT`` keeps fields it leaves out).
        """
        document = dict(self.document)
        for key in CLEARABLE_HEADER_FIELDS:
            document.setdefault(key, "")
        return {self.document_type: document}

    def to_json(self) -> str:
        """The payload as compact JSON text (UTF-8 characters kept), deterministic."""
        return json.dumps(self.payload, ensure_ascii=False, separators=(",", ":"))


@dataclass(frozen=True, slots=True)
class AttendanceTransaction:
    """Hours of one technician on one day, for ``POST /3/attendancetransactions`` (§7)."""

    employee_id: str
    date: date
    cause_code: str
    hours: Decimal
    technician_name: str

    @property
    def key(self) -> tuple[str, _Date, str]:
        """Identifies the transaction across sends: (EmployeeId, Date, CauseCode)."""
        return (self.employee_id, self.date, self.cause_code)

    def to_payload(self) -> dict[str, dict[str, str]]:
        """The request body, with the fields spec §7 names (``Hours`` is a string in Fortnox)."""
        return {
            "AttendanceTransaction": {
                "EmployeeId": self.employee_id,
                "Date": self.date.isoformat(),
                "CauseCode": self.cause_code,
                "Hours": format_decimal(self.hours),
            }
        }


@dataclass(frozen=True, slots=True)
class TimeReport:
    """The attendance transactions of an order, per technician and day, and what blocks them."""

    transactions: tuple[AttendanceTransaction, ...]
    warnings: tuple[str, ...]
    errors: tuple[str, ...]


# --------------------------------------------------------------------------------------------
# Public functions


def send_reference(order_id: int) -> str:
    """The send reference of a snapshot that carries none (made by hand in tests): built from
    the id, zero-padded to a fixed width. Orders carry a random one (``Order.fortnox_reference``,
    unique beyond this database), which the mapping uses."""
    return f"ordna-{order_id:010d}"


def our_order_number(snapshot: OrderSnapshot) -> str:
    """Our order number as it stands alone: ``<prefix> <number>``, e.g. ``AO 1042`` (§1, §2)."""
    return f"{KIND_PREFIX[snapshot.kind]} {snapshot.number}"


def map_order(
    snapshot: OrderSnapshot,
    settings: FortnoxSettings,
    lookups: Lookups,
    *,
    document_type: DocumentType | None = None,
) -> MappingResult:
    """Map an order to the Fortnox request body for ``document_type``.

    ``document_type`` defaults to ``"Invoice"`` under ``create_invoice_directly``, else
    ``"Order"``. Pure and deterministic; never raises for odd data (problems become warnings
    or errors on the result). Raises ``ValueError`` only for an unknown ``document_type``.
    """
    if document_type is None:
        document_type = "Invoice" if settings.create_invoice_directly else "Order"
    if document_type not in DOCUMENT_PATHS:
        raise ValueError(f"document_type must be 'Order' or 'Invoice', not {document_type!r}")
    return _Mapper(snapshot, settings, lookups, document_type).run()


def time_report(snapshot: OrderSnapshot, settings: FortnoxSettings) -> TimeReport:
    """The order's action hours as attendance transactions, one per technician and day (§7).

    Hours of one employee number on one date are added up; days that add up to zero are left
    out. Sorted by date, then employee number. An action with hours whose technician has no
    employee number, or that has no date, is an error (the send must not lose hours); an action
    with hours but no technician is a warning (there is nobody to report them for).
    ``map_order`` includes these errors when ``send_time_report`` is on.
    """
    warnings: list[str] = []
    errors: list[str] = []
    cause_code = settings.time_report_cause_code.strip().upper()
    if cause_code not in limits.ATTENDANCE_CAUSE_CODES:
        errors.append(
            f"Orsakskoden ”{settings.time_report_cause_code}” för tidsrapport finns inte i "
            "Fortnox. Välj en giltig kod (t.ex. TID) i inställningen ”Orsakskod för tidsrapport”."
        )
    totals: dict[tuple[date, str], Decimal] = {}
    names: dict[str, str] = {}
    without_number: list[str] = []
    for action in snapshot.actions:
        if not action.hours:
            continue
        what = _quote(_single_line(action.description) or "utan beskrivning")
        technician = action.technician
        if technician is None or not _single_line(technician.name):
            warnings.append(
                f"Åtgärden {what} har {format_swedish_decimal(action.hours)} timmar men ingen "
                "tekniker; timmarna tidsrapporteras inte."
            )
            continue
        name = _single_line(technician.name)
        employee_id = technician.employee_number.strip()
        if not employee_id:
            if name not in without_number:
                without_number.append(name)
            continue
        if len(employee_id) > limits.EMPLOYEE_ID:
            errors.append(
                f"Anställningsnumret ”{employee_id}” för {name} är längre än "
                f"{limits.EMPLOYEE_ID} tecken, vilket Fortnox inte tar emot. Rätta det i "
                "användarens inställningar."
            )
            continue
        if action.date is None:
            errors.append(
                f"Åtgärden {what} ({name}) har timmar men inget datum, så de kan inte "
                "tidsrapporteras. Ange ett datum på åtgärden."
            )
            continue
        key = (action.date, employee_id)
        totals[key] = totals.get(key, Decimal(0)) + action.hours
        names.setdefault(employee_id, name)
    for name in without_number:
        errors.append(
            f"Teknikern {name} saknar anställningsnummer, som behövs för tidsrapporten till "
            "Fortnox (inställningen ”Skicka tidsrapport”). Fyll i anställningsnumret i "
            "användarens inställningar och skicka igen."
        )
    transactions: list[AttendanceTransaction] = []
    for (day, employee_id), hours in sorted(totals.items()):
        if hours < 0:
            warnings.append(
                f"{names[employee_id]} har {format_swedish_decimal(hours)} timmar "
                f"{day.isoformat()}; negativa timmar tidsrapporteras inte."
            )
        elif hours > 0:
            transactions.append(
                AttendanceTransaction(employee_id, day, cause_code, hours, names[employee_id])
            )
    return TimeReport(tuple(transactions), tuple(warnings), tuple(errors))


# --------------------------------------------------------------------------------------------
# Text helpers (fortnox-settings.md §1 text rows, §9 formats)


def format_decimal(value: Decimal) -> str:
    """A decimal as Fortnox takes it in string fields: ``2``, ``1.5``, ``-0.25`` (no exponent)."""
    if value == 0:
        return "0"
    return format(value.normalize(), "f")


def format_swedish_decimal(value: Decimal) -> str:
    """A decimal for Swedish readers: decimal comma, no thousands separator (``1234,5``)."""
    return format_decimal(value).replace(".", ",")


def price_number(value: Decimal) -> int | float:
    """A price as a JSON number (Spec: ``Price`` is a double); whole amounts as integers.

    Prices have at most a few decimals, which a double's shortest representation keeps exactly.
    """
    if value == value.to_integral_value():
        return int(value)
    return float(value)


def _clean_line(text: str) -> str:
    return _CONTROL.sub("", text.replace("\t", " ")).strip()


def _single_line(text: str | None) -> str:
    """A text for a one-line field: line breaks become spaces, control characters go."""
    if not text:
        return ""
    if not _UNUSUAL.search(text):  # the common case, kept fast (benchmarks/bench_mapping.py)
        return text.strip()
    return " ".join(part for part in (_clean_line(line) for line in text.splitlines()) if part)


def _multi_line(text: str | None) -> str:
    """A text for a multi-line field: ``\\n`` line breaks, no leading/trailing blank lines."""
    if not text:
        return ""
    lines = [_CONTROL.sub("", line.replace("\t", " ")).rstrip() for line in text.splitlines()]
    return "\n".join(lines).strip("\n")


def split_text(text: str, width: int = limits.ROW_DESCRIPTION) -> tuple[list[str], bool]:
    """Split a text into rows of at most ``width`` characters (§1, §9).

    Line breaks become row breaks; empty lines make no row; a line longer than ``width`` is
    split at the last space that lets the row fit (a single word longer than ``width`` is cut
    hard). Returns the rows and whether any line had to be split.
    """
    rows: list[str] = []
    wrapped = False
    for raw in text.splitlines():
        line = _clean_line(raw)
        while len(line) > width:
            wrapped = True
            cut = line.rfind(" ", 1, width + 1)
            if cut <= 0:
                rows.append(line[:width].rstrip())
                line = line[width:].lstrip()
            else:
                rows.append(line[:cut].rstrip())
                line = line[cut + 1 :].lstrip()
        if line:
            rows.append(line)
    return rows, wrapped


def cut_text(text: str, limit: int) -> tuple[str, bool]:
    """Cut a header text to ``limit``: the first ``limit - 1`` characters and ``…`` (§9)."""
    if len(text) <= limit:
        return text, False
    return text[: limit - 1] + limits.ELLIPSIS, True


def _cut_at_word(text: str, width: int) -> str:
    """The longest head of ``text`` that fits ``width`` and ends at a word boundary."""
    if len(text) <= width:
        return text
    cut = text.rfind(" ", 1, width + 1)
    if cut <= 0:
        return text[:width].rstrip()
    return text[:cut].rstrip()


def _quote(text: str, width: int = 30) -> str:
    """A short quotation of a text for messages: ``”Bytt filter på kompress…”``."""
    return f"”{cut_text(text, width)[0]}”"


def _date_key(value: date | None) -> tuple[int, date]:
    """Sort key that puts dated items in date order and undated ones last (stable sorts)."""
    return (1, date.min) if value is None else (0, value)


def _local_date(moment: datetime) -> date:
    if moment.tzinfo is not None:
        moment = moment.astimezone(SWEDISH_TIME)
    return moment.date()


def _custom_field(fields: Mapping[str, str], names: Sequence[str]) -> str:
    """The first non-empty value among fields whose name, casefolded and trimmed, is in
    ``names`` (tried in that order; equal names in sorted order, for determinism)."""
    by_name: dict[str, list[str]] = {}
    for field_name in sorted(fields):
        by_name.setdefault(field_name.strip().casefold(), []).append(field_name)
    for wanted in names:
        for field_name in by_name.get(wanted, ()):
            value = _single_line(fields[field_name])
            if value:
                return value
    return ""


# --------------------------------------------------------------------------------------------
# The pipeline


@dataclass(slots=True)
class _Line:
    """An article row on its way through the pipeline (quantity grows when rows are summed)."""

    row: ArticleRowSnapshot
    quantity: Decimal


@dataclass(frozen=True, slots=True)
class _Text:
    """A text row to be: the text (possibly long or multi-line) and how to name it in warnings."""

    text: str
    what: str


_Item = _Line | _Text


class _Mapper:
    """One run of the pipeline (§1) over one order. Used once, by ``map_order``."""

    def __init__(
        self,
        snapshot: OrderSnapshot,
        settings: FortnoxSettings,
        lookups: Lookups,
        document_type: DocumentType,
    ) -> None:
        self.order = snapshot
        self.settings = settings
        self.lookups = lookups
        self.document_type = document_type
        self.warnings: list[str] = []
        self.errors: list[str] = []
        self.our_number = our_order_number(snapshot)

    def run(self) -> MappingResult:
        lines = self._filter()
        lines = self._sum(lines)
        items = self._order_and_group(lines)
        rows = self._decorate(items)
        document = self._header()
        document[ROWS_KEY[self.document_type]] = rows
        self._validate(document, rows)
        reference = self.reference
        return MappingResult(
            document_type=self.document_type,
            payload={self.document_type: document},
            warnings=tuple(dict.fromkeys(self.warnings)),
            errors=tuple(dict.fromkeys(self.errors)),
            reference=reference,
        )

    # -- shared facts ------------------------------------------------------------------------

    @property
    def internal_invoicing(self) -> bool:
        """§4/§9 internal_invoice_customer: both subgroups set and different."""
        order_group = self.order.subgroup_id
        customer_group = self.order.customer.subgroup_id
        return (
            bool(self.settings.internal_invoice_customer.strip())
            and order_group is not None
            and customer_group is not None
            and order_group != customer_group
        )

    @property
    def reference(self) -> str:
        """§2: the send reference, the same on every send of the order."""
        return self.order.reference or send_reference(self.order.id)

    @property
    def sends_order_number(self) -> bool:
        return not self.settings.dont_send_order_number

    # -- 2. filter ---------------------------------------------------------------------------

    def _filter(self) -> list[_Line]:
        rows = self.order.article_rows
        if self.settings.exclude_hidden_articles:  # §3 exclude_hidden_articles
            rows = tuple(row for row in rows if not row.hidden)
        return [_Line(row, row.quantity) for row in rows]

    # -- 3. sum ------------------------------------------------------------------------------

    def _sum(self, lines: list[_Line]) -> list[_Line]:
        """§3 sum_article_rows: merge rows into the first of their kind, quantities added.

        The key is the spec's (article number, price, unit, own cost center — §9: whether or
        not it is sent), within one date group under sort_by_actions and one service-object
        group under include_service_object_on_row; plus, so that no printed text is false for
        part of the quantity, the row's text and — when names are printed on rows — the
        technician (docs/mapping.md).
        """
        settings = self.settings
        if not settings.sum_article_rows:
            return lines
        ignored = set(settings.ignore_sum_article_numbers)
        merged: list[_Line] = []
        first_of: dict[tuple[object, ...], _Line] = {}
        for line in lines:
            row = line.row
            if row.article_number.strip() in ignored:
                merged.append(line)
                continue
            key: tuple[object, ...] = (
                row.article_number,
                row.price,
                row.unit,
                row.cost_center,
                row.text,
                row.technician.name
                if settings.include_technician_on_rows and row.technician
                else None,
                row.date if settings.sort_by_actions else None,
                row.service_object if settings.include_service_object_on_row else None,
            )
            first = first_of.get(key)
            if first is None:
                first = _Line(row, line.quantity)
                first_of[key] = first
                merged.append(first)
            else:
                first.quantity += line.quantity
        return merged

    # -- 4. order and group ------------------------------------------------------------------

    def _order_and_group(self, lines: list[_Line]) -> list[_Item]:
        """§1 step 4 with §3 sort_by_actions, sort_articles_by_date, service-object groups."""
        settings = self.settings
        actions = [a for a in self.order.actions if _single_line(a.description)]
        items: list[_Item] = []
        if settings.sort_by_actions:
            days = sorted(
                {a.date for a in actions if a.date is not None}
                | {line.row.date for line in lines if line.row.date is not None}
            )
            for day in days:
                items.append(_Text(day.isoformat(), "Datumraden"))
                items.extend(
                    self._action_text(a, with_date=False) for a in actions if a.date == day
                )
                items.extend(
                    self._service_object_groups([ln for ln in lines if ln.row.date == day])
                )
            undated_actions = [a for a in actions if a.date is None]
            undated_lines = [ln for ln in lines if ln.row.date is None]
            if undated_actions or undated_lines:
                items.append(_Text(UNDATED_HEADING, "Rubriken Övrigt"))
                items.extend(self._action_text(a, with_date=False) for a in undated_actions)
                items.extend(self._service_object_groups(undated_lines))
            return items
        # §2: one text row per action, in date order, before the article rows.
        for action in sorted(actions, key=lambda a: _date_key(a.date)):
            items.append(self._action_text(action, with_date=settings.include_action_date))
        if settings.sort_articles_by_date:
            lines = sorted(lines, key=lambda ln: _date_key(ln.row.date))
        items.extend(self._service_object_groups(lines))
        return items

    def _action_text(self, action: ActionSnapshot, *, with_date: bool) -> _Text:
        text = _multi_line(action.description)
        if with_date and action.date is not None:  # §3 include_action_date
            text = f"{action.date.isoformat()}: {text}"
        name = _technician_name(action.technician)
        if self.settings.include_technician_on_action_summary and name:
            text = f"{text} ({name})"  # §3 include_technician_on_action_summary
        return _Text(text, f"Åtgärden {_quote(_single_line(action.description))}")

    def _service_object_groups(self, lines: list[_Line]) -> list[_Item]:
        """§3 include_service_object_on_row: groups in order of their first row, each under
        its label (and comment), rows without a service object after the groups."""
        if not self.settings.include_service_object_on_row:
            return list(lines)
        groups: dict[ServiceObjectSnapshot, list[_Line]] = {}
        loose: list[_Line] = []
        for line in lines:
            service_object = line.row.service_object
            if service_object is None:
                loose.append(line)
            else:
                groups.setdefault(service_object, []).append(line)
        items: list[_Item] = []
        for service_object, group in groups.items():
            label = self._service_object_label(service_object)
            if label:
                items.append(_Text(label, f"Serviceobjektet {_quote(_single_line(label))}"))
                comment = _multi_line(service_object.comment)
                if self.settings.include_service_object_comment and comment:
                    items.append(_Text(comment, f"Kommentaren till {_quote(_single_line(label))}"))
            items.extend(group)
        items.extend(loose)
        return items

    def _service_object_label(self, service_object: ServiceObjectSnapshot) -> str:
        """§6: ``<prefix><name>[, maskinnr <machine number>][, s/n <serial, cut>]``.

        A label longer than a row is split between its parts (never between ``s/n`` and the
        serial), each row but the last keeping its comma (``…med frikyla,`` / ``s/n …``); a
        part that alone is too long is split at word boundaries later.
        """
        settings = self.settings
        parts: list[str] = []
        name = _single_line(service_object.name)
        if name:
            prefix = _CONTROL.sub("", settings.service_object_prefix.replace("\n", " "))
            parts.append(f"{prefix}{name}".strip())
        machine = _single_line(service_object.machine_number)
        if settings.include_machine_number and machine:
            parts.append(f"maskinnr {machine}")
        serial = _single_line(service_object.serial_number)
        if serial:
            if settings.serial_number_max_chars > 0:
                serial = serial[: settings.serial_number_max_chars]
            parts.append(f"s/n {serial}")
        label = ", ".join(parts)
        if len(label) <= limits.ROW_DESCRIPTION:
            return label
        self.warnings.append(
            f"Serviceobjektet {_quote(label)} är längre än {limits.ROW_DESCRIPTION} tecken och "
            "delades upp på flera textrader."
        )
        # §1: a row break replaces the space after the separating comma; the comma stays.
        rows: list[str] = []
        for part in parts:
            joined = f"{rows[-1]}, {part}" if rows else part
            if rows and len(joined) <= limits.ROW_DESCRIPTION:
                rows[-1] = joined
            else:
                if rows:
                    rows[-1] += ","
                rows.append(part)
        return "\n".join(rows)

    # -- 5. decorate -------------------------------------------------------------------------

    def _decorate(self, items: list[_Item]) -> list[dict[str, Any]]:
        """Turn items into Fortnox rows, with the top rows (§1) first."""
        rows: list[dict[str, Any]] = []
        for text in self._top_texts():
            rows.extend(self._text_rows(text))
        for item in items:
            if isinstance(item, _Text):
                rows.extend(self._text_rows(item))
            else:
                rows.extend(self._article_rows(item))
        return rows

    def _top_texts(self) -> list[_Text]:
        """§1: order text, Slutkund, Status, Anläggning, Beskrivning, Fel/orsak — in this order."""
        order, settings = self.order, self.settings
        texts: list[_Text] = []
        if settings.order_text_on_top and settings.order_text.strip():
            texts.append(_Text(settings.order_text, "Ordertexten"))
        if self.internal_invoicing:
            name = _single_line(order.customer.name) or order.customer.number
            texts.append(_Text(f"Slutkund: {name}", "Slutkundsraden"))
        if settings.include_sales_order_status and order.kind == "sales":
            texts.append(_Text(f"Status: {STATUS_WORD[order.status]}", "Statusraden"))
        facility_name = _single_line(order.facility.name) if order.facility else ""
        if settings.include_facility_name and facility_name:
            texts.append(_Text(f"Anläggning: {facility_name}", "Anläggningsraden"))
        if settings.include_description_and_cause:
            description = _multi_line(order.description)
            if description:
                texts.append(_Text(f"Beskrivning: {description}", "Beskrivningen"))
            fault_cause = _multi_line(order.fault_cause)
            if fault_cause:
                texts.append(_Text(f"Fel/orsak: {fault_cause}", "Fel/orsak"))
        return texts

    def _text_rows(self, text: _Text) -> list[dict[str, Any]]:
        parts, wrapped = split_text(text.text)
        if wrapped:
            self.warnings.append(
                f"{text.what} är längre än {limits.ROW_DESCRIPTION} tecken och delades upp på "
                f"{len(parts)} textrader."
            )
        return [{"Description": part} for part in parts]

    def _article_rows(self, line: _Line) -> list[dict[str, Any]]:
        """One article row (§2, §3), followed by the text rows its description overflows to."""
        row, settings = line.row, self.settings
        article_number = row.article_number.strip()
        result: dict[str, Any] = {}
        if article_number:
            result["ArticleNumber"] = article_number
        overflow: list[str] = []
        technician = _technician_name(row.technician)
        text = row.text or ""
        if settings.include_technician_on_rows and technician:
            description = self._with_technician(_single_line(text), technician, article_number)
        else:
            parts, wrapped = split_text(text)
            description = parts[0] if parts else ""
            overflow = parts[1:]
            if wrapped:
                what = _article_what(article_number, text)
                self.warnings.append(
                    f"{what} har en text längre än {limits.ROW_DESCRIPTION} tecken; resten "
                    "följer som textrader under raden."
                )
        if description:  # empty: Fortnox takes the article's own description
            result["Description"] = description
        quantity = format_decimal(line.quantity)
        if self.document_type == "Order":
            result["OrderedQuantity"] = quantity
        result["DeliveredQuantity"] = quantity
        unit = _single_line(row.unit)
        if unit:
            result["Unit"] = unit
        if settings.set_prices_on_rows and article_number not in settings.no_price_article_numbers:
            result["Price"] = price_number(row.price)
        cost_center = row.cost_center.strip()
        if (
            settings.user_cost_center_on_rows
            and cost_center
            and cost_center not in settings.ignore_cost_centers_on_rows
        ):
            result["CostCenter"] = cost_center
        return [result, *({"Description": part} for part in overflow)]

    def _with_technician(self, text: str, name: str, article_number: str) -> str:
        """§9: ``<description> - <technician name>`` in 50 characters, the description cut at a
        word boundary; nothing of it continues."""
        width = limits.ROW_DESCRIPTION
        if not text:
            return cut_text(name, width)[0]
        full = f"{text} - {name}"
        if len(full) <= width:
            return full
        what = _article_what(article_number, text)
        suffix = f" - {name}"
        room = width - len(suffix)
        if room < 1:  # the name alone fills the row: keep what we can of both
            self.warnings.append(f"{what}: teknikerns namn är för långt och kortades.")
            return cut_text(full, width)[0]
        self.warnings.append(
            f"{what} kortades så att teknikerns namn får plats på raden "
            f"({limits.ROW_DESCRIPTION} tecken)."
        )
        return f"{_cut_at_word(text, room)}{suffix}"

    # -- 6. header ---------------------------------------------------------------------------

    def _header(self) -> dict[str, Any]:
        """The document's header fields (§2, §4, §5), in a fixed key order."""
        order, settings = self.order, self.settings
        document: dict[str, Any] = {}
        if self.internal_invoicing:  # §4 internal_invoice_customer
            document["CustomerNumber"] = settings.internal_invoice_customer.strip()
        else:
            document["CustomerNumber"] = order.customer.number.strip()
        self._put_cut(document, "YourReference", self._your_reference(), limits.YOUR_REFERENCE)
        self._put_cut(document, "OurReference", self._our_reference(), limits.OUR_REFERENCE)
        your_order_number = self._your_order_number()
        if your_order_number:
            document["YourOrderNumber"] = your_order_number
        document["ExternalInvoiceReference1"] = self.reference
        if settings.cost_center.strip():
            document["CostCenter"] = settings.cost_center.strip()
        if order.kind == "sales":  # §4: Leveransvillkor and Leveranssätt on sales orders
            terms = self._delivery_code(
                TERMS_OF_DELIVERY_FIELD,
                self.lookups.terms_of_delivery,
                self.lookups.terms_of_delivery_synced,
                "Leveransvillkoret",
                "Leveransvillkor",
            )
            if terms:
                document["TermsOfDelivery"] = terms
            way = self._delivery_code(
                WAY_OF_DELIVERY_FIELD,
                self.lookups.ways_of_delivery,
                self.lookups.ways_of_delivery_synced,
                "Leveranssättet",
                "Leveranssätt",
            )
            if way:
                document["WayOfDelivery"] = way
        self._delivery(document)
        if order.kind == "sales" and order.delivery_date is not None:
            document["DeliveryDate"] = order.delivery_date.isoformat()  # §2
        self._put_cut(document, "Remarks", self._remarks(), limits.REMARKS)
        comments = self._comments()
        if comments:
            document["Comments"] = comments
        return document

    def _put_cut(self, document: dict[str, Any], key: str, value: str, limit: int) -> None:
        """Set a header field when there is a value, cut to ``limit`` with a warning (§9)."""
        if not value:
            return
        text, cut = cut_text(value, limit)
        if cut:
            self.warnings.append(
                f"{FIELD_LABELS.get(key, key)} var längre än {limit} tecken och kortades med …: "
                f"{_quote(_single_line(value), 40)}."
            )
        document[key] = text

    def _our_reference(self) -> str:
        """§4 precedence: signer → assigned user → our order number → empty."""
        order, settings = self.order, self.settings
        if settings.signer_as_our_reference:
            name = _technician_name(order.signed_by)
            if name:
                return name
        if settings.assigned_as_our_reference:
            name = _technician_name(order.assigned_user)
            if name:
                return name
        if self.sends_order_number and not settings.order_number_to_your_order_number:
            return self.our_number
        return ""

    def _your_reference(self) -> str:
        """§5: custom field on order → facility → customer; then orderer → contact person."""
        order, settings = self.order, self.settings
        sources: list[Mapping[str, str]] = [order.custom_fields]
        if order.facility is not None:
            sources.append(order.facility.custom_fields)
        sources.append(order.customer.custom_fields)
        for fields in sources:
            value = _custom_field(fields, YOUR_REFERENCE_FIELDS)
            if value:
                return value
        orderer = _single_line(order.orderer)
        if settings.orderer_as_your_reference and orderer:
            return orderer
        if order.contact is None:
            return ""
        name = _single_line(order.contact.name)
        phone = _single_line(order.contact.phone)
        if settings.contact_phone_in_your_reference and phone:
            # The phone number is kept whole: a cut number is a wrong number (docs/mapping.md).
            room = limits.YOUR_REFERENCE - len(phone) - 1
            if name and len(name) > room:
                self.warnings.append(
                    f"Kontaktpersonens namn {_quote(name)} kortades så att telefonnumret får "
                    f"plats i Er referens ({limits.YOUR_REFERENCE} tecken)."
                )
                name = cut_text(name, room)[0] if room > 1 else ""
            return f"{name} {phone}".strip()
        return name

    def _your_order_number(self) -> str:
        """§2/§4: the customer's order number; our number too under
        order_number_to_your_order_number, as ``<customer's> / <ours>`` with ours kept whole."""
        settings = self.settings
        customers = _single_line(self.order.customer_order_number)
        ours = (
            self.our_number
            if settings.order_number_to_your_order_number and self.sends_order_number
            else ""
        )
        limit = limits.YOUR_ORDER_NUMBER
        if not ours:
            text, cut = cut_text(customers, limit)
        elif not customers:
            text, cut = cut_text(ours, limit)
        else:
            room = limit - len(ours) - len(" / ")
            head, cut = cut_text(customers, room)
            text = f"{head} / {ours}"
        if cut:
            self.warnings.append(
                f"Kundens ordernummer {_quote(customers)} får inte plats i Ert ordernummer "
                f"({limit} tecken) och kortades med …."
            )
        return text

    def _delivery(self, document: dict[str, Any]) -> None:
        """§2 delivery fields, §4 customer_name_as_delivery_name and
        customer_address_as_delivery_address, §9 DeliveryAddress2/DeliveryCountry."""
        order, settings = self.order, self.settings
        facility, customer = order.facility, order.customer
        if settings.customer_name_as_delivery_name:
            name = customer.name
        else:
            name = facility.name if facility is not None else ""
        address = customer if settings.customer_address_as_delivery_address else facility
        values = [("DeliveryName", name)]
        if address is not None:
            values += [
                ("DeliveryAddress1", address.address1),
                ("DeliveryAddress2", address.address2),
                ("DeliveryZipCode", address.zip_code),
                ("DeliveryCity", address.city),
                ("DeliveryCountry", address.country),
            ]
        for key, value in values:
            # Spec: 1024 on invoices; no address is that long, but never let Fortnox reject it.
            self._put_cut(document, key, _single_line(value), 1024)

    def _remarks(self) -> str:
        """§9: summary lines; Beskrivning/Fel-orsak lines; Drifttid lines; blank line and the
        order text. An empty part is left out with its blank line."""
        order, settings = self.order, self.settings
        head: list[str] = []
        if settings.summary_in_order_text:
            head += self._summary_lines()
        if settings.description_in_order_text:
            description = _multi_line(order.description)
            if description:
                head.append(f"Beskrivning: {description}")
            fault_cause = _multi_line(order.fault_cause)
            if fault_cause:
                head.append(f"Fel/orsak: {fault_cause}")
        if settings.include_operating_hours_in_order_text:
            for covered in order.service_objects:
                name = _single_line(covered.service_object.name)
                if covered.operating_hours is not None and name:
                    hours = format_swedish_decimal(covered.operating_hours)
                    head.append(f"Drifttid {name}: {hours} h")
        text = "" if settings.order_text_on_top else _multi_line(settings.order_text)
        if head and text:
            return "\n".join(head) + "\n\n" + text
        return "\n".join(head) or text

    def _summary_lines(self) -> list[str]:
        """§4 summary_in_order_text with the §9 formats."""
        order = self.order
        kind_word = KIND_WORD[order.kind]
        lines = [f"{kind_word} {order.number}" if self.sends_order_number else kind_word]
        facility_name = _single_line(order.facility.name) if order.facility else ""
        if facility_name:
            lines.append(f"Anläggning: {facility_name}")
        # §9: every action and article row, hidden ones included.
        dates = [a.date for a in order.actions if a.date is not None]
        dates += [r.date for r in order.article_rows if r.date is not None]
        if dates:
            first, last = min(dates), max(dates)
            span = (
                first.isoformat() if first == last else f"{first.isoformat()} – {last.isoformat()}"
            )
            lines.append(f"Utfört: {span}")
        names: list[str] = []
        actions_by_date = sorted(order.actions, key=lambda a: _date_key(a.date))
        for technician in [a.technician for a in actions_by_date] + [
            r.technician for r in order.article_rows
        ]:
            name = _technician_name(technician)
            if name and name not in names:
                names.append(name)
        if names:
            lines.append(f"Tekniker: {', '.join(names)}")
        return lines

    def _comments(self) -> str:
        """§4 include_comments and order_number_in_comment; §9 line format; oldest lines are
        dropped first when over 1024 characters."""
        settings = self.settings
        first: list[str] = []
        if settings.order_number_in_comment and self.sends_order_number:
            first.append(f"Order {self.our_number}")
        lines: list[str] = []
        if settings.include_comments:
            lines = [
                line
                for line in (_comment_line(c) for c in _oldest_first(self.order.comments))
                if line
            ]
        limit = limits.COMMENTS
        dropped = 0
        while len(lines) > 1 and len("\n".join(first + lines)) > limit:
            lines.pop(0)
            dropped += 1
        if dropped:
            self.warnings.append(
                f"{dropped} av de äldsta kommentarerna fick inte plats i Fortnox kommentarsfält "
                f"({limit} tecken) och skickades inte."
            )
        text, cut = cut_text("\n".join(first + lines), limit)
        if cut:  # even the newest comment alone is too long: send what fits of it
            self.warnings.append(
                f"Den senaste kommentaren är för lång för Fortnox kommentarsfält ({limit} tecken) "
                "och kortades med …."
            )
        return text

    def _delivery_code(
        self,
        field_name: str,
        known: frozenset[str],
        synced: bool,
        noun: str,
        register: str,
    ) -> str:
        """§4: a sales order's Leveransvillkor/Leveranssätt custom field, checked against the
        synced register. Exact code first, then a unique case-insensitive match (the code is
        then sent as Fortnox spells it)."""
        value = _custom_field(self.order.custom_fields, (field_name,))
        if not value:
            return ""
        if not synced:
            self.errors.append(
                f"{noun} ”{value}” kan inte kontrolleras eftersom {register} inte har hämtats "
                f"från Fortnox. Hämta {register} under Inställningar → Integration och skicka igen."
            )
            return value
        if value in known:
            return value
        matches = sorted(code for code in known if code.casefold() == value.casefold())
        if matches:
            return matches[0]
        self.errors.append(
            f"{noun} ”{value}” (fältet {register} på ordern) finns inte i Fortnox. Ange koden "
            f"för ett {register.lower()} som finns i Fortnox, eller lägg upp det i Fortnox och "
            f"hämta {register} igen."
        )
        return value

    # -- 7. validate -------------------------------------------------------------------------

    def _validate(self, document: dict[str, Any], rows: list[dict[str, Any]]) -> None:
        """Blocking checks (customer, codes against lookups, time report) and a final check
        that every text is within the limits we keep to."""
        order, settings = self.order, self.settings
        if not document["CustomerNumber"]:
            self.errors.append(
                "Ordern saknar kundnummer. Välj en kund med kundnummer (samma som i Fortnox) på "
                "ordern och skicka igen."
            )
        if not any("ArticleNumber" in row for row in rows):
            self.warnings.append("Ordern har inga artikelrader att skicka.")
        for row in order.article_rows:
            if not (settings.exclude_hidden_articles and row.hidden):  # only rows we send
                self._check_article_row(row)
        header_code = settings.cost_center.strip()
        if header_code:
            self._check_cost_center(
                header_code,
                "(inställningen ”Lägg till kostnadsställe”)",
                "eller ändra inställningen ”Lägg till kostnadsställe”",
            )
        row_codes: dict[str, list[str]] = {}
        for document_row in rows:
            if "CostCenter" in document_row:
                row_codes.setdefault(document_row["CostCenter"], []).append(
                    document_row.get("ArticleNumber", "")
                )
        for code, articles in row_codes.items():
            self._check_cost_center(
                code,
                f"på artikelrader ({', '.join(dict.fromkeys(articles))})",
                "rätta kostnadsstället på raderna (eller teknikerns kostnadsställe), eller lägg "
                f"till {code} i inställningen ”Ignorera kostnadsställen vid autoifyllning på "
                "artikelrader”",
            )
        if settings.send_time_report:
            report = time_report(order, settings)
            self.warnings.extend(report.warnings)
            self.errors.extend(report.errors)
        self.errors.extend(_limit_problems(document, rows))

    def _check_article_row(self, row: ArticleRowSnapshot) -> None:
        number = row.article_number.strip()
        if not number:
            self.errors.append(
                f"En artikelrad ({_quote(_single_line(row.text))}) saknar artikelnummer. Välj "
                "en artikel på raden."
            )
        elif len(number) > limits.ARTICLE_NUMBER:
            self.errors.append(
                f"Artikelnumret ”{number}” är längre än {limits.ARTICLE_NUMBER} tecken, vilket "
                "Fortnox inte tar emot. Byt artikelnummer i artikelregistret."
            )
        if len(_single_line(row.unit)) > limits.UNIT:
            self.errors.append(
                f"Enheten ”{row.unit}” på artikel {number} är längre än {limits.UNIT} tecken, "
                "vilket Fortnox inte tar emot. Använd en enhet som finns i Fortnox."
            )
        if not row.quantity.is_finite() or not row.price.is_finite():
            self.errors.append(f"Artikelraden {number} har ett ogiltigt antal eller pris.")

    def _check_cost_center(self, code: str, where: str, alternative: str) -> None:
        lookups = self.lookups
        if not lookups.cost_centers_synced:
            self.errors.append(
                f"Kostnadsstället {code} {where} kan inte kontrolleras eftersom kostnadsställena "
                "inte har hämtats från Fortnox. Hämta Kostnadsställen under Inställningar → "
                "Integration och skicka igen."
            )
        elif code not in lookups.cost_centers:
            self.errors.append(
                f"Kostnadsstället {code} {where} finns inte eller är inaktivt i Fortnox. Lägg "
                "upp eller aktivera det i Fortnox (Register → Kostnadsställen) och hämta "
                f"Kostnadsställen igen, {alternative}."
            )


def _article_what(article_number: str, text: str) -> str:
    """How warnings name an article row: ``Artikelraden F100 ”Luftfilter…”``."""
    return f"Artikelraden {article_number} {_quote(_single_line(text))}"


def _technician_name(user: UserSnapshot | None) -> str:
    return _single_line(user.name) if user is not None else ""


def _oldest_first(comments: Iterable[CommentSnapshot]) -> list[CommentSnapshot]:
    return sorted(comments, key=lambda c: _comparable_moment(c.created_at))


def _comparable_moment(moment: datetime) -> datetime:
    """Naive datetimes are taken as Swedish local time, so naive and aware ones compare."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=SWEDISH_TIME)
    return moment


def _comment_line(comment: CommentSnapshot) -> str:
    """§9: ``<YYYY-MM-DD> <author's name>: <text>``, the text on one line."""
    text = _single_line(comment.text)
    if not text:
        return ""
    author = _single_line(comment.author)
    day = _local_date(comment.created_at).isoformat()
    return f"{day} {author}: {text}" if author else f"{day}: {text}"


# The limits every sent text keeps to (limits.py), checked once more on the finished document.
_HEADER_LIMITS: Mapping[str, int] = {
    "YourReference": limits.YOUR_REFERENCE,
    "OurReference": limits.OUR_REFERENCE,
    "YourOrderNumber": limits.YOUR_ORDER_NUMBER,
    "Remarks": limits.REMARKS,
    "Comments": limits.COMMENTS,
    "ExternalInvoiceReference1": limits.EXTERNAL_INVOICE_REFERENCE,
}


def _limit_problems(document: Mapping[str, Any], rows: Sequence[Mapping[str, Any]]) -> list[str]:
    """Internal safety net: a text over its limit here is a bug in this module, not user data,
    and blocks the send rather than letting Fortnox reject or cut the document."""
    problems: list[str] = []

    def check(what: str, value: object, limit: int) -> None:
        if isinstance(value, str) and len(value) > limit:
            problems.append(f"Internt fel i mappningen: {what} är längre än {limit} tecken.")

    for key, limit in _HEADER_LIMITS.items():
        check(key, document.get(key), limit)
    for row in rows:
        description = row.get("Description")
        check("en radtext", description, limits.ROW_DESCRIPTION)
        if len(row) == 1 and not (isinstance(description, str) and description.strip()):
            problems.append("Internt fel i mappningen: en tom textrad.")
    return problems
