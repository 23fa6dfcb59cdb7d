"""The article register as CSV and as an Excel workbook (.xlsx). Pure: articles in, bytes out."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from decimal import Decimal

from openpyxl import Workbook
from openpyxl.styles import Font

from app.articles.models import Article
from app.spreadsheets import csv_text, xlsx_row

COLUMNS = ("Artikelnummer", "Benämning", "Enhet", "Pris", "Aktiv", "Dold")


def _yes_no(value: bool) -> str:
    return "Ja" if value else "Nej"


def articles_csv(articles: Iterable[Article]) -> bytes:
    """Semicolon-separated UTF-8 with a byte-order mark and a decimal comma: what Excel with
    Swedish settings opens directly, å, ä and ö intact."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for article in articles:
        writer.writerow(
            (
                csv_text(article.article_number),
                csv_text(article.name),
                csv_text(article.unit or ""),
                f"{article.price:.2f}".replace(".", ","),
                _yes_no(article.active),
                _yes_no(article.hidden),
            )
        )
    return "\ufeff".encode() + out.getvalue().encode("utf-8")


def articles_xlsx(articles: Iterable[Article]) -> bytes:
    """One sheet "Artiklar": a bold header row, prices as numbers formatted with two decimals,
    article numbers as text (so "0012" keeps its zeros)."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Artiklar"
    sheet.append(COLUMNS)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for article in articles:
        xlsx_row(
            sheet,
            [
                article.article_number,
                article.name,
                article.unit or "",
                Decimal(article.price),
                _yes_no(article.active),
                _yes_no(article.hidden),
            ],
        )
        row = sheet.max_row
        sheet.cell(row=row, column=1).number_format = "@"
        sheet.cell(row=row, column=4).number_format = "#,##0.00"
    for letter, width in zip("ABCDEF", (16, 40, 8, 12, 8, 8), strict=True):
        sheet.column_dimensions[letter].width = width
    sheet.freeze_panes = "A2"
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
