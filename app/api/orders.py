"""/api/v1/orders with actions, article rows, service objects, comments and signing."""

from __future__ import annotations

from typing import Any

from flask import Response
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import fields, validate

from app.api.common import (
    ETAG_HEADER,
    BoundedList,
    Id,
    Loose,
    Number,
    PageArgs,
    Strict,
    authenticate_request,
    bounded,
    check_if_match,
    current_api_user,
    length,
    non_negative,
    page_of,
    paginate,
    patch_doc,
    required_text,
    with_etag,
)
from app.auth.models import User
from app.customers.services import get_related
from app.errors import NotFound
from app.extensions import db
from app.jobs import job_owner, job_status
from app.limits import MAX_ACTIONS, MAX_ARTICLE_ROWS, MAX_CUSTOM_FIELDS, MAX_SERVICE_OBJECTS
from app.orders import services
from app.orders.models import (
    ArticleRow,
    Comment,
    FortnoxState,
    Order,
    OrderKind,
    OrderServiceObject,
    OrderStatus,
)
from app.orders.protocol import protocol_response

bp = Blueprint("api_orders", __name__, url_prefix="/api/v1", description="Ordrar")
bp.before_request(authenticate_request)

KINDS = validate.OneOf([k.value for k in OrderKind], error="Välj service, work eller sales.")
STATUSES = validate.OneOf(
    [s.value for s in OrderStatus],
    error="Välj draft, in_progress, ready, sent, invoiced eller cancelled.",
)


class ActionSchema(Strict):
    id = Id(dump_only=True)
    date = fields.Date(allow_none=True)
    description = fields.String(required=True, validate=required_text(5000))
    technician_id = Id(allow_none=True)
    hours = Number(places=2, allow_none=True, validate=non_negative(9999))


class ArticleRowSchema(Strict):
    id = Id(dump_only=True)
    article_number = fields.Method(
        "dump_article_number", deserialize="load_article_number", required=True
    )
    article_name = fields.Method("dump_article_name", dump_only=True)
    description = fields.String(allow_none=True, validate=length(200))
    quantity = Number(places=3, required=True, validate=non_negative(999_999_999))
    price = Number(places=2, allow_none=True, validate=non_negative(9_999_999_999.99))
    unit = fields.String(allow_none=True, validate=length(20))
    date = fields.Date(allow_none=True)
    technician_id = Id(allow_none=True)
    service_object_id = Id(allow_none=True)
    cost_center = fields.String(allow_none=True, validate=length(30))

    def dump_article_number(self, row: ArticleRow) -> str:
        return row.article.article_number

    def dump_article_name(self, row: ArticleRow) -> str:
        return row.article.name

    def load_article_number(self, value: Any) -> str:
        if not isinstance(value, str) or not value.strip() or len(value) > 50:
            raise validate.ValidationError("Ange ett artikelnummer (högst 50 tecken).")
        return value.strip()


class OrderServiceObjectSchema(Strict):
    service_object_id = Id(required=True)
    name = fields.Method("dump_name", dump_only=True)
    operating_hours = Number(places=1, allow_none=True, validate=non_negative(1e10))

    def dump_name(self, link: OrderServiceObject) -> str:
        return link.service_object.name


class CommentSchema(Strict):
    id = Id(dump_only=True)
    text = fields.String(required=True, validate=required_text(5000))
    author_id = Id(dump_only=True)
    author_name = fields.Method("dump_author", dump_only=True)
    created_at = fields.DateTime(dump_only=True)

    def dump_author(self, comment: Comment) -> str | None:
        return comment.author.name if comment.author else None


class SignatureSchema(Loose):
    user_id = Id(allow_none=True)
    user_name = fields.Method("dump_user", dump_only=True)
    signed_at = fields.DateTime()
    customer_name = fields.String()
    has_drawing = fields.Boolean()

    def dump_user(self, data: dict) -> str | None:
        return data.get("user_name")


class FortnoxInfoSchema(Loose):
    state = fields.String()
    document_type = fields.String(allow_none=True)
    document_number = fields.String(allow_none=True)
    invoice_number = fields.String(allow_none=True)
    reference = fields.String(allow_none=True)
    last_error = fields.String(allow_none=True)


