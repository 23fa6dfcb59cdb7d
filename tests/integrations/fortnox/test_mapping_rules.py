"""The mapping's rules beyond single settings: interactions the spec calls out, text rows,
header formats and cuts, delivery, lookups, the time report and determinism."""

from __future__ import annotations

import dataclasses
import itertools
import json
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from app.integrations.fortnox.mapping import (
    MappingResult,
    map_order,
    send_reference,
    split_text,
    time_report,
)
from app.integrations.fortnox.settings import FortnoxSettings
from app.integrations.fortnox.snapshot import (
    ActionSnapshot,
    ArticleRowSnapshot,
    CommentSnapshot,
    ContactSnapshot,
    CustomerSnapshot,
    FacilitySnapshot,
    Lookups,
    OrderSnapshot,
    ServiceObjectSnapshot,
    UserSnapshot,
)

Make = Callable[..., OrderSnapshot]
ANNA = UserSnapshot("Anna Svensson", id=1, employee_number="1001", cost_center="200")
BO = UserSnapshot("Bo Ek", id=2, employee_number="1002", cost_center="300")
D1, D2, D3 = date(2026, 11, 20), date(2026, 11, 21), date(2026, 11, 22)


def texts(result: MappingResult) -> list[str]:
    return [row.get("Description", "") for row in result.rows]


def articles(result: MappingResult) -> list[tuple[str, str]]:
    return [
        (r["ArticleNumber"], r["DeliveredQuantity"]) for r in result.rows if "ArticleNumber" in r
    ]


def row(number: str, quantity: str = "1", price: str = "100", **kwargs: Any) -> ArticleRowSnapshot:
    kwargs.setdefault("unit", "st")
    name = kwargs.pop("name", f"Artikel {number}")
    return ArticleRowSnapshot(number, name, Decimal(quantity), Decimal(price), **kwargs)


def mapped(order: OrderSnapshot, lookups: Lookups | None = None, **settings: Any) -> MappingResult:
    return map_order(order, FortnoxSettings(**settings), lookups or Lookups())


def bare(make: Make, **overrides: Any) -> OrderSnapshot:
    """A minimal order: no texts, people, actions, rows, comments or custom fields."""
    values: dict[str, Any] = dict(
        facility=None,
        contact=None,
        orderer="",
        assigned_user=None,
        signed_by=None,
        signed_at=None,
        customer_order_number="",
        description="",
        fault_cause="",
        actions=(),
        article_rows=(),
        service_objects=(),
        comments=(),
    )
    values.update(overrides)
    return make(**values)


# --- §3 sum_article_rows within groups -----------------------------------------------------


def test_sum_merges_only_within_one_date_group_under_sort_by_actions(make_snapshot: Make) -> None:
    order = bare(
        make_snapshot,
        article_rows=(
            row("F1", "1", date=D1),
            row("F1", "2", date=D2),
            row("F1", "3", date=D1),
            row("F1", "4"),
            row("F1", "5"),
        ),
    )
    result = mapped(order, sum_article_rows=True, sort_by_actions=True)
    shown = [
        r["DeliveredQuantity"] if "ArticleNumber" in r else r["Description"] for r in result.rows
    ]
    assert shown == ["2026-11-20", "4", "2026-11-21", "2", "Övrigt", "9"]
    # Without date groups the same rows become one.
    assert articles(mapped(order, sum_article_rows=True)) == [("F1", "15")]


def test_sum_merges_only_within_one_service_object_group(make_snapshot: Make) -> None:
    pump = ServiceObjectSnapshot("Pump P1", id=1)
    fan = ServiceObjectSnapshot("Fläkt F1", id=2)
    order = bare(
        make_snapshot,
        article_rows=(
            row("F1", "1", service_object=pump),
            row("F1", "2", service_object=fan),
            row("F1", "3", service_object=pump),
            row("F1", "4"),
            row("F1", "5"),
        ),
    )
    result = mapped(order, sum_article_rows=True, include_service_object_on_row=True)
    assert texts(result) == ["Pump P1", "Artikel F1", "Fläkt F1", "Artikel F1", "Artikel F1"]
    assert articles(result) == [("F1", "4"), ("F1", "2"), ("F1", "9")]


def test_sum_within_date_and_service_object_groups_together(make_snapshot: Make) -> None:
    pump = ServiceObjectSnapshot("Pump P1", id=1)
    order = bare(
        make_snapshot,
        article_rows=(
            row("F1", "1", date=D1, service_object=pump),
            row("F1", "1", date=D2, service_object=pump),
            row("F1", "1", date=D1, service_object=pump),
            row("F1", "1", date=D1),
        ),
    )
    result = mapped(
        order, sum_article_rows=True, sort_by_actions=True, include_service_object_on_row=True
    )
    assert texts(result) == [
        "2026-11-20", "Pump P1", "Artikel F1", "Artikel F1",
        "2026-11-21", "Pump P1", "Artikel F1",
    ]  # fmt: skip
    assert articles(result) == [("F1", "2"), ("F1", "1"), ("F1", "1")]


@pytest.mark.parametrize(
    ("second", "merged"),
    [
        (row("F1", "2"), True),
        (row("F1", "2", price="100.00"), True),  # the same price written differently
        (row("F1", "2", price="90"), False),  # prices differ: the total must not change
        (row("F1", "2", unit="m"), False),
        (row("F1", "2", cost_center="300"), False),
        (row("F1", "2", name="Annan text"), False),  # the printed text would be false
        (row("F2", "2"), False),
        (row("F1", "2", technician=BO, date=D2), True),  # technician not printed: merged
    ],
)
def test_sum_key_is_article_price_unit_cost_center_and_text(
    make_snapshot: Make, second: ArticleRowSnapshot, merged: bool
) -> None:
    order = bare(make_snapshot, article_rows=(row("F1", "1", technician=ANNA, date=D1), second))
    result = mapped(order, sum_article_rows=True)
    assert len(articles(result)) == (1 if merged else 2)


