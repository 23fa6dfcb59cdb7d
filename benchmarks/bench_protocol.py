"""How long the service protocol PDF of a 40-row order takes to render.

Run: ``.venv/bin/python benchmarks/bench_protocol.py [runs]`` (default 10). Builds the schema
with `flask db upgrade` in a temporary SQLite database, stores one signed service order (40
article rows, 5 actions, 2 service objects, 5 comments, a drawn signature) and renders its
protocol `runs` times after one warm-up, without and with prices. Prints the median, fastest
and slowest time per protocol, the split between the Jinja template and WeasyPrint, and the
page count. Only reports; never fails.
"""

from __future__ import annotations

import io
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flask_migrate import upgrade  # noqa: E402
from PIL import Image, ImageDraw  # noqa: E402
from pypdf import PdfReader  # noqa: E402

from app import create_app  # noqa: E402
from app.articles.services import create_article  # noqa: E402
from app.auth.models import User  # noqa: E402
from app.auth.services import create_user  # noqa: E402
from app.config import TestConfig  # noqa: E402
from app.customers.services import (  # noqa: E402
    create_customer,
    create_facility,
    create_service_object,
)
from app.extensions import db  # noqa: E402
from app.orders.models import Order  # noqa: E402
from app.orders.protocol import protocol_html, render_protocol  # noqa: E402
from app.orders.services import add_comment, create_order, sign_order  # noqa: E402

ROWS = 40


def signature_png() -> bytes:
    image = Image.new("RGBA", (800, 400), (0, 0, 0, 0))
    points = [(80, 300), (200, 120), (260, 280), (380, 100), (470, 290), (700, 150)]
    ImageDraw.Draw(image).line(points, fill=(17, 17, 17, 255), width=7)
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def forty_row_order() -> Order:
    """A signed service order: 40 article rows over 5 days by 3 technicians, 2 machines."""
    users: list[User] = [
        create_user(email=f"tekniker{n}@example.com", name=name, password="benchmark1")
        for n, name in enumerate(["Anna Svensson", "Bo Ek", "Cia Holm"])
    ]
    customer = create_customer(
        {
            "name": "Malmö Mekaniska Verkstad AB",
            "address1": "Industrigatan 14",
            "zip_code": "211 20",
            "city": "Malmö",
            "contacts": [{"name": "Peter Holm", "phone": "040-12 34 56", "email": "p@mmv.se"}],
        }
    )
    facility = create_facility(
        {"customer_id": customer.id, "name": "Verkstad Hamnen", "city": "Malmö"}
    )
    machines = [
        create_service_object(
            {
                "facility_id": facility.id,
                "name": "Atlas Copco GA 30 VSD",
                "machine_number": "AII 482 113",
                "serial_number": "ITJ123456789",
            }
        ),
        create_service_object({"facility_id": facility.id, "name": "Kyltork FX 9"}),
    ]
    for number, name, unit, price in [
        ("ARB", "Servicetekniker", "h", "895"),
        ("F100", "Luftfilterelement GA 30 med förfilter och packningssats", "st", "1240"),
        ("OLJA", "Roto-Inject Fluid 20 l", "st", "2890"),
        ("RESA", "Resekostnad", "st", "450"),
    ]:
        create_article(
            {"article_number": number, "name": name, "unit": unit, "price": Decimal(price)}
        )
    start = date(2026, 11, 16)
    order = create_order(
        {
            "kind": "service",
            "customer_id": customer.id,
            "facility_id": facility.id,
            "contact_id": customer.contacts[0].id,
            "description": "Årsservice enligt avtal.\nKompressorn larmar för hög temperatur.",
            "fault_cause": "Igensatt oljekylare.",
            "actions": [
                {
                    "date": start + timedelta(days=n),
                    "description": "Service enligt protokoll: bytt filter, kontrollerat tryck",
                    "technician_id": users[n % 3].id,
                    "hours": Decimal("2.5"),
                }
                for n in range(5)
            ],
            "article_rows": [
                {
                    "article_number": ["ARB", "F100", "OLJA", "RESA"][n % 4],
                    "quantity": Decimal(n % 3 + 1),
                    "date": start + timedelta(days=n % 5),
                    "technician_id": users[n % 3].id,
                    "service_object_id": machines[n % 2].id if n % 5 else None,
                }
                for n in range(ROWS)
            ],
            "service_objects": [
                {"service_object_id": m.id, "operating_hours": Decimal("16112.5")} for m in machines
            ],
        },
        by=users[0],
    )
    for n in range(5):
        add_comment(order, f"Noterat vid besök {n + 1}.", by=users[n % 3])
    sign_order(order, by=users[0], customer_name="Peter Holm", signature=signature_png())
    db.session.commit()
    return order


def timed(render: Callable[[], object], runs: int) -> list[float]:
    render()  # warm-up: fonts, Pango, template compilation
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        render()
        times.append(time.perf_counter() - started)
    return times


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    with tempfile.TemporaryDirectory(prefix="ordna-bench-") as folder:
        config = type(
            "BenchConfig",
            (TestConfig,),
            {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder}/bench.sqlite3"},
        )
        app = create_app(config)
        with app.app_context():
            upgrade()
            order = forty_row_order()
            print(f"Rendering the service protocol of a {ROWS}-row order, {runs} runs each")
            print(
                f"{'variant':<16}{'median ms':>11}{'min ms':>9}{'max ms':>9}"
                f"{'html ms':>9}{'pages':>7}"
            )
            for label, prices in (("without prices", False), ("with prices", True)):
                pdf = render_protocol(order, show_prices=prices)
                pages = len(PdfReader(io.BytesIO(pdf)).pages)
                total = timed(lambda p=prices: render_protocol(order, show_prices=p), runs)
                html = timed(lambda p=prices: protocol_html(order, show_prices=p), runs)
                print(
                    f"{label:<16}{statistics.median(total) * 1000:>11.0f}"
                    f"{min(total) * 1000:>9.0f}{max(total) * 1000:>9.0f}"
                    f"{statistics.median(html) * 1000:>9.1f}{pages:>7}"
                )
            db.session.remove()
            db.engine.dispose()


if __name__ == "__main__":
    main()
