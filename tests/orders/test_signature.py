"""The customer's drawn signature: stored with the order through `sign_order` (the web page and
`POST /api/v1/orders/{id}/sign` alike), refused when it is not a usable PNG, and cleared with
the rest of the signature when the work changes."""

from __future__ import annotations

import base64

import pytest

from app.auth.models import Subgroup
from app.errors import ValidationFailed
from app.extensions import db
from app.orders.images import decode_signature
from app.orders.models import Order
from app.orders.services import sign_order
from tests.signatures import blank_png, data_url, drawn_png, noise_png


@pytest.fixture
def world(api):
    """A technician in Väst, one in Syd, and a work order in Väst with one article row."""
    admin = api("admin")
    west = admin.post("/subgroups", json={"name": "Väst"}).json["id"]
    south = admin.post("/subgroups", json={"name": "Syd"}).json["id"]
    tech = api("technician", subgroup=db.session.get(Subgroup, west), name="Tove Tekniker")
    other = api("technician", subgroup=db.session.get(Subgroup, south))
    customer = admin.post("/customers", json={"name": "Verkstad AB"}).json
    admin.post("/articles", json={"article_number": "1001", "name": "Oljefilter", "price": 250})
    order = tech.post(
        "/orders",
        json={
            "kind": "work",
            "customer_id": customer["id"],
            "article_rows": [{"article_number": "1001", "quantity": 1}],
        },
    ).json
    return {"admin": admin, "tech": tech, "other": other, "order_id": order["id"]}


def stored(order_id: int) -> Order:
    db.session.expire_all()
    return db.session.get(Order, order_id)


# --- what is accepted ---------------------------------------------------------------------------


def test_the_api_stores_a_drawn_signature_with_signer_time_and_name(world):
    png = drawn_png()
    response = world["tech"].post(
        f"/orders/{world['order_id']}/sign",
        json={"customer_name": "Kalle Kund", "signature": data_url(png)},
    )
    assert response.status_code == 200, response.json
    signature = response.json["signature"]
    assert signature["customer_name"] == "Kalle Kund" and signature["has_drawing"] is True
    assert signature["user_id"] == world["tech"].user.id and signature["signed_at"]
    order = stored(world["order_id"])
    assert order.signature_png == png and order.signed_customer_name == "Kalle Kund"
    listed = world["admin"].get("/orders").json["items"][0]
    assert listed["signature"]["has_drawing"] is True


def test_signing_without_a_drawing_is_still_allowed_and_replaces_an_old_drawing(world):
    path = f"/orders/{world['order_id']}/sign"
    world["tech"].post(
        path, json={"customer_name": "Kalle Kund", "signature": data_url(drawn_png())}
    )
    response = world["tech"].post(path, json={"customer_name": "Eva Ek", "signature": None})
    assert response.status_code == 200
    assert response.json["signature"]["has_drawing"] is False
    order = stored(world["order_id"])
    assert order.signed_customer_name == "Eva Ek" and order.signature_png is None


def test_the_service_takes_png_bytes_as_well_as_a_data_url(world):
    png = drawn_png((300, 150))
    assert decode_signature(png) == png
    assert decode_signature(data_url(png)) == png
    # Base64 wrapped over lines, and the media type's parameters in capitals, are fine.
    text = base64.b64encode(png).decode()
    wrapped = "\n".join(text[i : i + 76] for i in range(0, len(text), 76))
    assert decode_signature(f"data:image/PNG;BASE64,{wrapped}") == png


# --- what is refused: 422 naming `signature`, and nothing changes -------------------------------

NOT_AN_IMAGE = "data:text/plain;base64," + base64.b64encode(b"hej").decode()
PNG_CLAIM_BUT_TEXT = data_url(b"inte en bild alls")
JPEG = data_url(b"\xff\xd8\xff\xe0" + b"\x00" * 64, "image/jpeg")
SVG = data_url(
    b'<svg xmlns="http://www.w3.org/2000/svg"><path d="M0 0L9 9"/></svg>', "image/svg+xml"
)
TRUNCATED = data_url(drawn_png()[:120])