def test_sum_compares_cost_centers_even_when_they_are_not_sent(make_snapshot: Make) -> None:
    # §9: sum_article_rows compares the rows' own cost centers, whether or not they are sent.
    order = bare(
        make_snapshot, article_rows=(row("F1", cost_center="200"), row("F1", cost_center="300"))
    )
    result = mapped(order, sum_article_rows=True, user_cost_center_on_rows=False)
    assert articles(result) == [("F1", "1"), ("F1", "1")]


def test_sum_keeps_technicians_apart_when_their_names_are_printed(make_snapshot: Make) -> None:
    order = bare(make_snapshot, article_rows=(row("F1", technician=ANNA), row("F1", technician=BO)))
    result = mapped(order, sum_article_rows=True, include_technician_on_rows=True)
    assert texts(result) == ["Artikel F1 - Anna Svensson", "Artikel F1 - Bo Ek"]


def test_summed_row_takes_the_place_of_the_first(make_snapshot: Make) -> None:
    order = bare(
        make_snapshot,
        article_rows=(row("A"), row("B"), row("A", "2"), row("C"), row("B", "3")),
    )
    assert articles(mapped(order, sum_article_rows=True)) == [("A", "3"), ("B", "4"), ("C", "1")]


# --- §4 reference precedence ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("signed", "assigned", "settings", "expected"),
    [
        (True, True, {"signer_as_our_reference": True, "assigned_as_our_reference": True},
         "Anna Svensson"),
        (False, True, {"signer_as_our_reference": True, "assigned_as_our_reference": True},
         "Bo Ek"),
        (False, False, {"signer_as_our_reference": True, "assigned_as_our_reference": True},
         "SO 1042"),
        (True, True, {"assigned_as_our_reference": True}, "Bo Ek"),
        (True, False, {"assigned_as_our_reference": True}, "SO 1042"),
        (True, True, {}, "SO 1042"),
        (False, False, {"signer_as_our_reference": True, "dont_send_order_number": True}, None),
        (False, False, {"order_number_to_your_order_number": True}, None),
        (True, False, {"signer_as_our_reference": True, "dont_send_order_number": True},
         "Anna Svensson"),
    ],
)  # fmt: skip
def test_our_reference_precedence(
    make_snapshot: Make,
    signed: bool,
    assigned: bool,
    settings: dict[str, Any],
    expected: str | None,
) -> None:
    order = make_snapshot(
        signed_by=ANNA if signed else None, assigned_user=BO if assigned else None
    )
    assert mapped(order, **settings).document.get("OurReference") == expected


# --- §4 dont_send_order_number against everything that carries our number -----------------


@pytest.mark.parametrize("invoice", [False, True])
def test_dont_send_order_number_removes_it_everywhere(make_snapshot: Make, invoice: bool) -> None:
    settings = dict(
        dont_send_order_number=True,
        order_number_to_your_order_number=True,
        summary_in_order_text=True,
        order_number_in_comment=True,
        include_comments=True,
        create_invoice_directly=invoice,
    )
    result = mapped(make_snapshot(), **settings)
    document = result.document
    assert "OurReference" not in document
    assert document["YourOrderNumber"] == "PO-778"
    assert document["Remarks"].splitlines()[0] == "Serviceorder"
    assert not document["Comments"].startswith("Order")
    assert "1042" not in result.to_json()
    assert result.reference not in ("", None) and "1042" not in result.reference


def test_your_order_number_without_customer_number_is_ours_alone(make_snapshot: Make) -> None:
    result = mapped(make_snapshot(customer_order_number=""), order_number_to_your_order_number=True)
    assert result.document["YourOrderNumber"] == "SO 1042"


def test_your_order_number_cuts_the_customers_part_and_keeps_ours_whole(
    make_snapshot: Make,
) -> None:
    order = make_snapshot(kind="work", customer_order_number="INKÖPSORDER-2026-000123456")
    result = mapped(order, order_number_to_your_order_number=True)
    value = result.document["YourOrderNumber"]
    assert value == "INKÖPSORDER-2026-00… / AO 1042"
    assert len(value) == 30
    assert any("Ert ordernummer" in w for w in result.warnings)


def test_a_long_customer_order_number_is_cut_to_30_with_ellipsis(make_snapshot: Make) -> None:
    order = make_snapshot(customer_order_number="X" * 40)
    result = mapped(order)
    assert result.document["YourOrderNumber"] == "X" * 29 + "…"
    assert result.warnings


# --- §1 top rows and order_text_on_top -------------------------------------------------------


def test_top_rows_come_in_the_spec_order(make_snapshot: Make) -> None:
    order = make_snapshot(
        kind="sales",
        status="in_progress",
        customer=dataclasses.replace(make_snapshot().customer, subgroup_id=2),
    )
    result = mapped(
        order,
        order_text="Ordertext",
        order_text_on_top=True,
        internal_invoice_customer="9001",
        include_sales_order_status=True,
        include_facility_name=True,
        include_description_and_cause=True,
    )
    assert texts(result)[:7] == [
        "Ordertext",
        "Slutkund: Bageriet Söder AB",
        "Status: Pågående",
        "Anläggning: Bageriet Götgatan",
        "Beskrivning: Kompressorn larmar",
        "för högt tryck",
        "Fel/orsak: Igensatt filter",
    ]
    assert texts(result)[7] == "Felsökning av larm"  # then the actions


