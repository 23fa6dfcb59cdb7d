"""Orders and invoices: create, read, update, actions, PDFs, and the shapes Fortnox refuses."""

from __future__ import annotations

from typing import Any

import pytest

from fortnox_sandbox.testing import SandboxServer

from .conftest import Api, error_code

ORDER: dict[str, Any] = {
    "Order": {
        "CustomerNumber": "1",
        "YourReference": "Anna Ek",
        "OurReference": "AO 1042",
        "ExternalInvoiceReference1": "ordna:subgroup-1:order-1042",
        "Remarks": "Bytt filter i aggregat 2.",
        "CostCenter": "100",
        "TermsOfDelivery": "FVL",
        "WayOfDelivery": "P",
        "OrderRows": [
            {"Description": "2026-11-20: Felsökning"},
            {"ArticleNumber": "100", "OrderedQuantity": "2", "DeliveredQuantity": "2"},
            {"ArticleNumber": "200", "OrderedQuantity": "1", "DeliveredQuantity": "1",
             "Price": 400.0, "Unit": "st"},
        ],
    }
}  # fmt: skip


def create_order(api: Api, body: dict[str, Any] = ORDER) -> dict[str, Any]:
    answer = api.post("/orders", body)
    assert answer.status_code == 201, answer.text
    return answer.json()["Order"]


def test_an_order_gets_a_number_totals_and_customer_data(api: Api) -> None:
    order = create_order(api)

    assert order["DocumentNumber"] == "1"
    assert order["CustomerName"] == "Kyltekniker i Norr AB"  # from the customer card
    assert order["City"] == "Umeå"
    text, work, part = order["OrderRows"]
    assert text["Description"] == "2026-11-20: Felsökning" and text["Total"] == 0
    # No price sent: the article's price in price list A (650), unit and VAT from the article.
    assert (work["Price"], work["Unit"], work["VAT"], work["Total"]) == (650.0, "tim", 25.0, 1300.0)
    assert work["Description"] == "Arbetstid"
    assert part["Total"] == 400.0
    assert (order["Net"], order["TotalVAT"], order["Total"]) == (1700.0, 425.0, 2125.0)
    assert order["InvoiceReference"] == "0" and order["Sent"] is False
    assert order["ExternalInvoiceReference1"] == "ordna:subgroup-1:order-1042"
    assert create_order(api)["DocumentNumber"] == "2"


def test_totals_round_to_whole_kronor(api: Api) -> None:
    body = {"Order": {"CustomerNumber": "1", "OrderRows": [
        {"ArticleNumber": "200", "DeliveredQuantity": "1", "Price": 10.3}]}}  # fmt: skip

    order = create_order(api, body)

    assert order["Net"] == 10.3 and order["TotalVAT"] == 2.58
    assert order["Total"] == 13.0 and order["RoundOff"] == 0.12


def test_get_and_list_orders(api: Api) -> None:
    for _ in range(3):
        create_order(api)

    one = api.get("/orders/2")
    listed = api.get("/orders", params={"limit": 2, "page": 2}).json()
    missing = api.get("/orders/99")

    assert one.status_code == 200 and one.json()["Order"]["DocumentNumber"] == "2"
    assert listed["MetaInformation"] == {
        "@TotalResources": 3,
        "@TotalPages": 2,
        "@CurrentPage": 2,
    }
    assert [o["DocumentNumber"] for o in listed["Orders"]] == ["3"]
    assert "OrderRows" not in listed["Orders"][0]
    assert missing.status_code == 404


def test_orders_are_found_by_external_invoice_reference(api: Api) -> None:
    create_order(api)
    other = {"Order": {**ORDER["Order"], "ExternalInvoiceReference1": "ordna:subgroup-1:order-10"}}
    create_order(api, other)

    # Fortnox's search is a substring match (FACTS.md §2): callers must compare exactly.
    found = api.get("/orders", params={"externalinvoicereference1": "order-10"}).json()

    assert sorted(o["ExternalInvoiceReference1"] for o in found["Orders"]) == [
        "ordna:subgroup-1:order-10",
        "ordna:subgroup-1:order-1042",
    ]


def test_put_without_row_ids_matches_rows_by_position(api: Api) -> None:
    create_order(api)

    answer = api.put(
        "/orders/1", {"Order": {"YourReference": "Bo", "OrderRows": [{"Description": "Ny text"}]}}
    )

    order = answer.json()["Order"]
    assert answer.status_code == 200
    assert order["YourReference"] == "Bo" and order["OurReference"] == "AO 1042"
    assert [r["Description"] for r in order["OrderRows"]] == ["Ny text"]  # others deleted


