"""/api/v1/articles, /users, /subgroups, /custom-fields and the API's auth rules."""

from __future__ import annotations

import pytest


def test_article_crud_and_search(api):
    office = api("office")
    created = office.post(
        "/articles",
        json={"article_number": "1001", "name": "Oljefilter", "unit": "st", "price": 249.5},
    )
    assert created.status_code == 201, created.json
    assert created.json["price"] == 249.5 and created.json["active"] is True
    aid = created.json["id"]
    patched = office.patch(f"/articles/{aid}", json={"hidden": True, "price": "300.00"})
    assert patched.json["hidden"] is True and patched.json["price"] == 300.0
    assert office.get("/articles?q=olje").json["total"] == 1
    assert office.get(f"/articles/{aid}").json["article_number"] == "1001"


def test_duplicate_article_number_is_409(api):
    office = api("office")
    office.post("/articles", json={"article_number": "A", "name": "x"})
    response = office.post("/articles", json={"article_number": "A", "name": "y"})
    assert response.status_code == 409
    assert "article_number" in response.json["error"]["fields"]


@pytest.mark.parametrize(
    "body, field",
    [
        ({"name": "x"}, "article_number"),
        ({"article_number": "B", "name": "x", "price": -1}, "price"),
        ({"article_number": "B", "name": "x", "price": "abc"}, "price"),
        ({"article_number": "B" * 51, "name": "x"}, "article_number"),
        ({"article_number": "B", "name": "x", "active": "kanske"}, "active"),
    ],
)
def test_bad_article_is_422_naming_the_field(api, body, field):
    response = api("admin").post("/articles", json=body)
    assert response.status_code == 422
    assert field in response.json["error"]["fields"]


def test_technician_reads_articles_but_cannot_write_them(api):
    api("office").post("/articles", json={"article_number": "1", "name": "x"})
    tech = api("technician")
    assert tech.get("/articles").status_code == 200
    assert tech.post("/articles", json={"article_number": "2", "name": "y"}).status_code == 403


@pytest.mark.parametrize("role", ["technician", "office"])
@pytest.mark.parametrize("path", ["/users", "/subgroups", "/custom-fields"])
def test_only_admin_manages_users_subgroups_and_custom_fields(api, role, path):
    client = api(role)
    assert client.get(path).status_code == 403
    response = client.post(path, json={"name": "x"})
    assert response.status_code == 403
    assert response.json["error"]["code"] == "forbidden"


def test_admin_creates_users_subgroups_and_custom_fields(api):
    admin = api("admin")
    subgroup = admin.post("/subgroups", json={"name": "Väst"})
    assert subgroup.status_code == 201
    user = admin.post(
        "/users",
        json={
            "name": "Tove Tekniker",
            "email": "tove@firma.se",
            "password": "hemligt-lösen",
            "role": "technician",
            "employee_number": "11",
            "cost_center": "SERV",
            "subgroup_id": subgroup.json["id"],
        },
    )
    assert user.status_code == 201, user.json
    assert "password" not in user.json and user.json["subgroup_id"] == subgroup.json["id"]
    assert admin.post("/subgroups", json={"name": "Väst"}).status_code == 409
    duplicate = admin.post(
        "/users",
        json={"name": "X", "email": "TOVE@firma.se", "password": "12345678", "role": "office"},
    )
    assert duplicate.status_code == 409
    bad = admin.post(
        "/users", json={"name": "X", "email": "x@firma.se", "password": "kort", "role": "chef"}
    )
    assert bad.status_code == 422
    assert set(bad.json["error"]["fields"]) == {"password", "role"}
    field = admin.post("/custom-fields", json={"entity": "work_order", "name": "Er referens"})
    assert field.status_code == 201 and field.json["type"] == "text"
    again = admin.post("/custom-fields", json={"entity": "work_order", "name": "Er referens"})
    assert again.status_code == 409
    assert admin.post("/custom-fields", json={"entity": "truck", "name": "x"}).status_code == 422
    assert admin.get("/users").json["total"] == 2
    assert admin.get("/custom-fields?entity=work_order").json["total"] == 1


def test_api_needs_a_valid_bearer_token(client, login):
    assert client.get("/api/v1/customers").status_code == 401
    bad = client.get("/api/v1/customers", headers={"Authorization": "Bearer nope"})
    assert bad.status_code == 401 and bad.json["error"]["code"] == "unauthorized"
    login("admin")  # a browser session is not enough under /api
    assert client.get("/api/v1/customers").status_code == 401


def test_api_token_of_an_inactive_user_is_refused(api):
    from app.extensions import db

    client = api("admin")
    client.user.active = False
    db.session.commit()
    assert client.get("/customers").status_code == 401


def test_unknown_api_path_answers_json_not_html(api):
    response = api("admin").get("/nothing-here")
    assert response.status_code == 404 and response.is_json


def test_openapi_document_describes_every_resource(app, client):
    """Every route of the API, with each of its methods, is in the document with a success
    response, and the document describes no route that does not exist."""
    import re

    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    spec = response.json
    assert spec["openapi"].startswith("3.")
    routes: dict[str, set[str]] = {}
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1/") and not rule.endpoint.startswith("api-docs."):
            path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)  # <int:id> -> {id}
            methods = {m.lower() for m in rule.methods or ()} - {"head", "options"}
            routes.setdefault(path, set()).update(methods)
    assert len(routes) > 20  # the URL map was read: customers … integrations
    documented = {
        path: {m for m in operations if m != "parameters"}
        for path, operations in spec["paths"].items()
    }
    assert documented == routes
    for path, methods in routes.items():
        for method in methods:
            codes = spec["paths"][path][method]["responses"]
            assert any(code.startswith("2") for code in codes), (method, path, codes)
    schemas = spec["components"]["schemas"]
    # Generated from the same schemas that validate requests.
    assert "customer_number" in schemas["Customer"]["properties"]
    assert "article_rows" in schemas["Order"]["properties"]
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"


def test_an_oversized_body_is_refused_with_413_json_before_parsing(api):
    response = api("admin").post(
        "/customers",
        data=b'{"name": "' + b"x" * (9 * 1024 * 1024) + b'"}',
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 413
    assert response.json["error"]["code"] == "too_large"


def test_the_openapi_document_describes_the_error_body_the_api_sends(client, api):
    """Every operation's error response is ``{"error": {"code", "message", "fields"}}`` — the
    body the API really sends — not flask-smorest's own shape (issue #17)."""
    spec = client.get("/api/v1/openapi.json").json
    schemas = spec["components"]["schemas"]
    assert schemas["Error"]["required"] == ["error"]
    detail = schemas["ErrorDetail"]["properties"]
    assert set(detail) == {"code", "message", "fields"}
    default = spec["components"]["responses"]["DEFAULT_ERROR"]["content"]["application/json"]
    assert default["schema"] == {"$ref": "#/components/schemas/Error"}
    # And the API answers in that shape.
    answer = api("admin").get("/customers/2147483647")
    assert answer.status_code == 404
    assert set(answer.json) == {"error"} and set(answer.json["error"]) <= set(detail)


def test_a_patch_without_a_body_is_a_400_and_changes_nothing(api):
    admin = api("admin")
    created = admin.post("/customers", json={"name": "Orörd AB"}).json
    for raw in (b"", b"  \n"):
        response = admin.patch(
            f"/customers/{created['id']}", data=raw, headers={"Content-Type": "application/json"}
        )
        assert response.status_code == 400
        assert response.json["error"]["code"] == "bad_request"
    assert admin.get(f"/customers/{created['id']}").json["name"] == "Orörd AB"
