"""How many 40-row orders per second the mapping turns into Fortnox payloads.

Run: ``.venv/bin/python benchmarks/bench_mapping.py [seconds per profile]``. Prints one line per
settings profile (all settings off; all on) with orders per second, milliseconds per order and
the ratio against the target of 1,000 orders per second. Only reports; never fails.
"""

from __future__ import annotations

import sys
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.integrations.fortnox.mapping import map_order  # noqa: E402
from app.integrations.fortnox.settings import SETTING_DEFINITIONS, FortnoxSettings  # noqa: E402
from app.integrations.fortnox.snapshot import (  # noqa: E402
    ActionSnapshot,
    ArticleRowSnapshot,
    CommentSnapshot,
    ContactSnapshot,
    CustomerSnapshot,
    FacilitySnapshot,
    Lookups,
    OrderServiceObjectSnapshot,
    OrderSnapshot,
    ServiceObjectSnapshot,
    UserSnapshot,
)

TARGET_PER_SECOND = 1_000
ROWS = 40


def forty_row_order() -> OrderSnapshot:
    """A service order with 40 article rows over 5 days, 3 technicians, 2 service objects."""
    users = [
        UserSnapshot("Anna Svensson", 1, "1001", "200"),
        UserSnapshot("Bo Ek", 2, "1002", "300"),
        UserSnapshot("Cia Holm", 3, "1003", "200"),
    ]
    objects = [
        ServiceObjectSnapshot("Atlas Copco GA 30 VSD", 1, "AII 482 113", "ITJ123456789", "Olja"),
        ServiceObjectSnapshot("Kyltork FX 9", 2, "", "CAI778899"),
    ]
    articles = [
        ("ARB", "Servicetekniker", "h", "895"),
        ("F100", "Luftfilterelement GA 30 med förfilter och packningssats", "st", "1240"),
        ("OLJA", "Roto-Inject Fluid 20 l", "st", "2890"),
        ("RESA", "Resekostnad", "st", "450"),
    ]
    start = date(2026, 11, 16)
    rows = []
    for n in range(ROWS):
        number, name, unit, price = articles[n % len(articles)]
        user = users[n % len(users)]
        rows.append(
            ArticleRowSnapshot(
                number,
                name,
                Decimal(n % 3 + 1),
                Decimal(price),
                unit,
                None,
                start + timedelta(days=n % 5),
                user,
                objects[n % 2] if n % 5 else None,
                user.cost_center,
                n % 13 == 0,
            )
        )
    actions = tuple(
        ActionSnapshot(
            "Service enligt protokoll: bytt filter, kontrollerat tryck och temperatur",
            start + timedelta(days=n),
            users[n % 3],
            Decimal("2.5"),
        )
        for n in range(5)
    )
    return OrderSnapshot(
        id=4711,
        kind="service",
        number=1187,
        customer=CustomerSnapshot(
            "10234",
            "Malmö Mekaniska Verkstad AB",
            "Industrigatan 14",
            subgroup_id=2,
            custom_fields={"Er referens": ""},
        ),  # fmt: skip
        subgroup_id=1,
        facility=FacilitySnapshot("Verkstad Hamnen", "Hamnvägen 3", "", "211 20", "Malmö"),
        contact=ContactSnapshot("Peter Holm", "040-12 34 56"),
        orderer="Peter Holm",
        assigned_user=users[1],
        signed_by=users[0],
        signed_at=datetime(2026, 11, 20, 15, tzinfo=UTC),
        customer_order_number="4500098812",
        description="Årsservice enligt avtal.\nKompressorn larmar för hög temperatur.",
        fault_cause="Igensatt oljekylare.",
        actions=actions,
        article_rows=tuple(rows),
        service_objects=tuple(OrderServiceObjectSnapshot(o, Decimal("16112")) for o in objects),
        comments=tuple(
            CommentSnapshot("Anna Svensson", datetime(2026, 11, 16 + n, 8, tzinfo=UTC), "Noterat.")
            for n in range(5)
        ),
    )


def all_on() -> FortnoxSettings:
    values: dict[str, object] = {
        d.key: True for d in SETTING_DEFINITIONS if d.type == "bool"
    }  # fmt: skip
    values.update(
        serial_number_max_chars=8,
        service_object_prefix="Maskin: ",
        no_price_article_numbers=("RESA",),
        ignore_sum_article_numbers=("OLJA",),
        ignore_cost_centers_on_rows=("300",),
        order_text="Betalningsvillkor 30 dagar netto.\nDröjsmålsränta enligt räntelagen.",
        cost_center="100",
        internal_invoice_customer="90001",
    )
    return FortnoxSettings(**values)  # type: ignore[arg-type]


def measure(order: OrderSnapshot, settings: FortnoxSettings, seconds: float) -> float:
    """Orders per second over about ``seconds`` of repeated mapping."""
    lookups = Lookups(frozenset({"100", "200", "300"}), cost_centers_synced=True)
    map_order(order, settings, lookups)  # warm up
    count, started = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - started) < seconds:
        for _ in range(50):
            map_order(order, settings, lookups)
        count += 50
    return count / elapsed


def main() -> None:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 2.0
    order = forty_row_order()
    print(f"Mapping {ROWS}-row orders to Fortnox payloads (target {TARGET_PER_SECOND:,}/s)")
    print(f"{'profile':<18}{'orders/s':>10}{'ms/order':>10}{'vs target':>11}")
    for name, settings in (("all settings off", FortnoxSettings()), ("all settings on", all_on())):
        rate = measure(order, settings, seconds)
        print(f"{name:<18}{rate:>10,.0f}{1000 / rate:>10.3f}{rate / TARGET_PER_SECOND:>10.2f}x")


if __name__ == "__main__":
    main()
