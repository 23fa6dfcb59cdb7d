"""The order page's signing panel: the drawing is stored with the signature, shown on the
signed order, refused with a message beside the pad when it is no usable image, and cleared
(after confirmation) when the signed work changes."""

from __future__ import annotations

from app.extensions import db
from app.orders.models import Order
from app.orders.services import sign_order
from tests.signatures import blank_png, data_url, drawn_png, noise_png
from tests.web.conftest import field_value, order_form
from tests.web.test_orders import action, row, technician_in


def stored(order_id: int) -> Order:
    db.session.expire_all()
    return db.session.get(Order, order_id)


def test_the_signing_panel_has_a_pad_and_rensa(client, login, world):
    login("office")
    html = client.get(f"/orders/{world.order.id}").get_data(as_text=True)
    assert "data-signature-pad" in html and "<canvas" in html
    assert ">Rensa</button>" in html
    assert 'name="signature"' in html


def test_signing_stores_the_drawing_and_the_page_shows_it(client, login, world, make_user):
    tech = technician_in(world, make_user)
    login("technician", subgroup=world.west)
    png = drawn_png()
    response = client.post(
        f"/orders/{world.order.id}/sign",
        data=order_form(
            world.order,
            customer_name="Kalle Kund",
            signature=data_url(png),
            **action(0, "Bytt filter", tech=tech),
        ),
    )
    assert response.status_code == 302
    order = stored(world.order.id)
    assert order.signature_png == png and order.signed_customer_name == "Kalle Kund"

    html = client.get(f"/orders/{world.order.id}").get_data(as_text=True)
    assert "data-signature-image" in html and f"/orders/{order.id}/signature.png" in html
    image = client.get(f"/orders/{order.id}/signature.png")
    assert image.status_code == 200 and image.mimetype == "image/png" and image.data == png


def test_a_bad_drawing_is_explained_and_nothing_is_saved(client, login, world, make_user):
    tech = technician_in(world, make_user)
    login("technician", subgroup=world.west)
    for signature, problem in [
        (data_url(blank_png()), "Signaturen är tom."),
        (data_url(b"GIF89a", "image/gif"), "PNG-bild"),
        (data_url(noise_png(520 * 1024)), "högst 512 kB"),
    ]:
        response = client.post(
            f"/orders/{world.order.id}/sign",
            data=order_form(
                world.order,
                customer_name="Kalle Kund",
                signature=signature,
                **action(0, "Bytt filter", tech=tech),
            ),
        )
        html = response.get_data(as_text=True)
        assert response.status_code == 422
        assert 'id="signature-error"' in html and problem in html, problem
        assert "Bytt filter" in html  # what was typed is still on the page
        assert field_value(html, "customer_name") == "Kalle Kund"
        order = stored(world.order.id)
        assert not order.is_signed and order.actions == []


def test_changing_the_rows_of_a_signed_order_asks_then_clears_the_drawing(
    client, login, world, make_user
):
    tech = technician_in(world, make_user)
    login("technician", subgroup=world.west)
    work = {**action(0, "Service", tech=tech), **row(0, "1001", "2", technician_id=tech.id)}
    client.post(
        f"/orders/{world.order.id}/sign",
        data=order_form(world.order, customer_name="Kalle Kund", signature=data_url(drawn_png()))
        | work,
    )
    signed = stored(world.order.id)
    assert signed.is_signed and signed.signature_png is not None
    page = client.get(f"/orders/{world.order.id}").get_data(as_text=True)
    assert 'data-signed="1"' in page and "data-unsign-question" in page

    changed = order_form(signed) | work | row(0, "1001", "3", technician_id=tech.id)
    response = client.post(f"/orders/{world.order.id}", data=changed)
    assert response.status_code == 422 and 'id="confirm-unsign"' in response.get_data(as_text=True)
    kept = stored(world.order.id)
    assert kept.is_signed and kept.signature_png is not None

    response = client.post(f"/orders/{world.order.id}", data={**changed, "confirm_unsign": "y"})
    assert response.status_code == 302
    cleared = stored(world.order.id)
    assert not cleared.is_signed and cleared.signature_png is None
    assert cleared.signed_customer_name is None
    assert [r.quantity for r in cleared.article_rows] == [3]
    assert client.get(f"/orders/{world.order.id}/signature.png").status_code == 404
    assert "data-signature-image" not in client.get(f"/orders/{world.order.id}").get_data(
        as_text=True
    )


def test_saving_unchanged_work_keeps_the_drawing(client, login, world, make_user):
    tech = technician_in(world, make_user)
    login("technician", subgroup=world.west)
    sign_order(world.order, by=tech, customer_name="Kalle Kund", signature=drawn_png())
    db.session.commit()
    response = client.post(
        f"/orders/{world.order.id}", data=order_form(world.order, description="Ny text")
    )
    assert response.status_code == 302
    order = stored(world.order.id)
    assert order.is_signed and order.signature_png is not None


def test_the_signature_image_of_another_subgroup_is_403(client, login, world, make_user):
    tech = technician_in(world, make_user)
    sign_order(world.order, by=tech, customer_name="Kalle Kund", signature=drawn_png())
    db.session.commit()
    login("technician", subgroup=world.south)
    assert client.get(f"/orders/{world.order.id}/signature.png").status_code == 403
    sign = order_form(world.order, customer_name="X", signature=data_url(drawn_png()))
    assert client.post(f"/orders/{world.order.id}/sign", data=sign).status_code == 403
    assert stored(world.order.id).signed_customer_name == "Kalle Kund"
