"""Orders (``/3/orders``, scope ``order``) and invoices (``/3/invoices``, scope ``invoice``).

What Fortnox does that is emulated here (sources in FACTS.md §4, §5 and the spec's
descriptions):

* Documents get the next document number of their series; header fields left out are filled
  from the customer card (name, address, references, delivery terms…), rows from the article
  (description, unit, VAT, account) and the price list (price) — FACTS.md §4 "Empty
  Description/Price/Account/VAT are filled from the article / customer price list".
* Totals are computed: row ``Total`` = delivered quantity × price less discount; ``Net``,
  ``TotalVAT``, ``Gross``, ``RoundOff`` (to whole kronor), ``Total``, ``TotalToPay``; invoices get
  ``Balance``, ``OCR``, ``DueDate``.
* PUT follows the spec's row semantics: without ``RowId`` rows are matched by position; with
  ``RowId`` listed rows are updated, rows without one are new, omitted rows are deleted; every
  update gives every row a new RowId.
* Actions: orders ``createinvoice`` (returns the Invoice wrapper, FACTS.md §4), ``cancel``,
  ``externalprint``, ``email``, ``print``/``preview`` (PDF); invoices ``bookkeep``, ``cancel``,
  ``credit``, ``externalprint``, ``email``, ``print``/``preview``. ``Sent`` becomes true on print,
  email and externalprint, not on preview (FACTS.md §5).
* Locked documents: an invoiced or cancelled order, a booked or cancelled invoice cannot be
  changed.
"""

from __future__ import annotations

import copy
import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from . import errors as E
from .errors import FortnoxError
from .pdf import render_pdf
from .resources import (
    Ctx,
    Reply,
    check_header_refs,
    contains,
    decimal,
    modified_since,
    natural_key,
    paginate,
    parse_bool,
    parse_date,
    payload,
    present,
    price_for,
    properties,
    require_account,
    require_register_code,
    route,
    sort_items,
    touch,
)

CENT = Decimal("0.01")


@dataclass(frozen=True)
class Kind:
    series: str  # "orders" | "invoices": URL segment, counter and store
    singular: str
    plural: str
    rows: str
    scope: str
    payload: str  # request component
    row_payload: str
    single: str  # response component
    row_single: str
    list_item: str
    date_field: str
    what: str


ORDER = Kind(
    "orders", "Order", "Orders", "OrderRows", "order",
    "fortnox_Order_OrderSinglePayloadItem", "fortnox_Order_OrderRowSinglePayloadItem",
    "fortnox_Order_OrderSingleItem", "fortnox_Order_OrderRowSingleItem",
    "fortnox_Order_OrderListItem", "OrderDate", "ordern",
)  # fmt: skip
INVOICE = Kind(
    "invoices", "Invoice", "Invoices", "InvoiceRows", "invoice",
    "fortnox_Kf_InvoiceSinglePayloadItem", "fortnox_Kf_InvoiceRowSinglePayloadItem",
    "fortnox_Kf_InvoiceSingleItem", "fortnox_Kf_InvoiceRowSingleItem",
    "fortnox_Kf_InvoiceListItem", "InvoiceDate", "fakturan",
)  # fmt: skip

# Header fields copied from the customer card when a document is created for it (or moved to
# another customer) and the payload does not set them itself.
CUSTOMER_FIELDS = {
    "CustomerName": "Name",
    "Address1": "Address1",
    "Address2": "Address2",
    "ZipCode": "ZipCode",
    "City": "City",
    "Country": "Country",
    "OrganisationNumber": "OrganisationNumber",
    "Phone1": "Phone1",
    "Phone2": "Phone2",
    "DeliveryName": "DeliveryName",
    "DeliveryAddress1": "DeliveryAddress1",
    "DeliveryAddress2": "DeliveryAddress2",
    "DeliveryZipCode": "DeliveryZipCode",
    "DeliveryCity": "DeliveryCity",
    "DeliveryCountry": "DeliveryCountry",
    "TermsOfDelivery": "TermsOfDelivery",
    "WayOfDelivery": "WayOfDelivery",
    "TermsOfPayment": "TermsOfPayment",
    "PriceList": "PriceList",
    "Currency": "Currency",
    "YourReference": "YourReference",
    "OurReference": "OurReference",
    "CostCenter": "CostCenter",
}


