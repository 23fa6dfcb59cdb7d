"""The article register: search, editing by admin and office only, suggestions for the order
page, and the exports (CSV for Excel, and .xlsx read back with openpyxl)."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

from openpyxl import load_workbook
from sqlalchemy import select

from app.articles.models import Article
from app.extensions import db
from tests import factories
from tests.web.conftest import field_value

COLUMNS = ["Artikelnummer", "Benämning", "Enhet", "Pris", "Aktiv", "Dold"]


def some_articles() -> None:
    factories.article("1001", name="Oljefilter typ Å", price=Decimal("250.00"))
    factories.article("1002", name="Luftfilter", unit="st", price=Decimal("1234.5"), hidden=True)
    factories.article("T01", name="Arbetstid tekniker", unit="tim", price=Decimal("850"))
    factories.article("X9", name="Utgången packning", unit=None, price=Decimal("0"), active=False)


def test_register_searches_by_number_or_name(client, login):
    some_articles()
    login("technician")
    by_name = client.get("/articles?q=FILTER").get_data(as_text=True)
    assert "Oljefilter typ Å" in by_name and "Luftfilter" in by_name
    assert "Arbetstid" not in by_name
    assert "Arbetstid tekniker" in client.get("/articles?q=t01").get_data(as_text=True)


def test_technicians_read_articles_but_cannot_change_them(client, login):
    some_articles()
    article = db.session.scalars(select(Article)).first()
    login("technician")
    html = client.get("/articles").get_data(as_text=True)
    assert "Ny artikel" not in html and "/edit" not in html
    assert client.get("/articles/new").status_code == 403
    assert client.post("/articles/new", data={"article_number": "9"}).status_code == 403
    assert client.get(f"/articles/{article.id}/edit").status_code == 403


def test_office_creates_and_edits_an_article(client, login):
    login("office")
    response = client.post(
        "/articles/new",
        data={
            "article_number": "2001",
            "name": "Kilrem",
            "unit": "st",
            "price": "129,50",
            "active": "y",
        },
    )
    assert response.status_code == 302
    article = db.session.scalars(select(Article)).one()
    assert (article.name, article.price, article.active, article.hidden) == (
        "Kilrem",
        Decimal("129.50"),
        True,
        False,
    )
    edit = client.get(f"/articles/{article.id}/edit").get_data(as_text=True)
    assert field_value(edit, "price") == "129,50"
    client.post(
        f"/articles/{article.id}/edit",
        data={
            "article_number": "2001",
            "name": "Kilrem XPZ",
            "price": "140",
            "hidden": "y",
            "version": str(article.version),
        },
    )
    db.session.refresh(article)
    assert (article.name, article.price, article.active, article.hidden) == (
        "Kilrem XPZ",
        Decimal("140"),
        False,
        True,
    )


def test_article_form_errors_are_shown_next_to_the_fields(client, login):
    factories.article("2001")
    login("office")
    response = client.post(
        "/articles/new", data={"article_number": "2001", "name": "Kopia", "price": "10"}
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="article_number-error">Det finns redan en artikel med det artikelnumret.' in html
    negative = client.post(
        "/articles/new", data={"article_number": "2002", "name": "Rabatt", "price": "-1"}
    ).get_data(as_text=True)
    assert 'id="price-error">Priset kan inte vara negativt.' in negative
    assert field_value(negative, "name") == "Rabatt"


def test_suggestions_match_part_of_a_name_or_number_and_skip_inactive(client, login):
    some_articles()
    login("technician")
    items = client.get("/articles/suggest?q=filt").get_json()["items"]
    assert [(i["number"], i["name"], i["unit"], i["price"]) for i in items] == [
        ("1001", "Oljefilter typ Å", "st", "250.00"),
        ("1002", "Luftfilter", "st", "1234.50"),
    ]
    assert client.get("/articles/suggest?q=packning").get_json()["items"] == []
    assert client.get("/articles/suggest?q=").get_json()["items"] == []


def test_csv_export_holds_every_article_for_excel(client, login):
    some_articles()
    login("technician")
    response = client.get("/articles/export.csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    body = response.data
    assert body.startswith(b"\xef\xbb\xbf")  # the BOM Excel needs for å, ä, ö
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig")), delimiter=";"))
    assert rows[0] == COLUMNS
    assert rows[1:] == [
        ["1001", "Oljefilter typ Å", "st", "250,00", "Ja", "Nej"],
        ["1002", "Luftfilter", "st", "1234,50", "Ja", "Ja"],
        ["T01", "Arbetstid tekniker", "tim", "850,00", "Ja", "Nej"],
        ["X9", "Utgången packning", "", "0,00", "Nej", "Nej"],
    ]


def test_xlsx_export_reads_back_with_every_article_and_column(client, login):
    some_articles()
    login("office")
    response = client.get("/articles/export.xlsx")
    assert response.status_code == 200
    assert response.mimetype.endswith("spreadsheetml.sheet")
    sheet = load_workbook(io.BytesIO(response.data)).active
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert rows[0] == COLUMNS
    assert rows[1:] == [
        ["1001", "Oljefilter typ Å", "st", 250, "Ja", "Nej"],
        ["1002", "Luftfilter", "st", 1234.5, "Ja", "Ja"],
        ["T01", "Arbetstid tekniker", "tim", 850, "Ja", "Nej"],
        ["X9", "Utgången packning", None, 0, "Nej", "Nej"],
    ]


def test_article_pages_require_sign_in(client):
    for url in ("/articles", "/articles/suggest?q=a", "/articles/export.csv"):
        assert "/login" in client.get(url).headers["Location"]


def test_exports_neutralise_cells_that_would_run_as_formulas(client, login):
    from tests import factories

    factories.article("=1+1", name='=HYPERLINK("http://evil.test","Klicka")', unit="+st")
    factories.article("@SUM", name="-2+3")
    login("office")
    rows = list(
        csv.reader(
            io.StringIO(client.get("/articles/export.csv").data.decode("utf-8-sig")),
            delimiter=";",
        )
    )
    assert ["'=1+1", '\'=HYPERLINK("http://evil.test","Klicka")', "'+st"] == rows[1][:3]
    assert ["'@SUM", "'-2+3"] == rows[2][:2]
    workbook = load_workbook(io.BytesIO(client.get("/articles/export.xlsx").data))
    sheet = workbook.active
    for row in sheet.iter_rows(min_row=2):
        for cell in row:
            assert cell.data_type != "f", f"{cell.coordinate} is a formula: {cell.value!r}"
    assert sheet["B2"].value == '=HYPERLINK("http://evil.test","Klicka")'  # shown as typed
