"""The article register."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import Select, func, or_, select

from app.articles.models import Article
from app.errors import Conflict
from app.extensions import db

ARTICLE_FIELDS = ("name", "unit", "price", "active", "hidden")


def _check_number(number: str, exclude_id: int | None = None) -> None:
    query = select(Article.id).where(func.lower(Article.article_number) == number.lower())
    if exclude_id is not None:
        query = query.where(Article.id != exclude_id)
    if db.session.scalar(query) is not None:
        raise Conflict(
            _("Artikelnumret används redan."),
            {"article_number": [_("Det finns redan en artikel med det artikelnumret.")]},
        )


def create_article(data: dict) -> Article:
    """Create an article; raises Conflict for a duplicate article number."""
    number = data["article_number"].strip()
    _check_number(number)
    article = Article(article_number=number)
    for field in ARTICLE_FIELDS:
        if field in data:
            setattr(article, field, data[field])
    db.session.add(article)
    db.session.flush()
    _push_to_fortnox(article)
    return article


def update_article(article: Article, data: dict) -> Article:
    if "article_number" in data and data["article_number"] != article.article_number:
        _check_number(data["article_number"].strip(), exclude_id=article.id)
        article.article_number = data["article_number"].strip()
    for field in ARTICLE_FIELDS:
        if field in data:
            setattr(article, field, data[field])
    db.session.flush()
    _push_to_fortnox(article)
    return article


def _push_to_fortnox(article: Article) -> None:
    """An article saved here may go to Fortnox at once, through the push outbox
    (fortnox-settings.md §8: ``sync_updated_articles``, never under
    ``disable_article_creation``). A sync from Fortnox writes articles in bulk, not through
    this service, so it never pushes back."""
    from app.integrations.fortnox.pushing import queue_article

    queue_article(article)


def find_article_by_number(number: str) -> Article | None:
    return db.session.scalar(
        select(Article).where(func.lower(Article.article_number) == number.strip().lower())
    )


def search_articles(term: str, limit: int = 20, active_only: bool = True) -> list[Article]:
    """Articles whose number or name contains `term` (case-insensitive), numbers first."""
    like = f"%{term.strip().lower()}%"
    query = select(Article).where(
        or_(func.lower(Article.article_number).like(like), func.lower(Article.name).like(like))
    )
    if active_only:
        query = query.where(Article.active.is_(True))
    return list(db.session.scalars(query.order_by(Article.article_number).limit(limit)))


def article_query(term: str = "") -> Select[Article]:
    """Every article (active or not) whose number or name contains `term`, by number: the
    article register page."""
    query = select(Article).order_by(Article.article_number)
    term = term.strip().lower()
    if term:
        like = f"%{term}%"
        query = query.where(
            or_(func.lower(Article.article_number).like(like), func.lower(Article.name).like(like))
        )
    return query


def all_articles() -> list[Article]:
    """The whole register, by number (what the exports hold)."""
    return list(db.session.scalars(select(Article).order_by(Article.article_number)))


def articles_by_numbers(numbers: list[str]) -> dict[str, Article]:
    """{lower-case number: article} for the given article numbers (unknown ones left out)."""
    wanted = {n.strip().lower() for n in numbers if n and n.strip()}
    if not wanted:
        return {}
    query = select(Article).where(func.lower(Article.article_number).in_(wanted))
    return {a.article_number.lower(): a for a in db.session.scalars(query)}