def test_put_with_row_ids_updates_keeps_adds_and_deletes(api: Api) -> None:
    rows = create_order(api)["OrderRows"]
    text_id, work_id = rows[0]["RowId"], rows[1]["RowId"]

    answer = api.put(
        "/orders/1",
        {"Order": {"OrderRows": [
            {"RowId": text_id},
            {"RowId": work_id, "DeliveredQuantity": "3"},
            {"ArticleNumber": "101", "DeliveredQuantity": "1"},
        ]}},
    )  # fmt: skip

    new_rows = answer.json()["Order"]["OrderRows"]
    assert [r["Description"] for r in new_rows] == ["2026-11-20: Felsökning", "Arbetstid", "Restid"]
    assert new_rows[1]["DeliveredQuantity"] == "3.00" and new_rows[1]["Total"] == 1950.0
    # New RowIds for every row on every update (spec PUT description).
    assert not {r["RowId"] for r in new_rows} & {r["RowId"] for r in rows}
    unknown = api.put("/orders/1", {"Order": {"OrderRows": [{"RowId": 424242}]}})
    assert unknown.status_code == 400


def test_createinvoice_returns_the_invoice_and_links_both_ways(api: Api) -> None:
    create_order(api)

    answer = api.put("/orders/1/createinvoice")

    assert answer.status_code == 200
    invoice = answer.json()["Invoice"]
    assert invoice["OrderReference"] == "1"
    assert invoice["Total"] == 2125.0 and invoice["Balance"] == 2125.0
    assert invoice["ExternalInvoiceReference1"] == "ordna:subgroup-1:order-1042"
    assert invoice["Remarks"] is None  # only copied with CopyRemarks
    assert [r["DeliveredQuantity"] for r in invoice["InvoiceRows"]] == ["0.00", "2.00", "1.00"]
    assert invoice["OCR"] and invoice["DueDate"] > invoice["InvoiceDate"]
    order = api.get("/orders/1").json()["Order"]
    assert order["InvoiceReference"] == invoice["DocumentNumber"]
    invoiced = api.get("/orders", params={"filter": "invoicecreated"}).json()["Orders"]
    assert [o["DocumentNumber"] for o in invoiced] == ["1"]

    again = api.put("/orders/1/createinvoice")
    locked = api.put("/orders/1", {"Order": {"Remarks": "sent"}})
    assert again.status_code == 400 and locked.status_code == 400


def test_cancelled_orders_cannot_be_changed_or_invoiced(api: Api) -> None:
    create_order(api)

    cancelled = api.put("/orders/1/cancel")

    assert cancelled.status_code == 200 and cancelled.json()["Order"]["Cancelled"] is True
    assert api.put("/orders/1/createinvoice").status_code == 400
    assert api.put("/orders/1", {"Order": {"Remarks": "x"}}).status_code == 400
    listed = api.get("/orders", params={"filter": "cancelled"}).json()["Orders"]
    assert [o["DocumentNumber"] for o in listed] == ["1"]


@pytest.mark.parametrize("series", ["orders", "invoices"])
def test_print_returns_a_pdf_and_marks_sent_but_preview_does_not(api: Api, series: str) -> None:
    create_order(api)
    if series == "invoices":
        api.put("/orders/1/createinvoice")
    wrapper = "Order" if series == "orders" else "Invoice"

    preview = api.get(f"/{series}/1/preview")
    assert preview.headers["Content-Type"] == "application/pdf"
    assert preview.content.startswith(b"%PDF-") and preview.content.rstrip().endswith(b"%%EOF")
    assert api.get(f"/{series}/1").json()[wrapper]["Sent"] is False

    printed = api.get(f"/{series}/1/print")
    assert printed.status_code == 200 and printed.content.startswith(b"%PDF-")
    assert api.get(f"/{series}/1").json()[wrapper]["Sent"] is True


def test_the_pdf_is_well_formed(api: Api) -> None:
    create_order(api)

    pdf = api.get("/orders/1/preview").content

    # The xref offset points at the xref table and each object offset at its object.
    startxref = int(pdf.rsplit(b"startxref", 1)[1].split()[0])
    assert pdf[startxref:].startswith(b"xref")
    offsets = [int(line[:10]) for line in pdf[startxref:].splitlines()[3:8]]
    for number, offset in enumerate(offsets, start=1):
        assert pdf[offset:].startswith(f"{number} 0 obj".encode())
    assert b"Kyltekniker i Norr AB" in pdf