def test_order_text_on_top_turns_lines_into_rows_without_empty_rows(make_snapshot: Make) -> None:
    text = (
        "Betalningsvillkor 30 dagar netto.\r\n\r\n"
        "  Vid frågor om fakturan, kontakta vår kundtjänst på 08-123 456 78 eller "
        "faktura@exempel.se\n   \nTack!"
    )
    result = mapped(bare(make_snapshot), order_text=text, order_text_on_top=True)
    assert texts(result) == [
        "Betalningsvillkor 30 dagar netto.",
        "Vid frågor om fakturan, kontakta vår kundtjänst på",
        "08-123 456 78 eller faktura@exempel.se",
        "Tack!",
    ]
    assert "Remarks" not in result.document
    assert result.warnings == (
        "Ordertexten är längre än 50 tecken och delades upp på 4 textrader.",
        "Ordern har inga artikelrader att skicka.",
    )


def test_status_row_is_only_for_sales_orders(make_snapshot: Make) -> None:
    result = mapped(make_snapshot(kind="work"), include_sales_order_status=True)
    assert not any(t.startswith("Status:") for t in texts(result))


@pytest.mark.parametrize(
    ("status", "word"),
    [
        ("draft", "Utkast"),
        ("in_progress", "Pågående"),
        ("ready", "Klar för fakturering"),
        ("sent", "Skickad"),
        ("invoiced", "Fakturerad"),
        ("cancelled", "Makulerad"),
    ],
)
def test_sales_order_status_in_swedish(make_snapshot: Make, status: str, word: str) -> None:
    result = mapped(make_snapshot(kind="sales", status=status), include_sales_order_status=True)
    assert texts(result)[0] == f"Status: {word}"


# --- §4 internal_invoice_customer ----------------------------------------------------------


@pytest.mark.parametrize(
    ("order_group", "customer_group", "setting", "applies"),
    [
        (1, 2, "9001", True),
        (2, 1, "9001", True),
        (1, 1, "9001", False),
        (None, 2, "9001", False),
        (1, None, "9001", False),
        (None, None, "9001", False),
        (1, 2, "", False),
    ],
)
def test_internal_invoice_customer_applies_when_both_subgroups_set_and_differ(
    make_snapshot: Make,
    order_group: int | None,
    customer_group: int | None,
    setting: str,
    applies: bool,
) -> None:
    base = make_snapshot()
    order = make_snapshot(
        subgroup_id=order_group,
        customer=dataclasses.replace(base.customer, subgroup_id=customer_group),
    )
    result = mapped(order, internal_invoice_customer=setting)
    assert result.document["CustomerNumber"] == ("9001" if applies else "1001")
    assert (texts(result)[0] == "Slutkund: Bageriet Söder AB") is applies


# --- §5 "Er referens" ----------------------------------------------------------------------

# Each level: None = no such custom field (or, for the facility, no facility at all with
# "no facility"), "" = the field exists but is empty, a text = the field's value.
ORDER_VALUES = [None, "", "Order-ref"]
FACILITY_VALUES = ["no facility", None, "", "Anläggning-ref"]
CUSTOMER_VALUES = [None, "", "Kund-ref"]


def _fields(value: str | None) -> dict[str, str]:
    return {} if value is None else {"Er referens": value}


@pytest.mark.parametrize(
    ("on_order", "on_facility", "on_customer"),
    list(itertools.product(ORDER_VALUES, FACILITY_VALUES, CUSTOMER_VALUES)),
)
def test_your_reference_chain_order_facility_customer(
    make_snapshot: Make, on_order: str | None, on_facility: str | None, on_customer: str | None
) -> None:
    base = make_snapshot()
    facility = (
        None
        if on_facility == "no facility"
        else dataclasses.replace(base.facility, custom_fields=_fields(on_facility))
    )
    order = make_snapshot(
        custom_fields=_fields(on_order),
        facility=facility,
        customer=dataclasses.replace(base.customer, custom_fields=_fields(on_customer)),
    )
    expected = next(
        (v for v in (on_order, on_facility, on_customer) if v and v != "no facility"),
        "Eva Lind",  # none has a value: the contact person
    )
    assert mapped(order).document["YourReference"] == expected
    # With a custom-field value the orderer and contact settings do not matter.
    with_fallback_settings = mapped(
        order, orderer_as_your_reference=True, contact_phone_in_your_reference=True
    )
    if expected != "Eva Lind":
        assert with_fallback_settings.document["YourReference"] == expected


@pytest.mark.parametrize(
    ("orderer", "contact", "settings", "expected"),
    [
        ("Per Ek", ContactSnapshot("Eva Lind", "070-1"), {}, "Eva Lind"),
        ("Per Ek", ContactSnapshot("Eva Lind", "070-1"), {"orderer_as_your_reference": True},
         "Per Ek"),
        ("", ContactSnapshot("Eva Lind", "070-1"), {"orderer_as_your_reference": True},
         "Eva Lind"),
        ("  ", ContactSnapshot("Eva Lind", "070-1"),
         {"orderer_as_your_reference": True, "contact_phone_in_your_reference": True},
         "Eva Lind 070-1"),
        ("Per Ek", ContactSnapshot("Eva Lind", "070-1"),
         {"orderer_as_your_reference": True, "contact_phone_in_your_reference": True}, "Per Ek"),
        ("", ContactSnapshot("Eva Lind", ""), {"contact_phone_in_your_reference": True},
         "Eva Lind"),
        ("", None, {"orderer_as_your_reference": True}, None),
        ("Per Ek", None, {}, None),
        ("Per Ek", None, {"orderer_as_your_reference": True}, "Per Ek"),
    ],
)  # fmt: skip
def test_your_reference_fallbacks_to_orderer_and_contact(
    make_snapshot: Make,
    orderer: str,
    contact: ContactSnapshot | None,
    settings: dict[str, Any],
    expected: str | None,
) -> None:
    order = make_snapshot(orderer=orderer, contact=contact)
    assert mapped(order, **settings).document.get("YourReference") == expected