class OrderSchema(Strict):
    id = Id(dump_only=True)
    kind = fields.String(required=True, validate=KINDS)
    number = fields.Integer(dump_only=True)
    display_number = fields.String(dump_only=True)
    status = fields.String(validate=STATUSES)
    subgroup_id = Id(allow_none=True)
    customer_id = Id(required=True)
    facility_id = Id(allow_none=True)
    contact_id = Id(allow_none=True)
    orderer = fields.String(allow_none=True, validate=length(120))
    assigned_user_id = Id(allow_none=True)
    customer_order_number = fields.String(allow_none=True, validate=length(60))
    description = fields.String(allow_none=True, validate=length(10000))
    fault_cause = fields.String(allow_none=True, validate=length(10000))
    delivery_date = fields.Date(allow_none=True)
    custom_fields = fields.Dict(
        keys=fields.String(),
        values=fields.Raw(allow_none=True),
        validate=bounded(MAX_CUSTOM_FIELDS),
    )
    actions = BoundedList(fields.Nested(ActionSchema), max_items=MAX_ACTIONS)
    article_rows = BoundedList(fields.Nested(ArticleRowSchema), max_items=MAX_ARTICLE_ROWS)
    service_objects = BoundedList(
        fields.Nested(OrderServiceObjectSchema), max_items=MAX_SERVICE_OBJECTS
    )
    comments = fields.List(fields.Nested(CommentSchema), dump_only=True)
    signature = fields.Method("dump_signature", dump_only=True)
    fortnox = fields.Method("dump_fortnox", dump_only=True)
    created_at = fields.DateTime(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)

    def dump_signature(self, order: Order) -> dict | None:
        if not order.is_signed:
            return None
        return {
            "user_id": order.signed_by_id,
            "user_name": order.signed_by.name if order.signed_by else None,
            "signed_at": order.signed_at.isoformat() if order.signed_at else None,
            "customer_name": order.signed_customer_name,
            "has_drawing": order.has_signature_drawing,
        }

    def dump_fortnox(self, order: Order) -> dict:
        return {
            "state": order.fortnox_state.value,
            "document_type": order.fortnox_document_type,
            "document_number": order.fortnox_document_number,
            "invoice_number": order.fortnox_invoice_number,
            "reference": order.fortnox_reference,
            "last_error": order.fortnox_last_error,
        }


class OrderUpdateSchema(OrderSchema):
    kind = fields.String(dump_only=True)
    customer_id = Id()


class OrderQuery(PageArgs):
    kind = fields.String(load_default=None, validate=KINDS)
    status = fields.String(load_default=None, validate=STATUSES)
    customer_id = Id(load_default=None)
    assigned_user_id = Id(load_default=None)
    subgroup_id = Id(load_default=None)
    fortnox_state = fields.String(
        load_default=None, validate=validate.OneOf([s.value for s in FortnoxState])
    )


class SignSchema(Strict):
    customer_name = fields.String(required=True, validate=required_text(120))
    user_id = Id(allow_none=True)
    signature = fields.String(
        allow_none=True,
        metadata={
            "description": "Kundens ritade signatur som data-URL: data:image/png;base64,… "
            "(PNG, högst 512 kB). Utelämnad eller null: signerat med namn utan ritning."
        },
    )


class JobSchema(Loose):
    status = fields.String()
    result = fields.Raw(allow_none=True)
    error = fields.String(allow_none=True)


def _order(order_id: int, options: tuple[Any, ...] = services.DETAIL_OPTIONS) -> Order:
    """The order (loaded with ``options``) if the caller may see it: 404, else 403."""
    order = services.load_order(order_id, options)
    if order is None:
        raise NotFound("Ordern finns inte.")
    services.ensure_access(current_api_user(), order)
    return order


@bp.route("/orders")
class Orders(MethodView):
    @bp.arguments(OrderQuery, location="query")
    @bp.response(200, page_of(OrderSchema))
    def get(self, args: dict) -> dict:
        """Ordrar, sidvis. Tekniker ser sin undergrupps ordrar."""
        # The same query path as the order list page (services.search_orders).
        query = services.search_orders(current_api_user(), args)
        return paginate(query, args, options=services.API_OPTIONS)

    @bp.arguments(OrderSchema)
    @bp.response(201, OrderSchema)
    def post(self, data: dict) -> Order:
        """Skapa en order; numret tas ur orderslagets nummerserie."""
        order = services.create_order(data, by=current_api_user())
        db.session.commit()
        return order


