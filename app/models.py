"""Imports every model so Alembic and `db.create_all` see the whole schema."""

from app.articles.models import Article
from app.auth.models import ApiToken, Role, Subgroup, User
from app.customers.models import ContactPerson, Customer, Facility, ServiceObject, Tag
from app.customfields.models import CustomFieldDefinition, CustomFieldEntity
from app.integrations.models import (
    FortnoxIntegration,
    FortnoxSend,
    IntegrationError,
    OAuthState,
    SyncRun,
)
from app.orders import models as orders  # Order, its rows and comments, numbering, mail log
from app.settings.models import OrganisationSetting

__all__ = [
    "ApiToken",
    "Article",
    "ContactPerson",
    "CustomFieldDefinition",
    "CustomFieldEntity",
    "Customer",
    "Facility",
    "FortnoxIntegration",
    "FortnoxSend",
    "IntegrationError",
    "OAuthState",
    "orders",
    "OrganisationSetting",
    "Role",
    "ServiceObject",
    "Subgroup",
    "SyncRun",
    "Tag",
    "User",
]