@pytest.mark.parametrize(
    "name", ["Er referens", "er referens", " ER REFERENS ", "referens", "Referens", " REFERENS"]
)
def test_your_reference_field_name_is_case_and_space_insensitive(
    make_snapshot: Make, name: str
) -> None:
    order = make_snapshot(custom_fields={name: "Lisa Berg"})
    assert mapped(order).document["YourReference"] == "Lisa Berg"


@pytest.mark.parametrize("name", ["Er referens 2", "Vår referens", "referensnummer", "Ref"])
def test_other_field_names_are_not_your_reference(make_snapshot: Make, name: str) -> None:
    order = make_snapshot(custom_fields={name: "Lisa Berg"})
    assert mapped(order).document["YourReference"] == "Eva Lind"


def test_er_referens_wins_over_referens_on_the_same_entity(make_snapshot: Make) -> None:
    order = make_snapshot(custom_fields={"referens": "B", "Er referens": "A"})
    assert mapped(order).document["YourReference"] == "A"
    order = make_snapshot(custom_fields={"referens": "B", "Er referens": " "})
    assert mapped(order).document["YourReference"] == "B"


def test_your_reference_is_cut_to_50(make_snapshot: Make) -> None:
    order = make_snapshot(custom_fields={"Er referens": "R" * 60})
    result = mapped(order)
    assert result.document["YourReference"] == "R" * 49 + "…"
    assert result.warnings


def test_contact_phone_is_kept_whole_when_the_reference_is_too_long(make_snapshot: Make) -> None:
    contact = ContactSnapshot("Maximiliana Charlotta Vilhelmina Adlercreutz", "+46 70 123 45 67")
    result = mapped(make_snapshot(contact=contact), contact_phone_in_your_reference=True)
    value = result.document["YourReference"]
    assert value.endswith(" +46 70 123 45 67") and len(value) == 50
    assert "…" in value


# --- §1/§9 text rows -------------------------------------------------------------------------


def test_split_text_at_word_boundaries_line_breaks_and_no_empty_rows() -> None:
    text = "Ett två tre fyra fem sex sju åtta nio tio elva tolv tretton\n\n\n  fjorton  \n"
    rows, wrapped = split_text(text)
    assert rows == ["Ett två tre fyra fem sex sju åtta nio tio elva", "tolv tretton", "fjorton"]
    assert wrapped
    assert all(0 < len(r) <= 50 for r in rows)


def test_split_text_cuts_a_word_longer_than_a_row_hard() -> None:
    url = "https://exempel.se/" + "a" * 60
    rows, _ = split_text(f"Se {url} för info")
    assert rows == ["Se", url[:50], url[50:] + " för info"]


def test_split_text_of_exactly_50_is_one_row() -> None:
    assert split_text("x" * 50) == (["x" * 50], False)
    assert split_text("") == ([], False)


def test_long_article_description_continues_as_text_rows_right_after(make_snapshot: Make) -> None:
    description = (
        "Luftfilterelement för skruvkompressor Atlas Copco GA 10 med förfilter, "
        "originaldel\nbyts var 2000:e drifttimme"
    )
    order = bare(make_snapshot, article_rows=(row("F100", description=description), row("ARB")))
    result = mapped(order)
    assert result.rows[:4] == [
        {
            "ArticleNumber": "F100",
            "Description": "Luftfilterelement för skruvkompressor Atlas Copco",
            "OrderedQuantity": "1",
            "DeliveredQuantity": "1",
            "Unit": "st",
        },
        {"Description": "GA 10 med förfilter, originaldel"},
        {"Description": "byts var 2000:e drifttimme"},
        {
            "ArticleNumber": "ARB",
            "Description": "Artikel ARB",
            "OrderedQuantity": "1",
            "DeliveredQuantity": "1",
            "Unit": "st",
        },
    ]


def test_technician_name_cuts_the_description_and_nothing_continues(make_snapshot: Make) -> None:
    description = "Luftfilterelement för skruvkompressor Atlas Copco GA 10\nmed förfilter"
    order = bare(
        make_snapshot, article_rows=(row("F100", description=description, technician=ANNA),)
    )
    result = mapped(order, include_technician_on_rows=True)
    assert texts(result) == ["Luftfilterelement för - Anna Svensson"]
    assert len(result.rows) == 1
    assert any("teknikerns namn" in w for w in result.warnings)


def test_technician_row_that_fits_is_not_cut(make_snapshot: Make) -> None:
    order = bare(make_snapshot, article_rows=(row("F1", name="Filter", technician=ANNA),))
    result = mapped(order, include_technician_on_rows=True)
    assert texts(result) == ["Filter - Anna Svensson"]
    assert not result.warnings


def test_action_rows_with_date_and_technician_split_over_rows(make_snapshot: Make) -> None:
    action = ActionSnapshot(
        "Bytt filter och kontrollerat tryck på kompressorn, läckage åtgärdat vid ventil",
        D1,
        ANNA,
        Decimal("2"),
    )
    result = mapped(
        bare(make_snapshot, actions=(action,)),
        include_action_date=True,
        include_technician_on_action_summary=True,
    )
    assert texts(result) == [
        "2026-11-20: Bytt filter och kontrollerat tryck på",
        "kompressorn, läckage åtgärdat vid ventil (Anna",
        "Svensson)",
    ]