def store(ctx: Ctx, kind: Kind) -> dict[int, dict[str, Any]]:
    return ctx.tenant.orders if kind is ORDER else ctx.tenant.invoices


def money(value: Decimal) -> float:
    return float(value.quantize(CENT, ROUND_HALF_UP))


def quantity_text(value: Decimal) -> str:
    return str(value.quantize(CENT, ROUND_HALF_UP))


def find_document(ctx: Ctx, kind: Kind, number: str) -> dict[str, Any]:
    record = store(ctx, kind).get(int(number)) if number.isdigit() else None
    if record is None:
        raise FortnoxError(E.NOT_FOUND, what=kind.what, value=number)
    return record


def render(ctx: Ctx, kind: Kind, record: dict[str, Any], component: str | None = None) -> Any:
    component = component or kind.single
    out = present(record, component, ctx.url(kind.series, record["DocumentNumber"]))
    if isinstance(out.get("EmailInformation"), dict):
        out["EmailInformation"] = present(
            out["EmailInformation"], "fortnox_DocumentEmailFieldSingleItem"
        )
    if kind.rows in out:
        if component == kind.list_item:
            # Lists carry no rows: read one document to get them (stricter than the spec's
            # list item, which repeats the whole document).
            out.pop(kind.rows)
        else:
            out[kind.rows] = [present(row, kind.row_single) for row in record[kind.rows]]
    return out


# ---------------------------------------------------------------------------------- building
def _customer(ctx: Ctx, number: Any) -> dict[str, Any]:
    record = ctx.tenant.registers.get("customers", {}).get(str(number or ""))
    if record is None:
        raise FortnoxError(E.CUSTOMER_NOT_FOUND, value=number or "")
    return record


def _row_input(row: dict[str, Any], kind: Kind) -> dict[str, Any]:
    """The writable part of a stored row (what a PUT merges onto)."""
    writable = set(properties(kind.row_payload)) | {"RowId"}
    return {k: v for k, v in row.items() if k in writable}


