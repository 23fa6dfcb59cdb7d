"""On a phone (375×812): the customer types their name and signs with a finger on the pad,
the technician signs the order off and downloads the service protocol; the PDF holds the
customer's name, every article number, the operating-hours reading and the drawing, and its
first page is rasterised into tests/artifacts/ for a person to look at. Changing the work of a
signed order asks first and then clears the signature."""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
from decimal import Decimal
from typing import Any

import pytest
from PIL import Image
from playwright.sync_api import expect
from pypdf import PdfReader

from app.auth.models import User
from app.extensions import db
from app.orders.models import Order
from app.orders.services import sign_order, update_order
from tests.e2e.conftest import ARTIFACTS, DESKTOP, PHONE, Seed, seed_work_order, sign_in
from tests.signatures import drawn_png

pytestmark = pytest.mark.e2e

ARTICLES = ["1001", "1002", "T01"]


def seed_order_with_work() -> Seed:
    """The e2e work order with an action, three article rows and an operating-hours reading."""
    seed = seed_work_order()
    order = db.session.get(Order, seed.order_id)
    update_order(
        order,
        {
            "fault_cause": "Tryckvakten löser ut vid start",
            "actions": [{"description": "Bytt tryckvakt och provkört", "hours": Decimal("1.5")}],
            "article_rows": [
                {"article_number": "1001", "quantity": Decimal("2")},
                {"article_number": "1002", "quantity": Decimal("1")},
                {
                    "article_number": "T01",
                    "quantity": Decimal("1.5"),
                    "service_object_id": seed.compressor_id,
                },
            ],
            "service_objects": [
                {"service_object_id": seed.compressor_id, "operating_hours": Decimal("12345.5")}
            ],
        },
        by=db.session.get(User, seed.technician_id),
    )
    db.session.commit()
    db.session.remove()
    return seed


def draw(page: Any, canvas: Any, points: list[tuple[float, float]]) -> None:
    """One stroke with the mouse through `points` (0..1 of the pad): Chromium turns it into
    pointerdown / pointermove / pointerup, as it does a finger."""
    box = canvas.bounding_box()
    xy = [(box["x"] + x * box["width"], box["y"] + y * box["height"]) for x, y in points]
    page.mouse.move(*xy[0])
    page.mouse.down()
    for x, y in xy[1:]:
        page.mouse.move(x, y, steps=6)
    page.mouse.up()


def draw_with_a_finger(page: Any, canvas: Any, points: list[tuple[float, float]]) -> None:
    """One stroke as touch input (Chromium's DevTools protocol): touchstart/move/end become
    pointer events of type "touch", and the pad must not let the page scroll instead."""
    box = canvas.bounding_box()
    xy = [(box["x"] + x * box["width"], box["y"] + y * box["height"]) for x, y in points]
    cdp = page.context.new_cdp_session(page)
    cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [_touch(*xy[0])]})
    for (x0, y0), (x1, y1) in zip(xy, xy[1:], strict=False):
        for step in range(1, 5):
            x, y = x0 + (x1 - x0) * step / 4, y0 + (y1 - y0) * step / 4
            cdp.send(
                "Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [_touch(x, y)]}
            )
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    cdp.detach()


def _touch(x: float, y: float) -> dict[str, float]:
    return {"x": x, "y": y, "radiusX": 4, "radiusY": 4, "force": 1}


def ink_box(png: bytes) -> tuple[int, int, int, int] | None:
    """Where the drawing has ink (non-transparent pixels), or None."""
    return Image.open(io.BytesIO(png)).convert("RGBA").getchannel("A").getbbox()


def pdf_text(reader: PdfReader) -> str:
    text = " ".join(page.extract_text() or "" for page in reader.pages)
    return re.sub(r"[\s\u00a0\u202f]+", " ", text)