def test_actions_without_description_make_no_row(make_snapshot: Make) -> None:
    actions = (ActionSnapshot("  ", D1, ANNA, Decimal("1")), ActionSnapshot("Klart", D2))
    result = mapped(bare(make_snapshot, actions=actions), include_action_date=True)
    assert texts(result) == ["2026-11-21: Klart"]


def test_sort_by_actions_does_not_repeat_the_date_on_actions(make_snapshot: Make) -> None:
    actions = (ActionSnapshot("Klart", D2), ActionSnapshot("Start", D1), ActionSnapshot("Övrig"))
    order = bare(make_snapshot, actions=actions, article_rows=(row("A", date=D2),))
    result = mapped(order, sort_by_actions=True, include_action_date=True)
    assert texts(result) == [
        "2026-11-20", "Start", "2026-11-21", "Klart", "Artikel A", "Övrigt", "Övrig",
    ]  # fmt: skip


def test_actions_come_in_date_order_before_the_article_rows(make_snapshot: Make) -> None:
    actions = (ActionSnapshot("C", D3), ActionSnapshot("Utan datum"), ActionSnapshot("A", D1))
    order = bare(make_snapshot, actions=actions, article_rows=(row("X", date=D1),))
    assert texts(mapped(order)) == ["A", "C", "Utan datum", "Artikel X"]


def test_sort_articles_by_date_is_stable_and_puts_undated_last(make_snapshot: Make) -> None:
    order = bare(
        make_snapshot,
        article_rows=(row("A", date=D2), row("B"), row("C", date=D1), row("D", date=D2)),
    )
    assert [a for a, _ in articles(mapped(order, sort_articles_by_date=True))] == [
        "C", "A", "D", "B",
    ]  # fmt: skip


def test_service_object_label_is_split_between_its_parts(make_snapshot: Make) -> None:
    machine = ServiceObjectSnapshot(
        "Kylaggregat Carrier 30RB", id=9, machine_number="CR-2019-0042", serial_number="SN998877"
    )
    order = bare(make_snapshot, article_rows=(row("A", service_object=machine),))
    result = mapped(
        order,
        include_service_object_on_row=True,
        include_machine_number=True,
        service_object_prefix="Maskin: ",
    )
    assert texts(result)[:2] == [
        "Maskin: Kylaggregat Carrier 30RB,",
        "maskinnr CR-2019-0042, s/n SN998877",
    ]


def test_service_object_label_split_keeps_its_comma(make_snapshot: Make) -> None:
    """§1: a row break replaces a space; no other character is dropped (§6 gives the label)."""
    machine = ServiceObjectSnapshot(
        "Kylaggregat Carrier 30RB Aquasnap med frikyla", id=9, serial_number="CAR-2019-004711"
    )
    order = bare(make_snapshot, article_rows=(row("A", service_object=machine),))
    result = mapped(order, include_service_object_on_row=True)
    label_rows = texts(result)[:2]
    assert label_rows == ["Kylaggregat Carrier 30RB Aquasnap med frikyla,", "s/n CAR-2019-004711"]
    assert (
        " ".join(label_rows) == "Kylaggregat Carrier 30RB Aquasnap med frikyla, s/n CAR-2019-004711"
    )


def test_service_object_without_serial_shows_no_serial(make_snapshot: Make) -> None:
    machine = ServiceObjectSnapshot("Pump", id=3, machine_number="P-1")
    order = bare(make_snapshot, article_rows=(row("A", service_object=machine),))
    result = mapped(order, include_service_object_on_row=True, serial_number_max_chars=4)
    assert texts(result)[0] == "Pump"


# --- §4/§9 Remarks and Comments -----------------------------------------------------------


def test_remarks_parts_in_order_with_one_blank_line_before_the_order_text(
    make_snapshot: Make,
) -> None:
    result = mapped(
        make_snapshot(),
        summary_in_order_text=True,
        description_in_order_text=True,
        include_operating_hours_in_order_text=True,
        order_text="Betalning 30 dagar.\nTack!",
    )
    assert result.document["Remarks"] == (
        "Serviceorder 1042\n"
        "Anläggning: Bageriet Götgatan\n"
        "Utfört: 2026-11-20 – 2026-11-21\n"
        "Tekniker: Bo Ek, Anna Svensson\n"
        "Beskrivning: Kompressorn larmar\n"
        "för högt tryck\n"
        "Fel/orsak: Igensatt filter\n"
        "Drifttid ATLAS COPCO GA 10: 12345,5 h\n"
        "\n"
        "Betalning 30 dagar.\n"
        "Tack!"
    )


def test_summary_of_one_day_and_of_hidden_rows(make_snapshot: Make) -> None:
    order = bare(
        make_snapshot,
        kind="work",
        actions=(ActionSnapshot("Klart", D2, BO),),
        article_rows=(row("A", date=D2, technician=ANNA), row("B", date=D3, hidden=True)),
    )
    one_day = mapped(
        dataclasses.replace(order, article_rows=order.article_rows[:1]), summary_in_order_text=True
    )
    assert (
        one_day.document["Remarks"]
        == "Arbetsorder 1042\nUtfört: 2026-11-21\nTekniker: Bo Ek, Anna Svensson"
    )
    # Hidden rows count in Utfört even when they are not sent.
    hidden = mapped(order, summary_in_order_text=True, exclude_hidden_articles=True)
    assert "Utfört: 2026-11-21 – 2026-11-22" in hidden.document["Remarks"]