@bp.route("/orders/<int:order_id>")
class OrderById(MethodView):
    @bp.response(200, OrderSchema, headers=ETAG_HEADER)
    def get(self, order_id: int) -> tuple[Order, dict[str, str]]:
        """En order, med ETag (orderns version)."""
        return with_etag(_order(order_id, services.API_OPTIONS))

    @bp.arguments(OrderUpdateSchema)
    @bp.response(200, OrderSchema, headers=ETAG_HEADER)
    @bp.doc(**patch_doc("en order. Listor som skickas ersätter orderns listor"))
    def patch(self, data: dict, order_id: int) -> tuple[Order, dict[str, str]]:
        """Ändra en order. Listor som skickas ersätter orderns listor."""
        order = _order(order_id)
        check_if_match(order)
        services.update_order(order, data, by=current_api_user())
        db.session.commit()
        return with_etag(order)


@bp.route("/orders/<int:order_id>/comments", methods=["POST"])
@bp.arguments(CommentSchema)
@bp.response(201, CommentSchema)
def add_comment(data: dict, order_id: int) -> Comment:
    comment = services.add_comment(_order(order_id), data["text"], by=current_api_user())
    db.session.commit()
    return comment


@bp.route("/orders/<int:order_id>/sign", methods=["POST"])
@bp.arguments(SignSchema)
@bp.response(200, OrderSchema)
def sign(data: dict, order_id: int) -> Order:
    """Signera ordern som den anropande användaren (admin och kontor kan ange user_id)."""
    by = current_api_user()
    signer = None
    if data.get("user_id") is not None:
        signer = get_related(User, data["user_id"], "user_id")
    order = services.sign_order(
        _order(order_id),
        by=by,
        customer_name=data["customer_name"],
        signer=signer,
        signature=data.get("signature"),
    )
    db.session.commit()
    return order


PDF_RESPONSE = {
    "description": "Serviceprotokollet som PDF (A4, svenska).",
    "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
}


@bp.route("/orders/<int:order_id>/protocol.pdf", methods=["GET"])
@bp.doc(responses={"200": PDF_RESPONSE})
def protocol_pdf(order_id: int) -> Response:
    """Serviceprotokollet som PDF: kund, anläggning, serviceobjekt med drifttid, åtgärder,
    artikelrader (priser bara med inställningen "Visa priser på protokollet") och signering."""
    return protocol_response(_order(order_id))


class SendJobSchema(Loose):
    job_id = fields.String()


@bp.route("/orders/<int:order_id>/send", methods=["POST"])
@bp.response(202, SendJobSchema)
def send_to_fortnox(order_id: int) -> dict:
    """Skicka ordern till Fortnox i bakgrunden (admin och kontor). 409 när det inte går: ingen
    integration, ordern är inte klar (utan inställningen att skicka tidigare), redan fakturerad,
    makulerad, eller förhandsgranskningen visar fel. En sändning som redan pågår återanvänds."""
    from app.integrations.fortnox import sending

    send = sending.request_send(_order(order_id), by=current_api_user())
    db.session.commit()
    job_id = send.job_id or sending.enqueue_send(send)
    return {"job_id": job_id}


@bp.route("/jobs/<job_id>", methods=["GET"])
@bp.response(200, JobSchema)
def get_job(job_id: str) -> dict:
    status = job_status(job_id)
    user = current_api_user()
    # Only who asked for a job (or an admin) sees its result (issue #17).
    if status is None or (not user.is_admin and job_owner(job_id) != user.id):
        raise NotFound("Jobbet finns inte.")
    return status


class PreviewSchema(Loose):
    document_type = fields.String()
    payload = fields.Dict()
    warnings = fields.List(fields.String())
    errors = fields.List(fields.String())
    reference = fields.String()


@bp.route("/orders/<int:order_id>/fortnox-preview", methods=["GET"])
@bp.response(200, PreviewSchema)
def fortnox_preview(order_id: int) -> dict:
    """Det exakta anropet som nuvarande inställningar skulle skicka, utan att skicka det.
    409 när ingen ansluten integration hanterar ordern."""
    from app.integrations.fortnox.services import preview

    result = preview(_order(order_id))
    return {
        "document_type": result.document_type,
        "payload": result.payload,
        "warnings": list(result.warnings),
        "errors": list(result.errors),
        "reference": result.reference,
    }