def test_customer_signs_on_a_phone_and_the_protocol_pdf_holds_it_all(phone, live_server):
    seed = seed_order_with_work()
    page = phone
    sign_in(page, "tove@example.com")
    page.goto(f"/orders/{seed.order_id}")

    canvas = page.locator("[data-signature-canvas]")
    expect(canvas).to_be_hidden()
    page.get_by_role("button", name="Signera").click()  # opens the signing panel
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    assert 280 <= box["width"] <= PHONE["width"] and box["height"] >= 140  # room for a finger
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    signature = page.locator('input[name="signature"]')

    # A first try, wiped with "Rensa".
    draw(page, canvas, [(0.2, 0.5), (0.8, 0.5)])
    expect(signature).to_have_value(re.compile(r"^data:image/png;base64,"))
    page.get_by_role("button", name="Rensa").click()
    expect(signature).to_have_value("")

    page.get_by_label("Kundens namn").fill("Kalle Kund")
    draw_with_a_finger(page, canvas, [(0.1, 0.7), (0.25, 0.25), (0.35, 0.7), (0.5, 0.3)])
    draw(page, canvas, [(0.55, 0.65), (0.7, 0.3), (0.9, 0.6)])
    expect(signature).to_have_value(re.compile(r"^data:image/png;base64,"))
    page.get_by_role("button", name="Signera").click()

    expect(page.locator(".flash")).to_have_text("Ordern är signerad.")
    shown = page.locator("img[data-signature-image]")
    expect(shown).to_be_visible()
    # The drawing comes from /orders/<id>/signature.png: wait until it has loaded (a busy
    # machine is slow to serve it); a broken image never gets a width, and this times out.
    page.wait_for_function(
        "() => { const img = document.querySelector('img[data-signature-image]');"
        " return img.complete && img.naturalWidth > 0; }",
        timeout=15_000,
    )
    ARTIFACTS.mkdir(exist_ok=True)
    page.locator("#signering").screenshot(path=str(ARTIFACTS / "order-signed-phone.png"))
    page.set_viewport_size(DESKTOP)
    page.locator("#signering").scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "order-signed-desktop.png"))
    page.set_viewport_size(PHONE)

    order = db.session.get(Order, seed.order_id)
    assert order.signed_customer_name == "Kalle Kund"
    assert order.signed_by_id == seed.technician_id
    left, top, right, bottom = ink_box(order.signature_png)
    width, height = Image.open(io.BytesIO(order.signature_png)).size
    assert (width, height) == (800, 400)
    # Both strokes are in it: the finger's from the left edge, the mouse's to the right.
    assert left < 0.15 * width and right > 0.85 * width and bottom - top > 0.3 * height
    db.session.remove()

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Serviceprotokoll (PDF)").click()
    download = download_info.value
    assert download.suggested_filename == "serviceprotokoll-AO-1001.pdf"
    pdf_path = ARTIFACTS / "serviceprotokoll-AO-1001.pdf"
    download.save_as(pdf_path)

    reader = PdfReader(pdf_path)
    text = pdf_text(reader)
    assert "Kalle Kund" in text and "Tove Tekniker" in text
    for number in ARTICLES:
        assert re.search(rf"\b{number} (Oljefilter|Luftfilter|Arbetstid)", text), number
    assert "12 345,5" in text  # the operating-hours reading
    assert "Ej signerad" not in text
    assert len(reader.pages[-1].images) == 1  # the drawn signature

    pdftoppm = shutil.which("pdftoppm")
    if pdftoppm is None:
        message = "pdftoppm not found (apt-get install poppler-utils)"
        pytest.fail(message) if os.environ.get("CI") else pytest.skip(message)
    target = ARTIFACTS / "serviceprotokoll-AO-1001-page1"
    subprocess.run(
        [pdftoppm, "-png", "-r", "110", "-f", "1", "-l", "1", "-singlefile", pdf_path, target],
        check=True,
        timeout=60,
    )
    raster = target.with_suffix(".png")
    with Image.open(raster) as image:
        assert image.size[0] > 800 and image.size[1] > image.size[0]  # A4, portrait


def test_changing_a_signed_order_asks_first_and_then_clears_the_signature(phone, live_server):
    seed = seed_order_with_work()
    order = db.session.get(Order, seed.order_id)
    sign_order(
        order,
        by=db.session.get(User, seed.technician_id),
        customer_name="Kalle Kund",
        signature=drawn_png(),
    )
    db.session.commit()
    db.session.remove()
    page = phone
    sign_in(page, "tove@example.com")
    page.goto(f"/orders/{seed.order_id}")
    expect(page.locator("img[data-signature-image]")).to_be_visible()

    quantity = page.locator('[name="article_rows-0-quantity"]')
    quantity.fill("3")
    questions: list[str] = []

    def dismiss(dialog: Any) -> None:
        questions.append(dialog.message)
        dialog.dismiss()

    page.once("dialog", dismiss)
    page.get_by_role("button", name="Spara", exact=True).last.click()
    assert questions and "tar bort signaturen" in questions[0]
    expect(quantity).to_have_value("3")  # still on the page, nothing posted
    assert db.session.get(Order, seed.order_id).signature_png is not None
    db.session.remove()

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Spara", exact=True).last.click()
    expect(page.locator(".flash")).to_have_text("Ordern är sparad.")
    expect(page.locator("img[data-signature-image]")).to_have_count(0)
    expect(page.locator(".badges")).not_to_contain_text("Signerad")

    order = db.session.get(Order, seed.order_id)
    assert not order.is_signed and order.signature_png is None
    assert order.signed_customer_name is None
    assert [r.quantity for r in order.article_rows][0] == Decimal("3")