def test_summary_names_each_technician_once_actions_by_date_then_rows(make_snapshot: Make) -> None:
    cia = UserSnapshot("Cia Holm", id=3)
    order = bare(
        make_snapshot,
        actions=(ActionSnapshot("b", D2, ANNA), ActionSnapshot("a", D1, BO)),
        article_rows=(
            row("A", technician=cia),
            row("B", technician=ANNA),
            row("C", technician=cia),
        ),
    )
    remarks = mapped(order, summary_in_order_text=True).document["Remarks"]
    assert remarks.splitlines()[-1] == "Tekniker: Bo Ek, Anna Svensson, Cia Holm"


def test_remarks_over_1024_are_cut_with_ellipsis(make_snapshot: Make) -> None:
    result = mapped(bare(make_snapshot), order_text="ord " * 400)
    remarks = result.document["Remarks"]
    assert len(remarks) == 1024 and remarks.endswith("…")
    assert any("Ordertextrutan" in w for w in result.warnings)


def test_comments_are_oldest_first_on_one_line_each_in_swedish_dates(make_snapshot: Make) -> None:
    comments = (
        CommentSnapshot("Bo Ek", datetime(2026, 11, 21, 23, 30, tzinfo=UTC), "Sent\nsvar"),
        CommentSnapshot("Anna Svensson", datetime(2026, 11, 20, 8, 0, tzinfo=UTC), "Först"),
        CommentSnapshot("Anna Svensson", datetime(2026, 11, 20, 9, 0, tzinfo=UTC), "  "),
    )
    result = mapped(
        make_snapshot(comments=comments), include_comments=True, order_number_in_comment=True
    )
    # 23:30 UTC is 00:30 the next day in Sweden.
    assert result.document["Comments"] == (
        "Order SO 1042\n2026-11-20 Anna Svensson: Först\n2026-11-22 Bo Ek: Sent svar"
    )


def test_comments_over_1024_drop_the_oldest_first_with_a_warning(make_snapshot: Make) -> None:
    comments = tuple(
        CommentSnapshot("Anna", datetime(2026, 11, 1 + i, 8, tzinfo=UTC), f"{i:02d} " + "x" * 200)
        for i in range(8)
    )
    result = mapped(
        make_snapshot(comments=comments), include_comments=True, order_number_in_comment=True
    )
    lines = result.document["Comments"].splitlines()
    assert lines[0] == "Order SO 1042"
    assert [line.split(": ")[1][:2] for line in lines[1:]] == ["04", "05", "06", "07"]
    assert len(result.document["Comments"]) <= 1024
    assert any("4 av de äldsta kommentarerna" in w for w in result.warnings)


# --- §2/§4/§9 delivery -----------------------------------------------------------------------


def test_no_facility_means_no_delivery_fields(make_snapshot: Make) -> None:
    document = mapped(make_snapshot(facility=None)).document
    assert not [key for key in document if key.startswith("Delivery")]


def test_customer_name_and_address_as_delivery_without_facility(make_snapshot: Make) -> None:
    document = mapped(
        make_snapshot(facility=None),
        customer_name_as_delivery_name=True,
        customer_address_as_delivery_address=True,
    ).document
    assert {k: v for k, v in document.items() if k.startswith("Delivery")} == {
        "DeliveryName": "Bageriet Söder AB",
        "DeliveryAddress1": "Storgatan 1",
        "DeliveryAddress2": "Box 12",
        "DeliveryZipCode": "111 22",
        "DeliveryCity": "Stockholm",
        "DeliveryCountry": "Sverige",
    }


def test_facility_address2_and_country_are_sent_when_present(make_snapshot: Make) -> None:
    facility = FacilitySnapshot("Lager", "Hamnvägen 2", "Port 4", "211 20", "Malmö", "Sverige")
    document = mapped(make_snapshot(facility=facility)).document
    assert (document["DeliveryAddress2"], document["DeliveryCountry"]) == ("Port 4", "Sverige")


def test_delivery_date_only_on_sales_orders(make_snapshot: Make) -> None:
    assert mapped(make_snapshot(kind="sales", delivery_date=D3)).document["DeliveryDate"] == (
        "2026-11-22"
    )
    assert "DeliveryDate" not in mapped(make_snapshot(kind="work", delivery_date=D3)).document


def test_terms_and_way_of_delivery_from_sales_order_custom_fields(
    make_snapshot: Make, synced_lookups: Lookups
) -> None:
    order = make_snapshot(
        kind="sales", custom_fields={"Leveransvillkor": "FVL", "leveranssätt ": "bil"}
    )
    result = map_order(order, FortnoxSettings(), synced_lookups)
    assert (result.document["TermsOfDelivery"], result.document["WayOfDelivery"]) == ("FVL", "BIL")
    assert not result.errors
    # Other kinds do not send them.
    work = dataclasses.replace(order, kind="work")
    assert "TermsOfDelivery" not in map_order(work, FortnoxSettings(), synced_lookups).document


def test_unknown_terms_of_delivery_is_an_error_naming_the_fix(
    make_snapshot: Make, synced_lookups: Lookups
) -> None:
    order = make_snapshot(kind="sales", custom_fields={"Leveransvillkor": "XYZ"})
    result = map_order(order, FortnoxSettings(), synced_lookups)
    assert len(result.errors) == 1
    assert "Leveransvillkoret ”XYZ”" in result.errors[0]
    assert "hämta Leveransvillkor igen" in result.errors[0]


def test_unsynced_way_of_delivery_is_an_error_asking_to_fetch_it(make_snapshot: Make) -> None:
    order = make_snapshot(kind="sales", custom_fields={"Leveranssätt": "BIL"})
    result = map_order(order, FortnoxSettings(), Lookups())
    assert len(result.errors) == 1
    assert "inte har hämtats" in result.errors[0] and "Hämta Leveranssätt" in result.errors[0]