@pytest.mark.parametrize("accept", ["application/pdf", "application/json", "*/*"])
@pytest.mark.parametrize("call", ["orders/1/print", "orders/1/preview", "invoices/1/print",
                                  "invoices/1/preview"])  # fmt: skip
def test_pdf_endpoints_answer_the_pdf_to_accept_pdf_or_json(
    api: Api, accept: str, call: str
) -> None:
    create_order(api)
    api.put("/orders/1/createinvoice")

    answer = api.get(f"/{call}", headers={"Accept": accept})

    # The spec declares the 200 answer as application/pdf; clients that send
    # Accept: application/json get the PDF too (FACTS.md §2).
    assert answer.status_code == 200
    assert answer.headers["Content-Type"] == "application/pdf"
    assert answer.content.startswith(b"%PDF-")


def test_pdf_endpoints_refuse_other_response_types(api: Api) -> None:
    create_order(api)

    answer = api.get("/orders/1/print", headers={"Accept": "text/html"})

    assert answer.status_code == 400 and error_code(answer) == 1000030
    assert api.get("/orders/1").json()["Order"]["Sent"] is False


def test_invoice_lifecycle(api: Api) -> None:
    created = api.post(
        "/invoices",
        {"Invoice": {"CustomerNumber": "2", "InvoiceDate": "2026-11-20", "YourOrderNumber": "PO-7",
                     "InvoiceRows": [{"ArticleNumber": "100", "DeliveredQuantity": "1.5"}]}},
    )  # fmt: skip
    assert created.status_code == 201
    invoice = created.json()["Invoice"]
    assert invoice["DueDate"] == "2026-12-20" and invoice["Total"] == 1219.0
    assert invoice["Booked"] is False and invoice["Balance"] == invoice["Total"]

    emailed = api.get("/invoices/1/email")
    assert emailed.status_code == 200 and emailed.json()["Invoice"]["Sent"] is True
    booked = api.put("/invoices/1/bookkeep")
    assert booked.json()["Invoice"]["Booked"] is True
    assert booked.json()["Invoice"]["VoucherSeries"] == "B"

    assert api.put("/invoices/1", {"Invoice": {"Remarks": "x"}}).status_code == 400
    assert api.put("/invoices/1/cancel").status_code == 400  # booked: credit instead
    credited = api.put("/invoices/1/credit").json()["Invoice"]
    credit_note = api.get(f"/invoices/{credited['CreditInvoiceReference']}").json()["Invoice"]
    assert credit_note["Credit"] is True and credit_note["Total"] == -invoice["Total"]
    assert (
        api.get("/invoices", params={"credit": "true"}).json()["Invoices"][0]["DocumentNumber"]
        == credit_note["DocumentNumber"]
    )


def test_invoice_update_and_filters(sandbox: SandboxServer, api: Api) -> None:
    for _ in range(2):
        api.post("/invoices", {"Invoice": {"CustomerNumber": "1", "InvoiceRows": [
            {"ArticleNumber": "101", "DeliveredQuantity": "1"}]}})  # fmt: skip

    updated = api.put("/invoices/2", {"Invoice": {"OurReference": "Tina"}})
    assert updated.json()["Invoice"]["OurReference"] == "Tina"
    sandbox.accountant("POST", f"tenants/{api.tokens.tenant}/invoices/1/pay")

    def numbers(filter_name: str) -> list[str]:
        answer = api.get("/invoices", params={"filter": filter_name}).json()
        return [i["DocumentNumber"] for i in answer["Invoices"]]

    assert numbers("fullypaid") == ["1"]
    assert numbers("unpaid") == ["2"]
    assert numbers("unbooked") == ["1", "2"]
    assert api.put("/invoices/2/cancel").json()["Invoice"]["Cancelled"] is True
    assert numbers("cancelled") == ["2"]


# --------------------------------------------------------------------------- refused shapes
def refused(api: Api, body: dict[str, Any], path: str = "/orders") -> tuple[int, int, str]:
    answer = api.post(path, body)
    info = answer.json()["ErrorInformation"]
    return answer.status_code, int(info["code"]), info["message"]


def order_with(**fields: Any) -> dict[str, Any]:
    return {"Order": {"CustomerNumber": "1", **fields}}


