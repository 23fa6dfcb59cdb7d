"""Registers: customers, articles, prices, cost centers, delivery terms/ways, attendance."""

from __future__ import annotations

import pytest

from fortnox_sandbox.testing import SandboxServer

from .conftest import Api, error_code


def test_company_information(api: Api) -> None:
    answer = api.get("/companyinformation")

    assert answer.status_code == 200
    info = answer.json()["CompanyInformation"]
    assert info["DatabaseNumber"] == api.tokens.tenant
    assert info["CompanyName"] == "Sandlådan AB"


def test_customer_crud_with_wrappers(api: Api) -> None:
    created = api.post("/customers", {"Customer": {"Name": "Nya Kunden AB", "ZipCode": "11122"}})
    assert created.status_code == 201
    customer = created.json()["Customer"]
    number = customer["CustomerNumber"]
    assert number == "4"  # after the three seeded customers
    assert customer["@url"].endswith(f"/3/customers/{number}")
    assert customer["Active"] is True and customer["Email"] is None

    updated = api.put(f"/customers/{number}", {"Customer": {"City": "Stockholm"}})
    assert updated.status_code == 200
    assert updated.json()["Customer"]["City"] == "Stockholm"
    assert updated.json()["Customer"]["Name"] == "Nya Kunden AB"  # partial update

    assert api.get(f"/customers/{number}").json()["Customer"]["City"] == "Stockholm"
    assert api.delete(f"/customers/{number}").status_code == 204
    gone = api.get(f"/customers/{number}")
    assert gone.status_code == 404 and error_code(gone) == 2000433


def test_a_used_customer_number_is_never_reused(api: Api) -> None:
    api.post("/customers", {"Customer": {"CustomerNumber": "K9", "Name": "A"}})
    api.delete("/customers/K9")

    again = api.post("/customers", {"Customer": {"CustomerNumber": "K9", "Name": "B"}})

    assert again.status_code == 400 and error_code(again) == 2000637


def test_customer_validation(api: Api) -> None:
    no_name = api.post("/customers", {"Customer": {"City": "Umeå"}})
    long_zip = api.post("/customers", {"Customer": {"Name": "A", "ZipCode": "1" * 11}})
    unknown_terms = api.post("/customers", {"Customer": {"Name": "A", "TermsOfDelivery": "XX"}})

    assert no_name.status_code == 400
    assert (
        long_zip.status_code == 400 and "ZipCode" in long_zip.json()["ErrorInformation"]["message"]
    )
    assert unknown_terms.status_code == 400


def test_lists_paginate_with_meta_information(api: Api) -> None:
    for i in range(7):
        api.post("/customers", {"Customer": {"Name": f"Kund {i}"}})

    page_two = api.get("/customers", params={"limit": 4, "page": 2}).json()

    assert page_two["MetaInformation"] == {
        "@TotalResources": 10,
        "@TotalPages": 3,
        "@CurrentPage": 2,
    }
    assert [c["CustomerNumber"] for c in page_two["Customers"]] == ["5", "6", "7", "8"]


@pytest.mark.parametrize(
    "params",
    [{"limit": 501}, {"limit": 0}, {"page": "x"}, {"CustomerNumber": "1"}, {"colour": "red"},
     {"name": "a", "city": "b"}, {"sortby": "colour"}, {"filter": "deleted"}],
)  # fmt: skip
def test_invalid_list_parameters_are_2000588(api: Api, params: dict[str, object]) -> None:
    answer = api.get("/customers", params=params)

    assert answer.status_code == 400 and error_code(answer) == 2000588


def test_search_filter_and_sort(api: Api) -> None:
    by_name = api.get("/customers", params={"name": "linden"}).json()["Customers"]
    descending = api.get("/customers", params={"sortby": "name", "sortorder": "descending"}).json()[
        "Customers"
    ]
    api.put("/customers/3", {"Customer": {"Active": False}})
    inactive = api.get("/customers", params={"filter": "inactive"}).json()["Customers"]

    assert [c["CustomerNumber"] for c in by_name] == ["2"]
    assert [c["Name"] for c in descending][0] == "Per Persson"
    assert [c["CustomerNumber"] for c in inactive] == ["3"]


def test_lastmodified_lists_only_later_changes(sandbox: SandboxServer) -> None:
    sandbox.set_clock("2030-01-15T08:00:00+01:00")
    api = Api(sandbox, sandbox.obtain_tokens())  # the seeded customers date from 08:00
    api.post("/customers", {"Customer": {"Name": "Tidig"}})
    sandbox.advance_clock(2.5 * 3600)  # 10:30, Swedish time
    api.tokens = sandbox.obtain_tokens()  # the first token expired at 09:00
    assert api.put("/customers/1", {"Customer": {"Phone1": "070-000 00"}}).status_code == 200

    changed = api.get("/customers", params={"lastmodified": "2030-01-15 10:00"}).json()
    bad_format = api.get("/customers", params={"lastmodified": "yesterday"})

    assert [c["CustomerNumber"] for c in changed["Customers"]] == ["1"]
    assert bad_format.status_code == 400 and error_code(bad_format) == 2000588


def test_lastmodified_is_refused_where_fortnox_has_no_such_parameter(api: Api) -> None:
    answer = api.get("/costcenters", params={"lastmodified": "2026-11-20 10:00"})

    assert answer.status_code == 400 and error_code(answer) == 2000588