# --- cost centers against the lookups ------------------------------------------------------


@pytest.mark.parametrize(
    ("lookups", "fragment"),
    [
        (Lookups(cost_centers=frozenset({"100"}), cost_centers_synced=True), None),
        (Lookups(cost_centers=frozenset({"200"}), cost_centers_synced=True),
         "Kostnadsstället 100 (inställningen ”Lägg till kostnadsställe”) finns inte"),
        (Lookups(cost_centers=frozenset({"100"})), "inte har hämtats från Fortnox"),
    ],
)  # fmt: skip
def test_document_cost_center_is_checked_against_synced_cost_centers(
    make_snapshot: Make, lookups: Lookups, fragment: str | None
) -> None:
    result = map_order(make_snapshot(), FortnoxSettings(cost_center="100"), lookups)
    assert result.document["CostCenter"] == "100"
    if fragment is None:
        assert not result.errors
    else:
        assert len(result.errors) == 1 and fragment in result.errors[0]


def test_row_cost_centers_are_checked_and_the_error_names_rows_and_fix(make_snapshot: Make) -> None:
    lookups = Lookups(cost_centers=frozenset({"200"}), cost_centers_synced=True)
    result = map_order(make_snapshot(), FortnoxSettings(user_cost_center_on_rows=True), lookups)
    assert len(result.errors) == 1
    assert "Kostnadsstället 300 på artikelrader (ARB)" in result.errors[0]
    assert "Ignorera kostnadsställen vid autoifyllning på artikelrader" in result.errors[0]
    ignored = FortnoxSettings(user_cost_center_on_rows=True, ignore_cost_centers_on_rows=("300",))
    assert not map_order(make_snapshot(), ignored, lookups).errors


# --- blocking problems ---------------------------------------------------------------------


def test_missing_customer_number_blocks(make_snapshot: Make) -> None:
    order = make_snapshot(customer=CustomerSnapshot("", "Ny kund"))
    result = mapped(order)
    assert any("saknar kundnummer" in e for e in result.errors)
    assert not result.ok


def test_unit_longer_than_fortnox_allows_blocks(make_snapshot: Make) -> None:
    order = bare(make_snapshot, article_rows=(row("A", unit="förpackningar-om-tolv"),))
    assert any("Enheten" in e for e in mapped(order).errors)


# --- §7 time report --------------------------------------------------------------------------


def test_time_report_adds_hours_per_technician_and_day(make_snapshot: Make) -> None:
    actions = (
        ActionSnapshot("a", D1, ANNA, Decimal("2.5")),
        ActionSnapshot("b", D1, BO, Decimal("1")),
        ActionSnapshot("c", D1, ANNA, Decimal("1.25")),
        ActionSnapshot("d", D2, ANNA, Decimal("3")),
        ActionSnapshot("e", D2, BO, None),
        ActionSnapshot("f", D2, BO, Decimal("0")),
    )
    report = time_report(bare(make_snapshot, actions=actions), FortnoxSettings())
    assert [t.to_payload()["AttendanceTransaction"] for t in report.transactions] == [
        {"EmployeeId": "1001", "Date": "2026-11-20", "CauseCode": "TID", "Hours": "3.75"},
        {"EmployeeId": "1002", "Date": "2026-11-20", "CauseCode": "TID", "Hours": "1"},
        {"EmployeeId": "1001", "Date": "2026-11-21", "CauseCode": "TID", "Hours": "3"},
    ]
    assert report.transactions[0].key == ("1001", D1, "TID")
    assert not report.errors and not report.warnings


def test_time_report_payloads_are_valid_for_fortnox(make_snapshot: Make) -> None:
    from fortnox_sandbox.schema import validate_request

    report = time_report(make_snapshot(), FortnoxSettings(time_report_cause_code="ARB"))
    assert report.transactions
    for transaction in report.transactions:
        assert validate_request("POST", "/3/attendancetransactions", transaction.to_payload()) == []


def test_time_report_problems(make_snapshot: Make) -> None:
    nobody = UserSnapshot("Cia Holm", id=3)
    actions = (
        ActionSnapshot("a", D1, nobody, Decimal("2")),
        ActionSnapshot("b", D2, nobody, Decimal("1")),
        ActionSnapshot("c", D1, None, Decimal("1")),
        ActionSnapshot("d", None, ANNA, Decimal("1")),
    )
    report = time_report(bare(make_snapshot, actions=actions), FortnoxSettings())
    assert report.transactions == ()
    assert len(report.errors) == 2
    assert any("Cia Holm saknar anställningsnummer" in e for e in report.errors)
    assert any("inget datum" in e for e in report.errors)
    assert len(report.warnings) == 1 and "ingen tekniker" in report.warnings[0]
    # map_order blocks the send with the same errors only when send_time_report is on.
    order = bare(make_snapshot, actions=actions, article_rows=(row("A"),))
    assert not mapped(order).errors
    assert set(report.errors) <= set(mapped(order, send_time_report=True).errors)


# --- document type, reference, determinism -----------------------------------------------


def test_document_type_argument_overrides_the_setting(make_snapshot: Make) -> None:
    settings = FortnoxSettings(create_invoice_directly=True)
    result = map_order(make_snapshot(), settings, Lookups(), document_type="Order")
    assert result.document_type == "Order" and "OrderRows" in result.document
    with pytest.raises(ValueError):
        map_order(make_snapshot(), settings, Lookups(), document_type="Offer")  # type: ignore[arg-type]