@pytest.mark.parametrize(
    ("signature", "message"),
    [
        pytest.param(NOT_AN_IMAGE, "PNG-bild", id="text"),
        pytest.param(PNG_CLAIM_BUT_TEXT, "ingen PNG-bild", id="png-label-on-text"),
        pytest.param(JPEG, "PNG-bild", id="jpeg"),
        pytest.param(SVG, "PNG-bild", id="svg"),
        pytest.param(TRUNCATED, "ingen giltig PNG-bild", id="truncated-png"),
        pytest.param("hej", "data-URL", id="not-a-data-url"),
        pytest.param("data:image/png;base64,@@@@", "base64", id="bad-base64"),
        pytest.param("", "tom", id="empty-string"),
        pytest.param("data:image/png;base64,", "tom", id="empty-data-url"),
        pytest.param(data_url(blank_png()), "tom", id="transparent"),
        pytest.param(data_url(blank_png((255, 255, 255, 255))), "tom", id="white"),
        pytest.param(data_url(noise_png(520 * 1024)), "högst 512 kB", id="over-512-kb"),
    ],
)
def test_the_api_refuses_a_bad_signature_with_422_and_changes_nothing(world, signature, message):
    path = f"/orders/{world['order_id']}/sign"
    first = drawn_png((400, 200))
    world["tech"].post(path, json={"customer_name": "Eva Ek", "signature": data_url(first)})
    before = stored(world["order_id"])
    signed_at = before.signed_at

    response = world["tech"].post(
        path, json={"customer_name": "Kalle Kund", "signature": signature}
    )

    assert response.status_code == 422, response.json
    problems = response.json["error"]["fields"]["signature"]
    assert any(message in problem for problem in problems), problems
    order = stored(world["order_id"])
    assert (order.signed_customer_name, order.signed_at) == ("Eva Ek", signed_at)
    assert order.signature_png == first


def test_a_huge_image_in_few_bytes_is_refused(world):
    from PIL import Image

    from tests.signatures import _png

    huge = _png(Image.new("1", (5000, 5000), 1))  # compresses to a few kB
    assert len(huge) < 512 * 1024
    response = world["tech"].post(
        f"/orders/{world['order_id']}/sign",
        json={"customer_name": "Kalle Kund", "signature": data_url(huge)},
    )
    assert response.status_code == 422
    assert "bildpunkter" in response.json["error"]["fields"]["signature"][0]
    assert not stored(world["order_id"]).is_signed


def test_a_missing_name_and_a_bad_drawing_are_reported_together(world, make_user):
    tech = db.session.get(type(world["tech"].user), world["tech"].user.id)
    order = db.session.get(Order, world["order_id"])
    with pytest.raises(ValidationFailed) as raised:
        sign_order(order, by=tech, customer_name=" ", signature=data_url(blank_png()))
    assert set(raised.value.fields) == {"customer_name", "signature"}
    db.session.rollback()


def test_signing_an_order_of_another_subgroup_is_403(world):
    response = world["other"].post(
        f"/orders/{world['order_id']}/sign",
        json={"customer_name": "Kalle Kund", "signature": data_url(drawn_png())},
    )
    assert response.status_code == 403
    assert not stored(world["order_id"]).is_signed


def test_a_signature_that_is_not_a_string_is_422(world):
    response = world["tech"].post(
        f"/orders/{world['order_id']}/sign", json={"customer_name": "Kalle", "signature": 12}
    )
    assert response.status_code == 422
    assert "signature" in response.json["error"]["fields"]


# --- changing the work clears the drawing too ------------------------------------------------


def test_changing_the_rows_of_a_signed_order_clears_the_drawing(world):
    path = f"/orders/{world['order_id']}"
    world["tech"].post(
        f"{path}/sign", json={"customer_name": "Kalle Kund", "signature": data_url(drawn_png())}
    )
    kept = world["tech"].patch(path, json={"description": "Text only"}).json
    assert kept["signature"]["has_drawing"] is True  # the header is not the work signed for
    cleared = (
        world["tech"]
        .patch(path, json={"article_rows": [{"article_number": "1001", "quantity": 2}]})
        .json
    )
    assert cleared["signature"] is None
    order = stored(world["order_id"])
    assert not order.is_signed and order.signature_png is None