def test_unknown_field_is_2001399(api: Api) -> None:
    assert refused(api, order_with(Quantity=1)) == (400, 2001399, "Felaktigt fältnamn (Quantity)")


def test_read_only_field_is_refused(api: Api) -> None:
    status, code, _ = refused(api, order_with(Total=100.0))

    assert (status, code) == (400, 2001399)


@pytest.mark.parametrize(("field", "limit"), [("YourReference", 50), ("Remarks", 1024),
                                              ("OurReference", 50), ("YourOrderNumber", 75),
                                              ("ExternalInvoiceReference1", 80)])  # fmt: skip
def test_too_long_texts_are_refused(api: Api, field: str, limit: int) -> None:
    assert api.post("/orders", order_with(**{field: "x" * limit})).status_code == 201

    status, _, message = refused(api, order_with(**{field: "x" * (limit + 1)}))

    assert status == 400 and field in message


def test_too_long_row_description_is_refused(api: Api) -> None:
    status, _, message = refused(api, order_with(OrderRows=[{"Description": "d" * 256}]))

    assert status == 400 and "Description" in message


def test_missing_customer_number_is_refused(api: Api) -> None:
    status, code, _ = refused(api, {"Order": {"OrderRows": [{"Description": "x"}]}})

    assert (status, code) == (400, 2000204)


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"Order": {"CustomerNumber": "404"}}, 2000204),
        (order_with(OrderRows=[{"ArticleNumber": "NOPE", "DeliveredQuantity": "1"}]), 2001302),
        (order_with(OrderRows=[{"ArticleNumber": "900", "DeliveredQuantity": "1"}]), 2001302),
        (order_with(CostCenter="NOPE"), 2000947),
        (order_with(CostCenter="999"), 2000947),  # inactive
        (order_with(OrderRows=[{"Description": "x", "CostCenter": "999"}]), 2000947),
        (order_with(TermsOfDelivery="NOPE"), 2001392),
        (order_with(WayOfDelivery="NOPE"), 2001392),
        (order_with(OrderRows=[{"ArticleNumber": "100", "AccountNumber": 1234}]), 2001304),
    ],
)
def test_references_to_missing_registers_are_refused(
    api: Api, body: dict[str, Any], code: int
) -> None:
    status, got, _ = refused(api, body)

    assert (status, got) == (400, code)
    assert api.get("/orders").json()["Orders"] == []  # nothing was created


def test_type_errors_follow_fortnox_codes(api: Api) -> None:
    numeric = refused(api, order_with(OrderRows=[{"ArticleNumber": "100", "Price": "gratis"}]))
    boolean = refused(api, order_with(NotCompleted="ja"))
    quantity = refused(api, order_with(OrderRows=[{"ArticleNumber": "100",
                                                   "DeliveredQuantity": "två"}]))  # fmt: skip

    assert numeric[:2] == (400, 2000108)
    assert boolean[:2] == (400, 2000134)
    assert quantity[:2] == (400, 2000108)


def test_body_format_errors(api: Api) -> None:
    bad_json = api.request(
        "POST", "/orders", data=b'{"Order": {', headers={"Content-Type": "application/json"}
    )
    no_wrapper = api.post("/orders", {"CustomerNumber": "1"})
    empty = api.request("POST", "/orders", data=b"", headers={"Content-Type": "application/json"})
    form_type = {"Content-Type": "application/x-www-form-urlencoded"}
    form = api.request("POST", "/orders", data=b"a=1", headers=form_type)

    assert (bad_json.status_code, error_code(bad_json)) == (400, 2002115)
    assert (no_wrapper.status_code, error_code(no_wrapper)) == (400, 2001392)
    assert (empty.status_code, error_code(empty)) == (400, 2001392)
    assert (form.status_code, error_code(form)) == (400, 1000031)


def test_legacy_limits_switch(sandbox: SandboxServer) -> None:
    from fortnox_sandbox.testing import serve

    with serve(SANDBOX_LEGACY_LIMITS=True) as strict:
        api = Api(strict, strict.obtain_tokens())
        long_row = order_with(OrderRows=[{"Description": "d" * 51}])
        assert api.post("/orders", long_row).status_code == 400
        assert api.post("/orders", order_with(YourOrderNumber="1" * 31)).status_code == 400
        assert api.post("/orders", order_with(YourOrderNumber="1" * 30)).status_code == 201
