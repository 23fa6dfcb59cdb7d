"""A frozen snapshot of an order and what the mapping needs to know about Fortnox.

The mapping (``mapping.map_order``) reads nothing but these values: they are built from the
database models in one place, before mapping, so the mapping stays pure and testable. Field
names mirror spec/domain-and-api.md. All collections are tuples or read-only mappings, so a
snapshot is immutable; money and quantities are ``Decimal``.

Conventions for builders: an absent text is ``""`` (never ``None``); an absent relation is
``None``; custom-field values are texts (convert numbers and dates with ``str``); lists keep the
order the user sees (article rows in entry order, comments in any order — they are sorted).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Literal

OrderKind = Literal["service", "work", "sales"]
OrderStatus = Literal["draft", "in_progress", "ready", "sent", "invoiced", "cancelled"]


class FrozenDict(Mapping[str, str]):
    """A read-only ``str -> str`` mapping (the custom fields of an entity). Not hashable:
    nothing hashes a snapshot that holds one (customer, facility, order)."""

    __slots__ = ("_data",)

    def __init__(self, data: Mapping[str, str] | None = None) -> None:
        self._data: dict[str, str] = dict(data or {})

    def __getitem__(self, key: str) -> str:
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Mapping):
            return self._data == dict(other)
        return NotImplemented

    def __repr__(self) -> str:
        return f"FrozenDict({self._data!r})"


def _freeze(obj: object, name: str) -> None:
    """Turn a custom-fields mapping given as a plain dict into a ``FrozenDict`` in place."""
    value = getattr(obj, name)
    if not isinstance(value, FrozenDict):
        object.__setattr__(obj, name, FrozenDict(value))


@dataclass(frozen=True, slots=True)
class UserSnapshot:
    """A user as a technician, assignee or signer: display name and payroll data."""

    name: str
    id: int | None = None
    employee_number: str = ""  # anställningsnummer: Fortnox EmployeeId for time reports
    cost_center: str = ""


@dataclass(frozen=True, slots=True)
class CustomerSnapshot:
    """The order's customer. ``number`` is the Fortnox ``CustomerNumber``."""

    number: str
    name: str
    address1: str = ""
    address2: str = ""
    zip_code: str = ""
    city: str = ""
    country: str = ""
    subgroup_id: int | None = None
    custom_fields: Mapping[str, str] = field(default_factory=FrozenDict)

    def __post_init__(self) -> None:
        _freeze(self, "custom_fields")


@dataclass(frozen=True, slots=True)
class FacilitySnapshot:
    """The order's facility (anläggning): name, address and custom fields."""

    name: str
    address1: str = ""
    address2: str = ""
    zip_code: str = ""
    city: str = ""
    country: str = ""
    custom_fields: Mapping[str, str] = field(default_factory=FrozenDict)

    def __post_init__(self) -> None:
        _freeze(self, "custom_fields")


@dataclass(frozen=True, slots=True)
class ContactSnapshot:
    """The order's contact person at the customer."""

    name: str
    phone: str = ""
    email: str = ""


@dataclass(frozen=True, slots=True)
class ServiceObjectSnapshot:
    """A service object (serviceobjekt). Equal snapshots are the same object: set ``id``."""

    name: str
    id: int | None = None
    machine_number: str = ""
    serial_number: str = ""
    comment: str = ""


@dataclass(frozen=True, slots=True)
class OrderServiceObjectSnapshot:
    """A service object the order covers, with the operating-hours reading taken on it."""

    service_object: ServiceObjectSnapshot
    operating_hours: Decimal | None = None


@dataclass(frozen=True, slots=True)
class ActionSnapshot:
    """An action (åtgärd) on the order."""

    description: str
    date: date | None = None
    technician: UserSnapshot | None = None
    hours: Decimal | None = None


@dataclass(frozen=True, slots=True)
class ArticleRowSnapshot:
    """An article row as entered on the order.

    ``article_name`` is the article's name; ``description`` the row's own text when it
    overrides the name, else ``None``. ``cost_center`` is the row's own (it defaults to the
    technician's when the row is entered). ``hidden`` is the article's hidden flag (Dölj för
    inloggad kund och vid utskrift).
    """

    article_number: str
    article_name: str
    quantity: Decimal
    price: Decimal
    unit: str = ""
    description: str | None = None
    date: date | None = None
    technician: UserSnapshot | None = None
    service_object: ServiceObjectSnapshot | None = None
    cost_center: str = ""
    hidden: bool = False

    @property
    def text(self) -> str:
        """What the row says: its own description when set, else the article's name."""
        return self.article_name if self.description is None else self.description


@dataclass(frozen=True, slots=True)
class CommentSnapshot:
    """A comment on the order. ``created_at`` should be timezone-aware (UTC in the database)."""

    author: str
    created_at: datetime
    text: str


@dataclass(frozen=True, slots=True)
class OrderSnapshot:
    """Everything about one order that can reach Fortnox.

    ``id`` is the order's database id; ``reference`` its send reference (random, stored on the
    order), which no setting changes. ``signed_by``/``signed_at``/``signed_customer_name`` are the
    signature; the order counts as signed when ``signed_by`` is set.
    """

    id: int
    kind: OrderKind
    number: int
    customer: CustomerSnapshot
    status: OrderStatus = "draft"
    subgroup_id: int | None = None
    facility: FacilitySnapshot | None = None
    contact: ContactSnapshot | None = None
    orderer: str = ""
    assigned_user: UserSnapshot | None = None
    signed_by: UserSnapshot | None = None
    signed_at: datetime | None = None
    signed_customer_name: str = ""
    customer_order_number: str = ""
    description: str = ""
    fault_cause: str = ""
    delivery_date: date | None = None
    custom_fields: Mapping[str, str] = field(default_factory=FrozenDict)
    actions: tuple[ActionSnapshot, ...] = ()
    article_rows: tuple[ArticleRowSnapshot, ...] = ()
    service_objects: tuple[OrderServiceObjectSnapshot, ...] = ()
    comments: tuple[CommentSnapshot, ...] = ()
    # The order's stored send reference (§2); "" in snapshots made by hand (tests), where the
    # mapping falls back to one built from ``id``.
    reference: str = ""

    def __post_init__(self) -> None:
        _freeze(self, "custom_fields")
        for name in ("actions", "article_rows", "service_objects", "comments"):
            value = getattr(self, name)
            if not isinstance(value, tuple):
                object.__setattr__(self, name, tuple(value))


@dataclass(frozen=True, slots=True)
class Lookups:
    """What we have synced from the Fortnox registers the mapping checks codes against.

    Each set holds the codes present (and, for cost centers, active) in Fortnox at the last
    sync; each ``*_synced`` flag says whether that register has been fetched at all, so that
    "not fetched yet" and "fetched, code missing" give different messages.
    """

    cost_centers: frozenset[str] = frozenset()
    terms_of_delivery: frozenset[str] = frozenset()
    ways_of_delivery: frozenset[str] = frozenset()
    cost_centers_synced: bool = False
    terms_of_delivery_synced: bool = False
    ways_of_delivery_synced: bool = False

    def __post_init__(self) -> None:
        for name in ("cost_centers", "terms_of_delivery", "ways_of_delivery"):
            value = getattr(self, name)
            if not isinstance(value, frozenset):
                object.__setattr__(self, name, frozenset(value))