def test_article_crud_and_sales_price_in_price_list_a(api: Api) -> None:
    created = api.post(
        "/articles", {"Article": {"ArticleNumber": "300", "Description": "Termostat",
                                  "Unit": "st", "SalesPrice": 199.0}}
    )  # fmt: skip
    assert created.status_code == 201
    assert created.json()["Article"]["SalesPrice"] == 199.0

    price = api.get("/prices/A/300").json()["Price"]
    assert price["Price"] == 199.0 and price["FromQuantity"] == 0

    api.put("/prices/A/300", {"Price": {"Price": 249.0}})
    assert api.get("/articles/300").json()["Article"]["SalesPrice"] == 249.0

    renamed = api.put("/articles/300", {"Article": {"ArticleNumber": "301"}})
    assert renamed.status_code == 400
    taken = api.post("/articles", {"Article": {"ArticleNumber": "300", "Description": "X"}})
    assert taken.status_code == 400 and error_code(taken) == 2000013
    missing = api.get("/articles/nope")
    assert missing.status_code == 404 and error_code(missing) == 2000428


def test_article_unit_must_exist(api: Api) -> None:
    answer = api.post("/articles", {"Article": {"Description": "X", "Unit": "parsec"}})

    assert answer.status_code == 400


def test_quantity_prices(api: Api) -> None:
    added = api.post(
        "/prices", {"Price": {"PriceList": "A", "ArticleNumber": "200", "FromQuantity": 10,
                              "Price": 300.0}}
    )  # fmt: skip
    assert added.status_code == 201

    sublist = api.get("/prices/sublist/A/200").json()
    assert [(p["FromQuantity"], p["Price"]) for p in sublist["Prices"]] == [
        (0.0, 389.0),
        (10.0, 300.0),
    ]
    # The price list's quantity price applies on an order row without a price.
    order = api.post(
        "/orders", {"Order": {"CustomerNumber": "1",
                              "OrderRows": [{"ArticleNumber": "200", "OrderedQuantity": "12"}]}}
    ).json()["Order"]  # fmt: skip
    assert order["OrderRows"][0]["Price"] == 300.0

    assert api.delete("/prices/A/200/10").status_code == 204
    assert api.get("/prices/A/200/10").status_code == 404


@pytest.mark.parametrize(
    ("path", "wrapper", "plural", "item", "deletable"),
    [
        ("/costcenters", "CostCenter", "CostCenters", {"Code": "300", "Description": "Väst"},
         True),
        ("/termsofdeliveries", "TermsOfDelivery", "TermsOfDeliveries",
         {"Code": "EXW", "Description": "Ex works"}, False),
        ("/wayofdeliveries", "WayOfDelivery", "WayOfDeliveries",
         {"Code": "BUD", "Description": "Bud"}, True),
    ],
)  # fmt: skip
def test_lookup_registers(
    api: Api, path: str, wrapper: str, plural: str, item: dict[str, str], deletable: bool
) -> None:
    created = api.post(path, {wrapper: item})
    assert created.status_code == 201
    assert created.json()[wrapper]["Code"] == item["Code"]

    listed = api.get(path).json()
    assert item["Code"] in [r["Code"] for r in listed[plural]]
    assert listed["MetaInformation"]["@TotalResources"] == len(listed[plural])

    updated = api.put(f"{path}/{item['Code']}", {wrapper: {"Description": "Ändrad"}})
    assert updated.json()[wrapper]["Description"] == "Ändrad"

    duplicate = api.post(path, {wrapper: item})
    assert duplicate.status_code == 400

    deleted = api.delete(f"{path}/{item['Code']}")
    assert deleted.status_code == (204 if deletable else 405)


def test_cost_center_code_is_at_most_six_characters(api: Api) -> None:
    answer = api.post("/costcenters", {"CostCenter": {"Code": "1234567", "Description": "X"}})

    assert answer.status_code == 400


def test_attendance_transactions(api: Api) -> None:
    sent = {"EmployeeId": "1", "Date": "2026-11-20", "CauseCode": "TID", "Hours": "7.5",
            "CostCenter": "100"}  # fmt: skip

    created = api.post("/attendancetransactions", {"AttendanceTransaction": sent})
    assert created.status_code == 200  # the spec declares 200 for this POST
    record = created.json()["AttendanceTransaction"]
    assert {k: record[k] for k in sent} == sent and record["id"]

    listed = api.get("/attendancetransactions", params={"employeeid": "1"}).json()
    assert [t["id"] for t in listed["AttendanceTransactions"]] == [record["id"]]

    changed = api.put(
        f"/attendancetransactions/{record['id']}", {"AttendanceTransaction": {"Hours": "8"}}
    )
    assert changed.json()["AttendanceTransaction"]["Hours"] == "8"
    assert api.delete(f"/attendancetransactions/{record['id']}").status_code == 200
    assert api.get(f"/attendancetransactions/{record['id']}").status_code == 404


@pytest.mark.parametrize(
    "change",
    [{"EmployeeId": "77"}, {"CauseCode": "XYZ"}, {"Hours": "sju"}, {"CostCenter": "999"},
     {"Date": "2026-13-01"}],
)  # fmt: skip
def test_attendance_transactions_are_validated(api: Api, change: dict[str, str]) -> None:
    sent = {"EmployeeId": "1", "Date": "2026-11-20", "CauseCode": "TID", "Hours": "7.5", **change}

    answer = api.post("/attendancetransactions", {"AttendanceTransaction": sent})

    assert answer.status_code == 400
    assert "ErrorInformation" in answer.json()


def test_unknown_resources_and_methods(api: Api) -> None:
    unknown = api.get("/nothing")
    not_emulated = api.get("/vouchers")
    wrong_method = api.delete("/orders/1")

    assert unknown.status_code == 404
    assert not_emulated.status_code == 501
    assert wrong_method.status_code == 405