def test_send_reference_is_fixed_unique_and_short(make_snapshot: Make) -> None:
    results = [
        mapped(make_snapshot(), **settings)
        for settings in ({}, {"dont_send_order_number": True}, {"create_invoice_directly": True})
    ]
    assert {r.reference for r in results} == {send_reference(7)}
    assert all(r.document["ExternalInvoiceReference1"] == r.reference for r in results)
    references = [send_reference(n) for n in (1, 12, 123, 2**31)]
    assert all(len(r) <= 80 for r in references)
    # Fortnox searches references by substring: none may contain another.
    assert not any(a in b for a, b in itertools.permutations(references, 2))


def test_update_payload_blanks_fields_we_no_longer_have(make_snapshot: Make) -> None:
    result = mapped(make_snapshot(facility=None, customer_order_number=""))
    update = result.update_payload()["Order"]
    assert update["YourOrderNumber"] == "" and update["DeliveryName"] == ""
    assert update["OurReference"] == "SO 1042"
    assert "DeliveryDate" not in update
    assert "YourOrderNumber" not in result.document  # the create payload is untouched


def test_same_input_gives_byte_identical_json(make_snapshot: Make) -> None:
    settings = FortnoxSettings(
        sort_by_actions=True,
        sum_article_rows=True,
        include_service_object_on_row=True,
        summary_in_order_text=True,
        include_comments=True,
        set_prices_on_rows=True,
    )
    first = map_order(make_snapshot(), settings, Lookups())
    second = map_order(make_snapshot(), FortnoxSettings.from_dict(settings.to_dict()), Lookups())
    assert first.to_json().encode() == second.to_json().encode()
    assert first.warnings == second.warnings and first.errors == second.errors


@pytest.mark.parametrize("document_type", ["Order", "Invoice"])
def test_quantities_are_strings_and_prices_numbers(make_snapshot: Make, document_type: str) -> None:
    """In the JSON sent, every quantity is a string without exponent or trailing zeros and
    every price a JSON number (Spec: DeliveredQuantity/OrderedQuantity strings, Price a
    double)."""
    order = bare(
        make_snapshot,
        article_rows=(
            row("F1", "2.500", "1234.50"),
            row("F2", "1E+2", "100"),
            row("F3", "0.125", "0.10"),
        ),
    )
    result = map_order(
        order, FortnoxSettings(set_prices_on_rows=True), Lookups(), document_type=document_type
    )

    sent = json.loads(result.to_json())[document_type]
    rows = sent["OrderRows" if document_type == "Order" else "InvoiceRows"]
    assert [r["DeliveredQuantity"] for r in rows] == ["2.5", "100", "0.125"]
    if document_type == "Order":
        assert [r["OrderedQuantity"] for r in rows] == ["2.5", "100", "0.125"]
    else:
        assert all("OrderedQuantity" not in r for r in rows)
    prices = [r["Price"] for r in rows]
    assert prices == [1234.5, 100, 0.1]
    assert [type(p) for p in prices] == [float, int, float]


# --- the snapshot and the purity of the mapping --------------------------------------------


def test_snapshots_are_frozen_and_take_plain_dicts_and_lists(make_snapshot: Make) -> None:
    order = make_snapshot(custom_fields={"Er referens": "A"}, actions=[ActionSnapshot("x", D1)])
    assert isinstance(order.actions, tuple)
    assert order.custom_fields == {"Er referens": "A"}
    assert order == make_snapshot(
        custom_fields={"Er referens": "A"}, actions=(ActionSnapshot("x", D1),)
    )
    with pytest.raises(TypeError):
        order.custom_fields["Er referens"] = "B"  # type: ignore[index]
    with pytest.raises(dataclasses.FrozenInstanceError):
        order.number = 1  # type: ignore[misc]
    assert Lookups(cost_centers={"100"}).cost_centers == frozenset({"100"})  # type: ignore[arg-type]


def test_mapping_modules_import_nothing_but_the_standard_library_and_each_other() -> None:
    import ast
    import sys
    from pathlib import Path

    package = Path(map_order.__code__.co_filename).parent
    own = {f"app.integrations.fortnox.{name}" for name in ("limits", "settings", "snapshot")}
    own.add("app.orders.words")  # the kinds' and statuses' words, checked here too
    paths = [package / f"{name}.py" for name in ("mapping", "settings", "snapshot", "limits")]
    for path in [*paths, package.parents[1] / "orders" / "words.py"]:
        name = path.stem
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                modules = [node.module or ""]
            else:
                continue
            for module in modules:
                top = module.split(".")[0]
                assert (
                    module in own
                    or module == "app.integrations.fortnox"
                    or (top in sys.stdlib_module_names)
                ), f"{name}.py imports {module}"


def test_a_single_comment_too_long_for_comments_is_cut_not_dropped(make_snapshot: Make) -> None:
    comments = (
        CommentSnapshot("Anna", datetime(2026, 11, 1, 8, tzinfo=UTC), "gammal"),
        CommentSnapshot("Bo", datetime(2026, 11, 2, 8, tzinfo=UTC), "ord " * 300),
    )
    result = mapped(make_snapshot(comments=comments), include_comments=True)
    value = result.document["Comments"]
    assert value.startswith("2026-11-02 Bo: ord ord") and value.endswith("…")
    assert len(value) == 1024
    assert any("1 av de äldsta" in w for w in result.warnings)
    assert any("kortades" in w for w in result.warnings)


def test_rows_that_are_not_sent_do_not_block(make_snapshot: Make) -> None:
    order = bare(make_snapshot, article_rows=(row("A"), row("B", unit="x" * 30, hidden=True)))
    assert mapped(order).errors
    assert not mapped(order, exclude_hidden_articles=True).errors
