"""The article register."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import Boolean, CheckConstraint, Index, Integer, Numeric, String, func
from sqlalchemy.orm import Mapped, mapped_column

from app.db import UTCDateTime, utcnow
from app.extensions import Model


class Article(Model):
    __tablename__ = "articles"
    __table_args__ = (CheckConstraint("price >= 0", name="price_nonneg"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # Fortnox ArticleNumber (FACTS.md §6).
    article_number: Mapped[str] = mapped_column(String(50), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    unit: Mapped[str | None] = mapped_column(String(20))
    price: Mapped[Decimal] = mapped_column(Numeric(12, 2), default=Decimal("0"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # "Dölj för inloggad kund och vid utskrift" (fortnox-settings.md §3 exclude_hidden_articles)
    hidden: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    # Optimistic locking (issue #17), as on Order: a stale save raises StaleDataError.
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")

    __mapper_args__ = {"version_id_col": version}


# Look-ups and searches at a real company's size (issue #18; migration 0010). A number is
# looked up as lower(article_number) = … on every saved article row; the suggestions and the
# register search lower(…) LIKE '%…%', which PostgreSQL answers from trigram indexes.
Index("ix_articles_article_number_lower", func.lower(Article.article_number))
Index(
    "ix_articles_article_number_trgm",
    func.lower(Article.article_number).label("article_number_lower"),
    postgresql_using="gin",
    postgresql_ops={"article_number_lower": "gin_trgm_ops"},
).ddl_if(dialect="postgresql")
Index(
    "ix_articles_name_trgm",
    func.lower(Article.name).label("name_lower"),
    postgresql_using="gin",
    postgresql_ops={"name_lower": "gin_trgm_ops"},
).ddl_if(dialect="postgresql")
