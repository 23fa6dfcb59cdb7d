"""/api/v1/users, /subgroups and /custom-fields: admin only."""

from __future__ import annotations

from flask.views import MethodView
from flask_babel import gettext as _
from flask_smorest import Blueprint
from marshmallow import ValidationError, fields, validate
from sqlalchemy import select

from app.api.common import (
    Id,
    PageArgs,
    Strict,
    authenticate_request,
    length,
    page_of,
    paginate,
    require_roles,
    required_text,
)
from app.auth.models import Role, Subgroup, User
from app.auth.services import EmailTaken, UserError, check_email, create_user
from app.customers.services import get_related
from app.customfields.models import CustomFieldDefinition, CustomFieldEntity, CustomFieldType
from app.customfields.services import create_definition
from app.errors import Conflict, ValidationFailed
from app.extensions import db

bp = Blueprint("api_admin", __name__, url_prefix="/api/v1", description="Administration")
bp.before_request(authenticate_request)

ROLE_CHOICES = validate.OneOf([r.value for r in Role], error="Välj admin, office eller technician.")


def user_email(value: str) -> None:
    """The one rule for a user's address (`app.auth.services.check_email`), not marshmallow's
    own: the CLI, the admin's form and the API accept and refuse the same addresses."""
    try:
        check_email(value)
    except UserError as exc:
        raise ValidationError(_(exc.message)) from None


class UserSchema(Strict):
    id = Id(dump_only=True)
    name = fields.String(required=True, validate=required_text(120))
    email = fields.String(
        required=True, validate=[length(254), user_email], metadata={"format": "email"}
    )
    password = fields.String(
        required=True,
        load_only=True,
        validate=validate.Length(min=8, max=200, error="Minst 8 tecken."),
    )
    role = fields.String(required=True, validate=ROLE_CHOICES)
    employee_number = fields.String(allow_none=True, validate=length(30))
    cost_center = fields.String(allow_none=True, validate=length(30))
    subgroup_id = Id(allow_none=True)
    locale = fields.String(validate=validate.OneOf(["sv", "en"], error="Välj sv eller en."))
    active = fields.Boolean(dump_only=True)


class SubgroupSchema(Strict):
    id = Id(dump_only=True)
    name = fields.String(required=True, validate=required_text(120))


ENTITY_CHOICES = validate.OneOf(
    [e.value for e in CustomFieldEntity],
    error="Välj customer, facility, service_order, work_order eller sales_order.",
)


class CustomFieldSchema(Strict):
    id = Id(dump_only=True)
    entity = fields.String(required=True, validate=ENTITY_CHOICES)
    name = fields.String(required=True, validate=required_text(80))
    type = fields.String(
        load_default="text",
        validate=validate.OneOf(
            [t.value for t in CustomFieldType], error="Välj text, number, date eller boolean."
        ),
    )


class CustomFieldQuery(PageArgs):
    # One of the enum's values, or the query would compare the column with a value PostgreSQL's
    # enum does not have (a 500; the API fuzz campaign found `?entity=null`).
    entity = fields.String(load_default=None, validate=ENTITY_CHOICES)


@bp.route("/users")
class Users(MethodView):
    decorators = [require_roles(Role.ADMIN)]

    @bp.arguments(PageArgs, location="query")
    @bp.response(200, page_of(UserSchema))
    def get(self, args: dict) -> dict:
        return paginate(select(User).order_by(User.name), args)

    @bp.arguments(UserSchema)
    @bp.response(201, UserSchema)
    def post(self, data: dict) -> User:
        subgroup = get_related(Subgroup, data.get("subgroup_id"), "subgroup_id")
        try:
            user = create_user(
                email=data["email"],
                name=data["name"],
                password=data["password"],
                role=data["role"],
                subgroup=subgroup,
                employee_number=data.get("employee_number"),
                cost_center=data.get("cost_center"),
                locale=data.get("locale", "sv"),
            )
        except UserError as exc:
            cls = Conflict if isinstance(exc, EmailTaken) else ValidationFailed
            raise cls(exc.message, {exc.field: [exc.message]}) from exc
        db.session.commit()
        return user


@bp.route("/subgroups")
class Subgroups(MethodView):
    decorators = [require_roles(Role.ADMIN)]

    @bp.arguments(PageArgs, location="query")
    @bp.response(200, page_of(SubgroupSchema))
    def get(self, args: dict) -> dict:
        return paginate(select(Subgroup).order_by(Subgroup.name), args)

    @bp.arguments(SubgroupSchema)
    @bp.response(201, SubgroupSchema)
    def post(self, data: dict) -> Subgroup:
        name = data["name"].strip()
        if db.session.scalar(select(Subgroup).where(Subgroup.name == name)) is not None:
            raise Conflict("Undergruppen finns redan.", {"name": ["Namnet används redan."]})
        subgroup = Subgroup(name=name)
        db.session.add(subgroup)
        db.session.commit()
        return subgroup


@bp.route("/custom-fields")
class CustomFields(MethodView):
    decorators = [require_roles(Role.ADMIN)]

    @bp.arguments(CustomFieldQuery, location="query")
    @bp.response(200, page_of(CustomFieldSchema))
    def get(self, args: dict) -> dict:
        query = select(CustomFieldDefinition).order_by(CustomFieldDefinition.id)
        if args.get("entity"):
            query = query.where(CustomFieldDefinition.entity == args["entity"])
        return paginate(query, args)

    @bp.arguments(CustomFieldSchema)
    @bp.response(201, CustomFieldSchema)
    def post(self, data: dict) -> CustomFieldDefinition:
        definition = create_definition(data["entity"], data["name"], data["type"])
        db.session.commit()
        return definition
