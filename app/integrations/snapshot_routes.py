"""Article register snapshots (fortnox-settings.md §8 ``sync_prices``), admin only: the list of
snapshots taken before a sync overwrote prices, each downloadable as Excel and restorable."""

from __future__ import annotations

import io
from decimal import Decimal
from typing import Any

from flask import Blueprint, Response, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import ngettext
from flask_login import current_user
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from sqlalchemy import func, select

from app.articles.export import COLUMNS
from app.auth.models import User
from app.errors import Conflict
from app.extensions import db
from app.i18n import local_today
from app.integrations.fortnox.sync_registers import restore_snapshot
from app.integrations.models import ArticleSnapshot, FortnoxIntegration
from app.web import admin_required

bp = Blueprint("integration_snapshots", __name__)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
LISTED = 100  # the newest snapshots shown


@bp.route("/settings/integration/snapshots")
@admin_required
def index() -> ResponseReturnValue:
    # The article lists stay in the database: only their lengths are read.
    rows = db.session.execute(
        select(
            ArticleSnapshot.id,
            ArticleSnapshot.created_at,
            ArticleSnapshot.reason,
            ArticleSnapshot.integration_id,
            ArticleSnapshot.sync_run_id,
            ArticleSnapshot.restored_at,
            ArticleSnapshot.restored_by_id,
            func.json_array_length(ArticleSnapshot.articles).label("count"),
        )
        .order_by(ArticleSnapshot.created_at.desc(), ArticleSnapshot.id.desc())
        .limit(LISTED)
    ).all()
    integrations = {
        i.id: i
        for i in db.session.scalars(
            select(FortnoxIntegration).where(
                FortnoxIntegration.id.in_({r.integration_id for r in rows if r.integration_id})
            )
        )
    }
    users = {
        u.id: u
        for u in db.session.scalars(
            select(User).where(User.id.in_({r.restored_by_id for r in rows if r.restored_by_id}))
        )
    }
    return render_template(
        "integrations/snapshots.html", snapshots=rows, integrations=integrations, users=users
    )


@bp.route("/settings/integration/snapshots/<int:snapshot_id>.xlsx")
@admin_required
def download(snapshot_id: int) -> ResponseReturnValue:
    snapshot = db.get_or_404(ArticleSnapshot, snapshot_id)
    filename = f"artiklar-ogonblicksbild-{snapshot.id}-{local_today().isoformat()}.xlsx"
    return Response(
        snapshot_xlsx(snapshot.articles or []),
        mimetype=XLSX,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@bp.route("/settings/integration/snapshots/<int:snapshot_id>/restore", methods=["POST"])
@admin_required
def restore(snapshot_id: int) -> ResponseReturnValue:
    snapshot = db.get_or_404(ArticleSnapshot, snapshot_id)
    try:
        result = restore_snapshot(snapshot, by=current_user)
    except Conflict as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return redirect(url_for("integration_snapshots.index"))
    db.session.commit()
    message = ngettext(
        "%(num)d artikel återställd.", "%(num)d artiklar återställda.", result.restored
    )
    if result.missing:
        message += " " + ngettext(
            "%(num)d artikel i ögonblicksbilden finns inte längre och lämnades.",
            "%(num)d artiklar i ögonblicksbilden finns inte längre och lämnades.",
            len(result.missing),
        )
    flash(message, "info")
    return redirect(url_for("integration_snapshots.index"))


def snapshot_xlsx(rows: list[dict[str, Any]]) -> bytes:
    """The snapshot as the article export lays it out (columns, number formats), streamed
    (write-only: a register of 50 000 articles stays quick)."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Artiklar")
    for letter, width in zip("ABCDEF", (16, 40, 8, 12, 8, 8), strict=True):
        sheet.column_dimensions[letter].width = width
    sheet.freeze_panes = "A2"
    header = []
    for title in COLUMNS:
        cell = WriteOnlyCell(sheet, value=title)
        cell.font = Font(bold=True)
        header.append(cell)
    sheet.append(header)
    for row in rows:
        number = WriteOnlyCell(sheet, value=str(row.get("article_number") or ""))
        number.number_format = "@"
        price = WriteOnlyCell(sheet, value=Decimal(str(row.get("price") or "0")))
        price.number_format = "#,##0.00"
        sheet.append(
            [
                number,
                row.get("name") or "",
                row.get("unit") or "",
                price,
                "Ja" if row.get("active", True) else "Nej",
                "Ja" if row.get("hidden") else "Nej",
            ]
        )
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