def _merge_rows(
    ctx: Ctx, kind: Kind, existing: list[dict[str, Any]], sent: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Spec PUT /3/orders/{DocumentNumber} description (identical for invoices)."""
    if any("RowId" in row for row in sent):
        by_id = {row["RowId"]: row for row in existing}
        merged = []
        for row in sent:
            if "RowId" in row:
                if row["RowId"] not in by_id:
                    raise FortnoxError(
                        E.VALUE_INVALID, field="RowId", detail=f"raden {row['RowId']} finns inte"
                    )
                merged.append({**_row_input(by_id[row["RowId"]], kind), **row})
            else:
                merged.append(dict(row))
        return merged
    return [
        {**_row_input(existing[i], kind), **row} if i < len(existing) else dict(row)
        for i, row in enumerate(sent)
    ]


def _build_row(
    ctx: Ctx, kind: Kind, row: dict[str, Any], header: dict[str, Any], credit: bool
) -> dict[str, Any]:
    out = {k: v for k, v in row.items() if k != "RowId"}
    article_number = out.get("ArticleNumber") or None
    article: dict[str, Any] | None = None
    if article_number:
        article = ctx.tenant.registers.get("articles", {}).get(str(article_number))
        if article is None:
            raise FortnoxError(E.ARTICLE_NOT_FOUND_ON_ROW, value=article_number)
        if article.get("Active") is False:
            raise FortnoxError(E.INACTIVE_ARTICLE, value=article_number)
    delivered_raw = out.get("DeliveredQuantity")
    ordered_raw = out.get("OrderedQuantity")
    delivered = decimal(delivered_raw if delivered_raw is not None else ordered_raw, "Quantity")
    if kind is ORDER:
        ordered = decimal(ordered_raw if ordered_raw is not None else delivered_raw, "Quantity")
        out["OrderedQuantity"] = quantity_text(ordered)
    if credit:
        delivered = -abs(delivered)
    out["DeliveredQuantity"] = quantity_text(delivered)
    if article is not None:
        out.setdefault("Description", article.get("Description"))
        if not out.get("Unit"):
            out["Unit"] = article.get("Unit")
        out.setdefault("VAT", article.get("VAT", 25))
        out.setdefault("AccountNumber", article.get("SalesAccount") or 3001)
        if "Price" not in out:
            out["Price"] = money(price_for(ctx, article_number, header.get("PriceList"), delivered))
    else:
        # A text row (no article): only what was sent; no price means nothing to pay.
        out.setdefault("Price", 0.0)
        out.setdefault("VAT", 25 if out["Price"] else 0)
    if out.get("Unit"):
        require_register_code(ctx, "units", out["Unit"], "Enhet")
    if out.get("CostCenter"):
        require_register_code(ctx, "costcenters", out["CostCenter"], "Kostnadsställe")
    if out.get("Project"):
        raise FortnoxError(E.REGISTER_CODE_NOT_FOUND, what="Projekt", value=out["Project"])
    require_account(out.get("AccountNumber"))
    price = decimal(out.get("Price"), "Price")
    gross = delivered * price
    discount = decimal(out.get("Discount"), "Discount")
    if discount:
        if out.get("DiscountType", "PERCENT") == "PERCENT":
            gross -= gross * discount / 100
        else:
            gross -= discount
    out["Total"] = money(gross)
    out.setdefault("Discount", 0.0)
    out.setdefault("DiscountType", "PERCENT")
    out.setdefault("HouseWork", False)
    if kind is INVOICE:
        out["PriceExcludingVAT"] = float(price)
        out["TotalExcludingVAT"] = money(gross)
    out["RowId"] = ctx.tenant.next_number("rows")
    return out


def _totals(record: dict[str, Any], kind: Kind) -> None:
    net = Decimal(0)
    vat = Decimal(0)
    included = bool(record.get("VATIncluded"))
    for row in record[kind.rows]:
        total = Decimal(str(row["Total"]))
        rate = Decimal(str(row.get("VAT") or 0))
        if included:
            row_vat = total * rate / (100 + rate)
            net += total - row_vat
            vat += row_vat
        else:
            net += total
            vat += total * rate / 100
    freight = Decimal(str(record.get("Freight") or 0))
    fee = Decimal(str(record.get("AdministrationFee") or 0))
    freight_vat = freight * Decimal("0.25")
    fee_vat = fee * Decimal("0.25")
    # Amounts are in öre before the whole-kronor rounding, as on the printed document.
    gross = (net + freight + fee).quantize(CENT, ROUND_HALF_UP)
    total_vat = (vat + freight_vat + fee_vat).quantize(CENT, ROUND_HALF_UP)
    exact = gross + total_vat
    # Whole-kronor rounding of SEK documents (the RoundOff field).
    rounded = exact.quantize(Decimal(1), ROUND_HALF_UP)
    record.update(
        Net=money(net),
        Gross=money(gross),
        FreightVAT=money(freight_vat),
        AdministrationFeeVAT=money(fee_vat),
        TotalVAT=money(total_vat),
        RoundOff=money(rounded - exact),
        Total=money(rounded),
        TotalToPay=money(rounded),
    )


def _ocr(number: int) -> str:
    """Document number plus a Luhn check digit (Swedish OCR reference)."""
    digits = [int(d) for d in str(number)]
    total = 0
    for i, digit in enumerate(reversed(digits)):
        doubled = digit * 2 if i % 2 == 0 else digit
        total += doubled - 9 if doubled > 9 else doubled
    return f"{number}{(10 - total % 10) % 10}"


def build(
    ctx: Ctx, kind: Kind, item: dict[str, Any], existing: dict[str, Any] | None = None,
    credit: bool = False,
) -> dict[str, Any]:  # fmt: skip
    """A complete stored document from a payload item (and the stored one for a PUT)."""
    record = copy.deepcopy(existing) if existing else {}
    header = {k: v for k, v in item.items() if k != kind.rows}
    new_customer = existing is None or (
        "CustomerNumber" in header and header["CustomerNumber"] != existing["CustomerNumber"]
    )
    record.update(header)
    if new_customer:
        customer = _customer(ctx, record.get("CustomerNumber"))
        for target, source in CUSTOMER_FIELDS.items():
            if target not in header and customer.get(source) not in (None, ""):
                record[target] = customer[source]
        email = customer.get("EmailInvoice" if kind is INVOICE else "EmailOrder") or customer.get(
            "Email"
        )
        info = dict(record.get("EmailInformation") or {})
        if email and not info.get("EmailAddressTo"):
            info["EmailAddressTo"] = email
        record["EmailInformation"] = info
    check_header_refs(ctx, header)
    if existing is None:
        # Values inherited from the customer card must be valid too.
        inherited = ("CostCenter", "TermsOfDelivery", "WayOfDelivery", "PriceList")
        check_header_refs(ctx, {name: record.get(name) for name in inherited})
    if kind.rows in item:
        rows = _merge_rows(ctx, kind, existing[kind.rows] if existing else [], item[kind.rows])
        record[kind.rows] = [_build_row(ctx, kind, row, record, credit) for row in rows]
    elif existing is None:
        record[kind.rows] = []
    elif existing is not None:
        # A PUT without rows keeps them, but "new RowIds are generated for all rows on every
        # update" (spec PUT description).
        for row in record[kind.rows]:
            row["RowId"] = ctx.tenant.next_number("rows")
    today = ctx.today().isoformat()
    record.setdefault("Currency", "SEK")
    record.setdefault("CurrencyRate", 1.0)
    record.setdefault("CurrencyUnit", 1.0)
    record.setdefault("VATIncluded", False)
    record.setdefault("Freight", 0.0)
    record.setdefault("AdministrationFee", 0.0)
    record.setdefault("NotCompleted", False)
    record.setdefault("Language", "SV")
    record.setdefault(kind.date_field, today)
    record.setdefault("Cancelled", False)
    record.setdefault("Sent", False)
    record.setdefault("HouseWork", False)
    record.setdefault("TaxReductionType", "none")
    record.setdefault("Labels", [])
    if kind is ORDER:
        record.setdefault("OrderType", "Order")
        record.setdefault("DeliveryState", "registration")
        record.setdefault("CopyRemarks", False)
        # Fortnox shows "0" for "no invoice yet".
        record.setdefault("InvoiceReference", "0")
        record.setdefault("OfferReference", "0")
    else:
        record.setdefault("InvoiceType", "INVOICE")
        record.setdefault("Booked", False)
        record.setdefault("Credit", credit)
        record.setdefault("OrderReference", "0")
        record.setdefault("OfferReference", "0")
        record.setdefault("ContractReference", "0")
        record.setdefault("CreditInvoiceReference", "0")
        record.setdefault("AccountingMethod", "ACCRUAL")
        record.setdefault("Reminders", 0)
        record.setdefault("NoxFinans", False)
        terms = str(record.get("TermsOfPayment") or "30")
        days = int(terms) if terms.isdigit() else 30
        if "DueDate" not in header and (existing is None or "InvoiceDate" in header):
            invoice_date = dt.date.fromisoformat(record["InvoiceDate"])
            record["DueDate"] = (invoice_date + dt.timedelta(days=days)).isoformat()
    _totals(record, kind)
    if kind is INVOICE:
        record["Balance"] = 0.0 if record.get("Cancelled") else record["Total"]
    return record


def _document_number(ctx: Ctx, kind: Kind, item: dict[str, Any]) -> int:
    """The number the new document gets (the series counter moves only once it is stored,
    so a refused document uses no number)."""
    documents = store(ctx, kind)
    wanted = item.get("DocumentNumber")
    if wanted in (None, ""):
        number = ctx.tenant.counters.get(kind.series, 0) + 1
        while number in documents:
            number += 1
        return number
    if not str(wanted).isdigit():
        raise FortnoxError(E.MUST_BE_NUMERIC, value=wanted)
    number = int(wanted)
    if number in documents:
        raise FortnoxError(E.ALREADY_EXISTS, what="Dokumentnummer", value=number)
    return number


def create(ctx: Ctx, kind: Kind, item: dict[str, Any], credit: bool = False) -> dict[str, Any]:
    number = _document_number(ctx, kind, item)
    record = build(ctx, kind, {**item, "DocumentNumber": str(number)}, credit=credit)
    ctx.tenant.counters[kind.series] = max(ctx.tenant.counters.get(kind.series, 0), number)
    if kind is INVOICE:
        record["OCR"] = item.get("OCR") or _ocr(number)
    touch(ctx, record)
    store(ctx, kind)[number] = record
    return record


def _locked(kind: Kind, record: dict[str, Any]) -> str | None:
    if record.get("Cancelled"):
        return f"{kind.what.capitalize()} är makulerad och kan inte ändras."
    if kind is ORDER and record.get("InvoiceReference") not in (None, "", "0"):
        return "Ordern är fakturerad och kan inte ändras."
    if kind is INVOICE and record.get("Booked"):
        return "Fakturan är bokförd och kan inte ändras."
    return None


# ---------------------------------------------------------------------------------- handlers
def _list(ctx: Ctx, kind: Kind) -> Reply:
    items = modified_since(ctx, store(ctx, kind).values())
    today = ctx.today().isoformat()
    query = ctx.query
    if "fromdate" in query:
        start = parse_date(query["fromdate"]).isoformat()
        items = [i for i in items if (i.get(kind.date_field) or "") >= start]
    if "todate" in query:
        end = parse_date(query["todate"]).isoformat()
        items = [i for i in items if (i.get(kind.date_field) or "") <= end]
    if "fromfinalpaydate" in query:
        start = parse_date(query["fromfinalpaydate"]).isoformat()
        items = [i for i in items if (i.get("FinalPayDate") or "") >= start]
    if "tofinalpaydate" in query:
        end = parse_date(query["tofinalpaydate"]).isoformat()
        items = [i for i in items if i.get("FinalPayDate") and i["FinalPayDate"] <= end]
    if "filter" in query:
        items = [i for i in items if _filter(kind, query["filter"], i, today)]
    for param, value in query.items():
        if param in SEARCH_FIELDS:
            items = [i for i in items if _search(param, value, i, kind)]
    sortby = {
        "customername": lambda i: (i.get("CustomerName") or "").lower(),
        "customernumber": lambda i: natural_key(i.get("CustomerNumber")),
        "documentnumber": lambda i: int(i["DocumentNumber"]),
        "total": lambda i: i.get("Total") or 0,
        "orderdate" if kind is ORDER else "invoicedate": lambda i: i.get(kind.date_field) or "",
    }
    if kind is INVOICE:
        sortby["ocr"] = lambda i: i.get("OCR") or ""
    items = sort_items(ctx, items, sortby, lambda i: int(i["DocumentNumber"]))
    return paginate(ctx, items, kind.plural, lambda i: render(ctx, kind, i, kind.list_item))


def _filter(kind: Kind, name: str, doc: dict[str, Any], today: str) -> bool:
    invoiced = doc.get("InvoiceReference") not in (None, "", "0")
    cancelled = bool(doc.get("Cancelled"))
    if kind is ORDER:
        filters = {
            "cancelled": cancelled,
            # "expired": delivery date passed without an invoice (the sandbox's reading).
            "expired": not cancelled
            and not invoiced
            and bool(doc.get("DeliveryDate"))
            and doc["DeliveryDate"] < today,
            "invoicecreated": invoiced,
            "invoicenotcreated": not invoiced and not cancelled,
        }
    else:
        unpaid = not cancelled and (doc.get("Balance") or 0) != 0
        filters = {
            "cancelled": cancelled,
            "fullypaid": not cancelled and (doc.get("Balance") or 0) == 0,
            "unpaid": unpaid,
            "unpaidoverdue": unpaid and (doc.get("DueDate") or "9999") < today,
            "unbooked": not cancelled and not doc.get("Booked"),
        }
    if name not in filters:
        raise FortnoxError(E.INVALID_PARAMETER)
    return filters[name]


# Search parameter -> field (substring match, FACTS.md §2); "bool:" marks true/false ones.
SEARCH_FIELDS = {
    "customername": "CustomerName",
    "customernumber": "CustomerNumber",
    "documentnumber": "DocumentNumber",
    "externalinvoicereference1": "ExternalInvoiceReference1",
    "externalinvoicereference2": "ExternalInvoiceReference2",
    "costcenter": "CostCenter",
    "project": "Project",
    "ourreference": "OurReference",
    "yourreference": "YourReference",
    "yourordernumber": "YourOrderNumber",
    "ordertype": "OrderType",
    "ocr": "OCR",
    "invoicetype": "InvoiceType",
    "currency": "Currency",
    "sent": "bool:Sent",
    "notcompleted": "bool:NotCompleted",
    "credit": "bool:Credit",
    "articlenumber": "row:ArticleNumber",
    "articledescription": "row:Description",
    "label": "label",
}


def _search(param: str, value: str, doc: dict[str, Any], kind: Kind) -> bool:
    target = SEARCH_FIELDS[param]
    if target.startswith("bool:"):
        return bool(doc.get(target[5:])) == parse_bool(value)
    if target.startswith("row:"):
        return any(contains(row.get(target[4:]), value) for row in doc[kind.rows])
    if target == "label":
        return any(str(label.get("Id")) == value for label in doc.get("Labels") or [])
    return contains(doc.get(target), value)


def _get(ctx: Ctx, kind: Kind, number: str) -> Reply:
    return Reply(200, {kind.singular: render(ctx, kind, find_document(ctx, kind, number))})


def _post(ctx: Ctx, kind: Kind) -> Reply:
    record = create(ctx, kind, payload(ctx, kind.singular))
    return Reply(201, {kind.singular: render(ctx, kind, record)})


def _put(ctx: Ctx, kind: Kind, number: str) -> Reply:
    existing = find_document(ctx, kind, number)
    reason = _locked(kind, existing)
    if reason:
        raise FortnoxError(E.DOCUMENT_LOCKED, detail=reason)
    item = payload(ctx, kind.singular)
    if "DocumentNumber" in item and str(item["DocumentNumber"]) != number:
        raise FortnoxError(E.VALUE_INVALID, field="DocumentNumber", detail="kan inte ändras")
    record = build(ctx, kind, item, existing)
    touch(ctx, record)
    store(ctx, kind)[int(number)] = record
    return Reply(200, {kind.singular: render(ctx, kind, record)})


def _mark_sent(ctx: Ctx, record: dict[str, Any]) -> None:
    record["Sent"] = True
    touch(ctx, record)


def _pdf_lines(kind: Kind, record: dict[str, Any]) -> list[str]:
    lines = [
        f"Kund: {record.get('CustomerNumber')} {record.get('CustomerName') or ''}",
        f"Datum: {record.get(kind.date_field)}",
        f"Er referens: {record.get('YourReference') or ''}",
        f"Vår referens: {record.get('OurReference') or ''}",
        "",
    ]
    for row in record[kind.rows]:
        article = row.get("ArticleNumber") or ""
        if article:
            lines.append(
                f"{article:<10} {(row.get('Description') or '')[:50]:<50} "
                f"{row['DeliveredQuantity']:>8} {row.get('Unit') or '':<5} {row['Total']:>12.2f}"
            )
        else:
            lines.append(f"{'':<10} {row.get('Description') or ''}")
    lines += ["", f"Netto: {record['Net']:.2f}  Moms: {record['TotalVAT']:.2f}  "
              f"Att betala: {record['Total']:.2f} {record.get('Currency')}"]  # fmt: skip
    if record.get("Remarks"):
        lines += ["", *str(record["Remarks"]).splitlines()]
    return lines


# What a print/preview call may ask for. The spec declares the 200 answer as application/pdf;
# clients in the wild send Accept: application/json and get the PDF (FACTS.md §2). Both are
# answered with the PDF; anything else (text/html, application/xml…) is 1000030.
PDF_ACCEPT = ("application/pdf", "application/json", "application/*", "*/*")


def _pdf(ctx: Ctx, kind: Kind, number: str, sets_sent: bool) -> Reply:
    accept = ctx.accept.strip()
    if accept and not any(media in accept for media in PDF_ACCEPT):
        raise FortnoxError(E.INVALID_RESPONSE_TYPE)
    record = find_document(ctx, kind, number)
    if sets_sent:
        _mark_sent(ctx, record)
    title = f"{'Order' if kind is ORDER else 'Faktura'} {record['DocumentNumber']}"
    return Reply(200, pdf=render_pdf(title, _pdf_lines(kind, record)))


def _email(ctx: Ctx, kind: Kind, number: str) -> Reply:
    record = find_document(ctx, kind, number)
    if not (record.get("EmailInformation") or {}).get("EmailAddressTo"):
        raise FortnoxError(
            E.DOCUMENT_LOCKED, detail="E-postadress saknas (EmailInformation.EmailAddressTo)."
        )
    _mark_sent(ctx, record)
    return Reply(200, {kind.singular: render(ctx, kind, record)})


def _externalprint(ctx: Ctx, kind: Kind, number: str) -> Reply:
    record = find_document(ctx, kind, number)
    _mark_sent(ctx, record)
    return Reply(200, {kind.singular: render(ctx, kind, record)})


# ---------------------------------------------------------------------------------- actions
def create_invoice_from_order(ctx: Ctx, number: str) -> dict[str, Any]:
    """``PUT /3/orders/{n}/createinvoice``: the new invoice (its number is in the order's
    InvoiceReference, the order's in its OrderReference — FACTS.md §4)."""
    order = find_document(ctx, ORDER, number)
    if order.get("Cancelled"):
        raise FortnoxError(E.DOCUMENT_LOCKED, detail="Ordern är makulerad.")
    if order.get("InvoiceReference") not in (None, "", "0"):
        raise FortnoxError(E.DOCUMENT_LOCKED, detail="Ordern är redan fakturerad.")
    header_fields = set(properties(INVOICE.payload)) - {"DocumentNumber", "InvoiceRows", "Remarks"}
    item = {k: v for k, v in order.items() if k in header_fields and v is not None}
    for name in ("InvoiceDate", "DueDate", "OCR"):
        item.pop(name, None)
    if order.get("CopyRemarks") and order.get("Remarks"):
        item["Remarks"] = order["Remarks"]
    row_fields = set(properties(INVOICE.row_payload)) - {"RowId"}
    item["InvoiceRows"] = [
        {k: v for k, v in row.items() if k in row_fields and v is not None}
        for row in order["OrderRows"]
    ]
    invoice = create(ctx, INVOICE, item)
    invoice["OrderReference"] = order["DocumentNumber"]
    order["InvoiceReference"] = invoice["DocumentNumber"]
    touch(ctx, order)
    return invoice


def cancel(ctx: Ctx, kind: Kind, number: str) -> dict[str, Any]:
    record = find_document(ctx, kind, number)
    if record.get("Cancelled"):
        detail = f"{kind.what.capitalize()} är redan makulerad."
        raise FortnoxError(E.DOCUMENT_LOCKED, detail=detail)
    if kind is ORDER and record.get("InvoiceReference") not in (None, "", "0"):
        raise FortnoxError(E.DOCUMENT_LOCKED, detail="En fakturerad order kan inte makuleras.")
    if kind is INVOICE and record.get("Booked"):
        raise FortnoxError(
            E.DOCUMENT_LOCKED, detail="En bokförd faktura kan inte makuleras; kreditera den."
        )
    record["Cancelled"] = True
    if kind is INVOICE:
        record["Balance"] = 0.0
    touch(ctx, record)
    return record


def bookkeep(ctx: Ctx, number: str) -> dict[str, Any]:
    record = find_document(ctx, INVOICE, number)
    if record.get("Cancelled"):
        raise FortnoxError(E.DOCUMENT_LOCKED, detail="Fakturan är makulerad.")
    if record.get("Booked"):
        raise FortnoxError(E.DOCUMENT_LOCKED, detail="Fakturan är redan bokförd.")
    record["Booked"] = True
    record["VoucherSeries"] = "B"
    record["VoucherNumber"] = ctx.tenant.next_number("vouchers_B")
    record["VoucherYear"] = dt.date.fromisoformat(record["InvoiceDate"]).year
    touch(ctx, record)
    return record


def credit(ctx: Ctx, number: str) -> dict[str, Any]:
    original = find_document(ctx, INVOICE, number)
    if not original.get("Booked") or original.get("Credit"):
        raise FortnoxError(E.DOCUMENT_LOCKED, detail="Endast bokförda fakturor kan krediteras.")
    if original.get("CreditInvoiceReference") not in (None, "", "0"):
        raise FortnoxError(E.DOCUMENT_LOCKED, detail="Fakturan är redan krediterad.")
    header_fields = set(properties(INVOICE.payload)) - {"DocumentNumber", "InvoiceRows", "OCR"}
    item = {k: v for k, v in original.items() if k in header_fields and v is not None}
    item.pop("InvoiceDate", None)
    item.pop("DueDate", None)
    row_fields = set(properties(INVOICE.row_payload)) - {"RowId"}
    item["InvoiceRows"] = [
        {k: v for k, v in row.items() if k in row_fields and v is not None}
        for row in original["InvoiceRows"]
    ]
    credit_note = create(ctx, INVOICE, item, credit=True)
    credit_note["CreditInvoiceReference"] = original["DocumentNumber"]
    original["CreditInvoiceReference"] = credit_note["DocumentNumber"]
    touch(ctx, original)
    return original


def pay(ctx: Ctx, number: str, amount: float | None) -> dict[str, Any]:
    """Register a customer payment (accountant control; Fortnox's payment API is not emulated)."""
    record = find_document(ctx, INVOICE, number)
    if record.get("Cancelled"):
        raise FortnoxError(E.DOCUMENT_LOCKED, detail="Fakturan är makulerad.")
    paid = Decimal(str(record["Balance"] if amount is None else amount))
    balance = Decimal(str(record["Balance"])) - paid
    record["Balance"] = money(balance)
    if balance == 0:
        record["FinalPayDate"] = ctx.today().isoformat()
    touch(ctx, record)
    return record


# ---------------------------------------------------------------------------------- routes
NUMBER = r"(?P<number>[^/]+)"

for _kind in (ORDER, INVOICE):

    def _install(kind: Kind) -> None:
        series, scope = kind.series, kind.scope
        route("GET", series, scope, is_list=True)(lambda ctx: _list(ctx, kind))
        route("POST", series, scope)(lambda ctx: _post(ctx, kind))
        route("GET", f"{series}/{NUMBER}", scope)(lambda ctx, number: _get(ctx, kind, number))
        route("PUT", f"{series}/{NUMBER}", scope)(lambda ctx, number: _put(ctx, kind, number))
        route("GET", f"{series}/{NUMBER}/print", scope, is_pdf=True)(
            lambda ctx, number: _pdf(ctx, kind, number, sets_sent=True)
        )
        route("GET", f"{series}/{NUMBER}/preview", scope, is_pdf=True)(
            lambda ctx, number: _pdf(ctx, kind, number, sets_sent=False)
        )
        route("GET", f"{series}/{NUMBER}/email", scope)(
            lambda ctx, number: _email(ctx, kind, number)
        )
        route("PUT", f"{series}/{NUMBER}/externalprint", scope)(
            lambda ctx, number: _externalprint(ctx, kind, number)
        )
        route("PUT", f"{series}/{NUMBER}/cancel", scope)(
            lambda ctx, number: Reply(
                200, {kind.singular: render(ctx, kind, cancel(ctx, kind, number))}
            )
        )

    _install(_kind)


# createinvoice needs the invoice scope as well as order: it creates an invoice (the sandbox's
# reading; FACTS.md §1 lists Invoices under the invoice scope).
@route("PUT", f"orders/{NUMBER}/createinvoice", "order", "invoice")
def _createinvoice(ctx: Ctx, number: str) -> Reply:
    invoice = create_invoice_from_order(ctx, number)
    if ctx.config["SANDBOX_CREATEINVOICE_RETURNS"] == "Order":
        # Spec-2026-04 declares the Order wrapper (FACTS.md §4 thinks it a generator regression).
        return Reply(200, {"Order": render(ctx, ORDER, find_document(ctx, ORDER, number))})
    return Reply(200, {"Invoice": render(ctx, INVOICE, invoice)})


@route("PUT", f"invoices/{NUMBER}/bookkeep", "invoice")
def _bookkeep(ctx: Ctx, number: str) -> Reply:
    return Reply(200, {"Invoice": render(ctx, INVOICE, bookkeep(ctx, number))})


@route("PUT", f"invoices/{NUMBER}/credit", "invoice")
def _credit(ctx: Ctx, number: str) -> Reply:
    return Reply(200, {"Invoice": render(ctx, INVOICE, credit(ctx, number))})


__all__ = ["INVOICE", "ORDER", "bookkeep", "cancel", "create", "create_invoice_from_order", "pay"]
