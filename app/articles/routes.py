"""The article register: search, edit (admin and office; technicians read only, since prices
belong to the office), export as CSV and Excel, and the suggestions the order page's article
field asks for."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, flash, jsonify, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import login_required
from sqlalchemy.orm.exc import StaleDataError

from app import locking
from app.articles import services
from app.articles.export import articles_csv, articles_xlsx
from app.articles.forms import ArticleForm, article_data
from app.articles.models import Article
from app.errors import Conflict, ValidationFailed
from app.extensions import db
from app.orders.services import today
from app.web import apply_errors, paginate, staff_required

bp = Blueprint("articles", __name__)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@bp.route("/articles")
@login_required
def index() -> ResponseReturnValue:
    q = request.args.get("q", "")
    page = paginate(services.article_query(q), per_page=50)
    return render_template("articles/list.html", page=page, q=q)


@bp.route("/articles/suggest")
@login_required
def suggest() -> ResponseReturnValue:
    """Active articles whose number or name contains `q`, for the order page's article field."""
    q = request.args.get("q", "").strip()
    if not q:
        return jsonify(items=[])
    return jsonify(
        items=[
            {
                "number": a.article_number,
                "name": a.name,
                "unit": a.unit or "",
                "price": f"{a.price:.2f}",
            }
            for a in services.search_articles(q, limit=12)
        ]
    )


def _save(form: ArticleForm, article: Article | None) -> ResponseReturnValue:
    if not form.validate_on_submit():
        status = 422 if form.is_submitted() else 200
        return render_template("articles/form.html", form=form, article=article), status
    data = article_data(form)
    if article is not None and locking.is_stale(form.version.data, article.version):
        # Someone else saved the article after this page was made (issue #17).
        form.version.data = str(article.version)  # saving again overwrites, knowingly
        conflict = _differences(form, article, data)
        if conflict:
            return _conflict(form, article, conflict)
    try:
        if article is None:
            article = services.create_article(data)
        else:
            services.update_article(article, data)
        db.session.commit()
    except (ValidationFailed, Conflict) as exc:
        db.session.rollback()
        leftovers = apply_errors(form, exc.fields)
        return render_template(
            "articles/form.html", form=form, article=article, leftovers=leftovers
        ), 422
    except StaleDataError:  # a save committed between reading the article and writing it
        db.session.rollback()
        assert article is not None  # a new article has no version to lose
        form.version.data = str(article.version)
        return _conflict(form, article, _differences(form, article, data))
    flash(_("Artikeln %(number)s är sparad.", number=article.article_number), "success")
    return redirect(url_for(".index", q=article.article_number))


def _differences(
    form: ArticleForm, article: Article, data: dict[str, Any]
) -> list[locking.SavedValue]:
    """What is saved on ``article`` now where it differs from the form's ``data``."""
    return locking.differing(
        form,
        [
            (name, value, getattr(article, name), getattr(article, name))
            for name, value in data.items()
        ],
    )


def _conflict(
    form: ArticleForm, article: Article, conflict: list[locking.SavedValue]
) -> ResponseReturnValue:
    return render_template("articles/form.html", form=form, article=article, conflict=conflict), 409


@bp.route("/articles/new", methods=["GET", "POST"])
@staff_required
def new() -> ResponseReturnValue:
    return _save(ArticleForm(), None)


@bp.route("/articles/<int:article_id>/edit", methods=["GET", "POST"])
@staff_required
def edit(article_id: int) -> ResponseReturnValue:
    article = db.get_or_404(Article, article_id)
    form = ArticleForm(obj=article) if request.method == "GET" else ArticleForm()
    return _save(form, article)


@bp.route("/articles/export.csv")
@login_required
def export_csv() -> ResponseReturnValue:
    return _download(articles_csv(services.all_articles()), "csv", "text/csv; charset=utf-8")


@bp.route("/articles/export.xlsx")
@login_required
def export_xlsx() -> ResponseReturnValue:
    return _download(articles_xlsx(services.all_articles()), "xlsx", XLSX)


def _download(body: bytes, extension: str, mimetype: str) -> Response:
    filename = f"artiklar-{today().isoformat()}.{extension}"
    return Response(
        body,
        mimetype=mimetype,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
