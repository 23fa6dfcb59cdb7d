"""/api/v1/customers, /facilities and /service-objects."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import fields, validate
from sqlalchemy import select

from app.api.common import (
    ETAG_HEADER,
    STAFF,
    BoundedList,
    Id,
    Loose,
    Number,
    PageArgs,
    Strict,
    authenticate_request,
    changed_with_etag,
    child_resource,
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
from app.customers import services
from app.customers.models import Customer, Facility, ServiceObject
from app.extensions import db
from app.limits import MAX_CONTACTS

bp = Blueprint(
    "api_customers", __name__, url_prefix="/api/v1", description="Kunder och anläggningar"
)
bp.before_request(authenticate_request)


class ContactSchema(Strict):
    id = Id()
    name = fields.String(required=True, validate=required_text(120))
    phone = fields.String(allow_none=True, validate=length(50))
    email = fields.Email(allow_none=True, validate=length(254))


class AddressMixin:
    address1 = fields.String(allow_none=True, validate=length(200))
    address2 = fields.String(allow_none=True, validate=length(200))
    zip_code = fields.String(allow_none=True, validate=length(20))
    city = fields.String(allow_none=True, validate=length(100))
    country = fields.String(allow_none=True, validate=length(100))


CustomFields = fields.Dict(keys=fields.String(), values=fields.Raw(allow_none=True))


class CustomerSchema(AddressMixin, Strict):
    id = Id(dump_only=True)
    customer_number = fields.String(validate=length(20))
    name = fields.String(required=True, validate=required_text(200))
    organisation_number = fields.String(allow_none=True, validate=length(30))
    email = fields.Email(allow_none=True, validate=length(254))
    phone = fields.String(allow_none=True, validate=length(50))
    subgroup_id = Id(allow_none=True)
    active = fields.Boolean()
    contacts = BoundedList(fields.Nested(ContactSchema), max_items=MAX_CONTACTS)
    custom_fields = CustomFields
    tags = fields.Method("dump_tags", deserialize="load_tags")
    facility_ids = fields.Method("dump_facility_ids", dump_only=True)

    def dump_tags(self, customer: Customer) -> list[str]:
        return [t.name for t in customer.tags]

    def load_tags(self, value: Any) -> list[str]:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise validate.ValidationError("Ange en lista med texter.")
        if any(len(v) > 60 for v in value):
            raise validate.ValidationError("Högst 60 tecken per tagg.")
        return value

    def dump_facility_ids(self, customer: Customer) -> list[int]:
        return [f.id for f in customer.facilities]


class CustomerUpdateSchema(CustomerSchema):
    name = fields.String(validate=required_text(200))


class CustomerQuery(PageArgs):
    q = fields.String(load_default=None, metadata={"description": "Sök på nummer eller namn"})
    active = fields.Boolean(load_default=None)


class FacilitySchema(AddressMixin, Strict):
    id = Id(dump_only=True)
    customer_id = Id(required=True)
    name = fields.String(required=True, validate=required_text(200))
    custom_fields = CustomFields
    service_object_ids = fields.Method("dump_so_ids", dump_only=True)

    def dump_so_ids(self, facility: Facility) -> list[int]:
        return [s.id for s in facility.service_objects]


class FacilityUpdateSchema(FacilitySchema):
    customer_id = Id()
    name = fields.String(validate=required_text(200))


class FacilityQuery(PageArgs):
    customer_id = Id(load_default=None)


class ServiceObjectSchema(Strict):
    id = Id(dump_only=True)
    facility_id = Id(required=True)
    name = fields.String(required=True, validate=required_text(200))
    machine_number = fields.String(allow_none=True, validate=length(60))
    serial_number = fields.String(allow_none=True, validate=length(100))
    operating_hours = Number(places=1, allow_none=True, validate=non_negative(1e10))
    comment = fields.String(allow_none=True, validate=length(5000))


class ServiceObjectUpdateSchema(ServiceObjectSchema):
    facility_id = Id()
    name = fields.String(validate=required_text(200))


class ServiceObjectQuery(PageArgs):
    facility_id = Id(load_default=None)


class Empty(Loose):
    pass


@bp.route("/customers")
class Customers(MethodView):
    @bp.arguments(CustomerQuery, location="query")
    @bp.response(200, page_of(CustomerSchema))
    def get(self, args: dict) -> dict:
        """Kunder, sidvis."""
        query = select(Customer).order_by(Customer.customer_number)
        query = searched(query, args.get("q"), Customer.name, Customer.customer_number)
        return paginate(narrowed(query, args, active=Customer.active), args)

    @bp.arguments(CustomerSchema)
    @bp.response(201, CustomerSchema)
    def post(self, data: dict) -> Customer:
        """Skapa en kund (kundnumret väljs automatiskt om det saknas)."""
        return committed(services.create_customer(data))


@bp.route("/customers/<int:customer_id>")
class CustomerById(MethodView):
    @bp.response(200, CustomerSchema, headers=ETAG_HEADER)
    def get(self, customer_id: int) -> tuple[Customer, dict[str, str]]:
        """En kund, med ETag (kundens version)."""
        return with_etag(get_or_404(Customer, customer_id))

    @bp.arguments(CustomerUpdateSchema)
    @bp.response(200, CustomerSchema, headers=ETAG_HEADER)
    @bp.doc(**patch_doc("en kund. Kontakter och taggar som skickas ersätter kundens"))
    def patch(self, data: dict, customer_id: int) -> tuple[Customer, dict[str, str]]:
        """Ändra en kund."""
        return changed_with_etag(get_or_404(Customer, customer_id), data, services.update_customer)

    @require_roles(*STAFF)
    @bp.response(204)
    def delete(self, customer_id: int) -> None:
        """Ta bort en kund utan ordrar (admin och kontor)."""
        services.delete_customer(get_or_404(Customer, customer_id))
        db.session.commit()


child_resource(
    bp,
    "/facilities",
    Facility,
    id_arg="facility_id",
    parent=("customer_id", Facility.customer_id),
    schema=FacilitySchema,
    update_schema=FacilityUpdateSchema,
    query_schema=FacilityQuery,
    create=services.create_facility,
    update=services.update_facility,
    endpoints=("Facilities", "FacilityById"),
)
child_resource(
    bp,
    "/service-objects",
    ServiceObject,
    id_arg="service_object_id",
    parent=("facility_id", ServiceObject.facility_id),
    schema=ServiceObjectSchema,
    update_schema=ServiceObjectUpdateSchema,
    query_schema=ServiceObjectQuery,
    create=services.create_service_object,
    update=services.update_service_object,
    endpoints=("ServiceObjects", "ServiceObjectById"),
)
