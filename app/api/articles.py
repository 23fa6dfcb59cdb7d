"""/api/v1/articles. Everyone reads; admin and office write (prices are theirs)."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import fields
from sqlalchemy import select

from app.api.common import (
    ETAG_HEADER,
    STAFF,
    Id,
    Number,
    PageArgs,
    Strict,
    authenticate_request,
    changed_with_etag,
    committed,
    get_or_404,
    length,
    narrowed,
    non_negative,
    page_of,
    paginate,
    patch_doc,
    require_roles,
    required_text,
    searched,
    with_etag,
)
from app.articles import services
from app.articles.models import Article

bp = Blueprint("api_articles", __name__, url_prefix="/api/v1", description="Artiklar")
bp.before_request(authenticate_request)


class ArticleSchema(Strict):
    id = Id(dump_only=True)
    article_number = fields.String(required=True, validate=required_text(50))
    name = fields.String(required=True, validate=required_text(200))
    unit = fields.String(allow_none=True, validate=length(20))
    price = Number(places=2, validate=non_negative(9_999_999_999.99))
    active = fields.Boolean()
    hidden = fields.Boolean()


class ArticleUpdateSchema(ArticleSchema):
    article_number = fields.String(validate=required_text(50))
    name = fields.String(validate=required_text(200))


class ArticleQuery(PageArgs):
    q = fields.String(load_default=None)
    active = fields.Boolean(load_default=None)


@bp.route("/articles")
class Articles(MethodView):
    @bp.arguments(ArticleQuery, location="query")
    @bp.response(200, page_of(ArticleSchema))
    def get(self, args: dict) -> dict:
        query = select(Article).order_by(Article.article_number)
        query = searched(query, args.get("q"), Article.name, Article.article_number)
        return paginate(narrowed(query, args, active=Article.active), args)

    @require_roles(*STAFF)
    @bp.arguments(ArticleSchema)
    @bp.response(201, ArticleSchema)
    def post(self, data: dict) -> Article:
        return committed(services.create_article(data))


@bp.route("/articles/<int:article_id>")
class ArticleById(MethodView):
    @bp.response(200, ArticleSchema, headers=ETAG_HEADER)
    def get(self, article_id: int) -> tuple[Article, dict[str, str]]:
        """En artikel, med ETag (artikelns version)."""
        return with_etag(get_or_404(Article, article_id))

    @require_roles(*STAFF)
    @bp.arguments(ArticleUpdateSchema)
    @bp.response(200, ArticleSchema, headers=ETAG_HEADER)
    @bp.doc(**patch_doc("en artikel (admin och kontor)"))
    def patch(self, data: dict, article_id: int) -> tuple[Article, dict[str, str]]:
        """Ändra en artikel."""
        return changed_with_etag(get_or_404(Article, article_id), data, services.update_article)
