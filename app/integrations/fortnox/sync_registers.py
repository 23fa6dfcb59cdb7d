"""Syncing the customer and article registers and the prices from Fortnox
(fortnox-settings.md §8; integration-health.md "Sync run log").

Three parts of the sync engine (:mod:`app.integrations.fortnox.sync`):

* ``articles``: Fortnox articles changed since the cursor (all on a first or full sync), a page
  of 500 at a time. Inactive Fortnox articles never come in (skipped). A new number creates our
  article (name from ``Description``, unit, price from ``SalesPrice`` or 0); an existing one is
  updated when its name or unit differs, its price too under ``sync_prices``. Every article
  that came in is linked to the integration (:class:`FortnoxLink`).
* ``customers``: Fortnox customers changed since the cursor. A new number creates our customer
  (with the integration's subgroup under ``set_subgroup_on_sync``); an existing one is
  overwritten field by field only under ``sync_updated_customers``, each overwritten field kept
  as a :class:`CustomerChange` (the customer page's "Historik"). ``customer_sync_tag`` limits
  what is *sent*, never what comes in.
* ``prices`` (only under ``sync_prices``): our article prices follow Fortnox's ``SalesPrice``.

Before the first price overwrite of a run an :class:`ArticleSnapshot` of the whole article
register is stored; an admin downloads it as Excel or restores it
(:mod:`app.integrations.snapshot_routes`, :func:`restore_snapshot`). When the ``articles`` part
of the same run already brought the prices in (``sync_prices`` on, from a cursor no newer than
the prices cursor), the ``prices`` part makes no list calls of its own.

Efficiency (50 000 articles): our article numbers are read once per part; then per page one
query for our existing records, one for the links, a bulk insert of each, updates only of what
differs, and one commit (the progress line). Pages after the first are fetched by a few threads
while the ones before them are written (:func:`fetched_ahead`), within the integration's rate
limit. A record our validation refuses (too long, a negative price, …) is named in the run's
log with its number (``fail_record``) and the rest goes on. Matching is by number,
case-insensitively, like our registers.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import partial
from typing import Any, cast

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    Integer,
    Numeric,
    String,
    Table,
    Text,
    TypeDecorator,
    func,
    insert,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql.schema import CallableColumnDefault, ScalarElementColumnDefault

from app.articles.models import Article
from app.auth.models import User
from app.customers.models import Customer
from app.db import utcnow as _now
from app.errors import Conflict
from app.extensions import db
from app.integrations.fortnox import services
from app.integrations.fortnox.client import (
    PAGE_SIZE,
    FortnoxClient,
    Page,
    Replay,
    format_lastmodified,
)
from app.integrations.fortnox.errors import FortnoxError
from app.integrations.fortnox.ratelimit import FORTNOX_LIMIT
from app.integrations.fortnox.sync import SyncContext, part, running
from app.integrations.models import (
    ArticleSnapshot,
    CustomerChange,
    FortnoxIntegration,
    FortnoxLink,
)

CENT = Decimal("0.01")
MAX_PRICE = Decimal("9999999999.99")  # Numeric(12, 2)
RESTORE_CHUNK = 500


def _length(model: type[Any], column: str) -> int:
    """A text column's length: our limit is what the database would refuse."""
    length = getattr(model.__table__.c[column].type, "length", None)
    assert isinstance(length, int), column
    return length


ARTICLE_NUMBER_MAX = _length(Article, "article_number")
ARTICLE_NAME_MAX = _length(Article, "name")
ARTICLE_UNIT_MAX = _length(Article, "unit")

# Customer fields that come from Fortnox: (our attribute, Fortnox field(s), Swedish label).
CUSTOMER_FIELDS: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("name", ("Name",), "Namn"),
    ("organisation_number", ("OrganisationNumber",), "Organisationsnummer"),
    ("address1", ("Address1",), "Adress"),
    ("address2", ("Address2",), "Adress 2"),
    ("zip_code", ("ZipCode",), "Postnummer"),
    ("city", ("City",), "Ort"),
    ("email", ("Email",), "E-post"),
    ("phone", ("Phone1", "Phone"), "Telefon"),
)
CUSTOMER_NUMBER_MAX = _length(Customer, "customer_number")


class Refused(Exception):
    """A record from Fortnox our validation does not accept (the reason is Swedish)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# --- reading Fortnox records ------------------------------------------------------------------


def _text(item: dict[str, Any], names: Sequence[str], limit: int, label: str) -> str | None:
    """A text field, trimmed; empty is None; over our limit is refused."""
    value: Any = None
    for name in names:
        value = item.get(name)
        if value not in (None, ""):
            break
    if value is None:
        return None
    text = str(value).strip()
    if not text:
        return None
    if len(text) > limit:
        raise Refused(f"{label} är {len(text)} tecken, högst {limit} går")
    return text


def _required(item: dict[str, Any], names: Sequence[str], limit: int, label: str) -> str:
    text = _text(item, names, limit, label)
    if text is None:
        raise Refused(f"{label} saknas")
    return text


def _price(value: Any) -> Decimal:
    """``SalesPrice`` as a price of ours: a list gives it as a text ("650"), one article as a
    number; none is 0 (a Fortnox article without a price, §8). Rounded to öre."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return Decimal("0.00")
    if isinstance(value, bool):
        raise Refused(f"Priset {value!r} är inget tal")
    try:
        number = Decimal(str(value).strip().replace(",", "."))
    except InvalidOperation:
        raise Refused(f"Priset {value!r} är inget tal") from None
    if not number.is_finite():
        raise Refused(f"Priset {value!r} är inget tal")
    number = number.quantize(CENT, rounding=ROUND_HALF_UP)
    if number < 0:
        raise Refused(f"Negativt pris ({number}) går inte")
    if number > MAX_PRICE:
        raise Refused(f"Priset {number} är för stort")
    return number


@dataclass(frozen=True)
class IncomingArticle:
    number: str
    name: str
    unit: str | None
    price: Decimal

    @property
    def key(self) -> str:
        return self.number.lower()


def incoming_article(item: dict[str, Any]) -> IncomingArticle:
    """A Fortnox article as ours; raises :class:`Refused`."""
    return IncomingArticle(
        number=_required(item, ("ArticleNumber",), ARTICLE_NUMBER_MAX, "Artikelnumret"),
        name=_required(item, ("Description",), ARTICLE_NAME_MAX, "Benämningen"),
        unit=_text(item, ("Unit",), ARTICLE_UNIT_MAX, "Enheten"),
        price=_price(item.get("SalesPrice")),
    )


@dataclass(frozen=True)
class IncomingCustomer:
    number: str
    fields: dict[str, str | None]
    active: bool

    @property
    def key(self) -> str:
        return self.number.lower()


def incoming_customer(item: dict[str, Any]) -> IncomingCustomer:
    """A Fortnox customer as ours; raises :class:`Refused`."""
    number = _required(item, ("CustomerNumber",), CUSTOMER_NUMBER_MAX, "Kundnumret")
    values: dict[str, str | None] = {}
    for attr, names, label in CUSTOMER_FIELDS:
        limit = _length(Customer, attr)
        if attr == "name":
            values[attr] = _required(item, names, limit, label)
        else:
            values[attr] = _text(item, names, limit, label)
    return IncomingCustomer(number, values, item.get("Active") is not False)


def _number_of(item: dict[str, Any], key: str) -> str:
    return str(item.get(key) or "").strip() or "(utan nummer)"


# --- shared helpers -----------------------------------------------------------------------------


def _progress(context: SyncContext, done: int, total: int) -> None:
    """The page's progress line; it also commits the page."""
    if total:
        context.progress(min(done, total), max(total, done))
    else:
        context.log("Inga nya eller ändrade poster i Fortnox.")


def _table(model: type[Any]) -> Table:
    return cast(Table, model.__table__)


# Column types whose values a PostgreSQL array or a JSON array carries (``_insert_bulk``).
_PLAIN_TYPES = (String, Text, Integer, Numeric, Boolean, DateTime, Date)


def _insert_bulk(table: Table, rows: list[dict[str, Any]], key: str) -> set[str] | None:
    """Every row in ONE statement, ``INSERT … SELECT … FROM <the rows as one JSON text> ON
    CONFLICT DO NOTHING RETURNING <key>`` (PostgreSQL's ``json_array_elements``, SQLite's
    ``json_each``): a page of 500 is one short statement with one parameter, where an
    executemany is 500 statements with SQLAlchemy preparing each row's parameters, and arrays
    per column cost psycopg an escape per text (the tail of a 50 000-article first sync, issue
    #15). Python-side column defaults are filled in here, as an INSERT would. Returns the
    ``key`` values inserted (the others collided), or None where this does not apply (another
    database, rows of different shapes, a column type JSON does not carry)."""
    bind = db.session.get_bind()
    dialect = bind.dialect
    if dialect.name not in ("postgresql", "sqlite") or not rows:
        return None
    given = set(rows[0])
    if any(set(row) != given for row in rows):
        return None
    names: list[str] = []
    columns: list[list[Any]] = []
    types: list[str] = []
    for column in table.columns:
        base = column.type.impl if isinstance(column.type, TypeDecorator) else column.type
        if not isinstance(base, _PLAIN_TYPES):
            if column.name in given or (column.default is not None and not column.primary_key):
                return None
            continue
        if column.name in given:
            values = [row[column.name] for row in rows]
        elif isinstance(column.default, ScalarElementColumnDefault):
            values = [column.default.arg] * len(rows)
        elif isinstance(column.default, CallableColumnDefault):
            # Called per row, as an INSERT would (a default may be unique to each record).
            values = [column.default.arg(None) for _row in rows]  # type: ignore[arg-type]
        else:
            continue  # the database's own default (a serial id, a server default)
        if isinstance(column.type, TypeDecorator):
            values = _each_once(values, partial(column.type.process_bind_param, dialect=dialect))
        names.append(column.name)
        columns.append(_as_json(base, values, dialect))
        types.append(base.compile(dialect=dialect))
    quote = dialect.identifier_preparer.quote
    into = f"INSERT INTO {quote(table.name)} ({', '.join(quote(n) for n in names)}) "
    if dialect.name == "postgresql":
        picks = ", ".join(f"CAST(r->>{i} AS {ddl})" for i, ddl in enumerate(types))
        source = "json_array_elements(CAST(:rows AS json)) AS r"
    else:
        # "WHERE true": SQLite's grammar wants it between a SELECT and its ON CONFLICT.
        picks = ", ".join(f"json_extract(value, '$[{i}]')" for i in range(len(names)))
        source = "json_each(:rows) WHERE true"
    statement = text(
        f"{into}SELECT {picks} FROM {source} ON CONFLICT DO NOTHING RETURNING {quote(key)}"
    )
    payload = json.dumps(list(zip(*columns, strict=True)))
    return {str(value) for value in db.session.execute(statement, {"rows": payload}).scalars()}


def _as_json(base: Any, values: list[Any], dialect: Any) -> list[Any]:
    """Values as JSON carries them to the database: decimals as exact text, and on SQLite as
    the column's bind processor stores them (a timestamp as its text), on PostgreSQL
    timestamps and dates in ISO form; each distinct value converted once (a page shares its
    timestamp)."""
    if isinstance(base, Numeric) and not isinstance(base, Integer):
        return [None if v is None else str(v) for v in values]
    if dialect.name == "sqlite":
        process = base.dialect_impl(dialect).bind_processor(dialect)
        return values if process is None else _each_once(values, process)
    if isinstance(base, DateTime | Date):
        return _each_once(values, lambda v: None if v is None else v.isoformat())
    return values


def _each_once(values: list[Any], process: Callable[[Any], Any]) -> list[Any]:
    """``process`` applied to each value, once per distinct value (a page shares its
    timestamp: one conversion instead of 500)."""
    done: dict[Any, Any] = {}
    result = []
    for value in values:
        if value not in done:
            done[value] = process(value)
        result.append(done[value])
    return result


def _insert_new(table: Table, rows: list[dict[str, Any]], key: str) -> set[str]:
    """Insert ``rows`` into ``table`` in one statement; when a unique key collides (someone
    created the record here meanwhile), one at a time, leaving the colliding ones out.
    Returns the ``key`` values inserted."""
    if not rows:
        return set()
    inserted_at_once = _insert_bulk(table, rows, key)
    if inserted_at_once is not None:
        return inserted_at_once
    try:
        with db.session.begin_nested():
            db.session.execute(insert(table), rows)
        return {str(row[key]) for row in rows}
    except IntegrityError:
        pass
    inserted: set[str] = set()
    for row in rows:
        try:
            with db.session.begin_nested():
                db.session.execute(insert(table), [row])
            inserted.add(str(row[key]))
        except IntegrityError:
            pass
    return inserted


class Links:
    """The integration's links of one kind (:class:`FortnoxLink`), read once per part and
    kept in step: a page then links what is new to it with one insert and no query (a query
    per page against a table the run itself is filling goes stale on PostgreSQL, whose
    statistics lag behind, and reads the whole table every time)."""

    def __init__(self, integration_id: int, kind: str) -> None:
        self.integration_id, self.kind = integration_id, kind
        self.keys: set[str] = set(
            db.session.scalars(
                select(FortnoxLink.key).where(
                    FortnoxLink.integration_id == integration_id, FortnoxLink.kind == kind
                )
            )
        )

    def add(self, keys: Iterable[str]) -> None:
        missing = sorted(set(keys) - self.keys)
        if not missing:
            return
        now = _now()
        rows = [
            {
                "integration_id": self.integration_id,
                "kind": self.kind,
                "key": k,
                "confirmed_at": now,
            }
            for k in missing
        ]
        table = _table(FortnoxLink)
        dialect = db.session.get_bind().dialect.name
        if _insert_bulk(table, rows, "key") is not None:
            pass  # one statement; a link a send made meanwhile stays as it is
        elif dialect in ("postgresql", "sqlite"):
            # One a send linked meanwhile stays as it is; no savepoint needed (on SQLite a
            # savepoint opening the transaction commits on its own).
            insert_of = postgresql_insert if dialect == "postgresql" else sqlite_insert
            db.session.execute(insert_of(table).on_conflict_do_nothing(), rows)
        else:
            _insert_new(table, rows, "key")
        self.keys.update(missing)


def linked_count(integration_id: int, kind: str) -> int:
    return int(
        db.session.scalar(
            select(func.count())
            .select_from(FortnoxLink)
            .where(FortnoxLink.integration_id == integration_id, FortnoxLink.kind == kind)
        )
        or 0
    )


def _insert_each(
    model: type[Any], rows: list[dict[str, Any]], what: str, refused: list[tuple[str, str]]
) -> list[dict[str, Any]]:
    """Insert the new records ``rows``; one whose number someone created here meanwhile is
    refused. Returns the rows inserted."""
    inserted = _insert_new(_table(model), rows, what)
    for row in rows:
        if str(row[what]) not in inserted:
            refused.append((str(row[what]), "Numret finns redan här"))
    return [row for row in rows if str(row[what]) in inserted]


def _pages(
    context: SyncContext, path: str, key: str, since: str | None
) -> Iterator[list[dict[str, Any]]]:
    """The records of a Fortnox list changed since ``since``, page by page, each followed by
    its progress line (which commits what the caller wrote for it)."""
    done = 0
    for page in fetched_ahead(context, path, key, since):
        yield page.items
        done += len(page.items)
        _progress(context, done, page.total_resources)


# Pages asked for at once, and how far ahead of the page being written they may be. Fortnox
# lets 25 calls through per 5 s (the shared rate limiter keeps to that); a 500-record page
# takes a while to come, so one call after the other would leave most of each window unused.
# A whole window may be fetched ahead (25 pages of 500 are a few MB): the rate limiter frees
# each slot 5 s after its call completed, so calls spread out by a slow writer in the first
# window stay spread out in every later one, and the last window's pages are then written
# one after the other after it (issue #15: 50 000 articles within 1.10 × Fortnox's floor).
FETCHERS = 6
PAGES_AHEAD = FORTNOX_LIMIT
# Pages already fetched when the writer comes to them are written together, up to this many
# records: one query for our records, one insert and one commit where there would be a few.
BATCH_RECORDS = 2000


def _page_of(
    client: FortnoxClient, path: str, key: str, query: dict[str, Any], number: int
) -> Page:
    """Page ``number`` of a list, as ``client.iter_pages`` reads it (FACTS.md §2)."""
    response = client.request(
        "GET", path, params={**query, "limit": PAGE_SIZE, "page": number}, replay=Replay.SAFE
    )
    try:
        data = response.json()
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise FortnoxError(
            "Fortnox answered with a body that is not a JSON object",
            status=response.status_code,
            method="GET",
            path=path,
        )
    meta = data.get("MetaInformation") or {}
    items = data.get(key) or []
    return Page(
        items=list(items),
        current_page=int(meta.get("@CurrentPage", number) or number),
        total_pages=int(meta.get("@TotalPages", number) or number),
        total_resources=int(meta.get("@TotalResources", len(items)) or 0),
    )


class _Fetchers:
    """Threads that fetch pages 2… of a list, :data:`FETCHERS` at a time and at most
    :data:`PAGES_AHEAD` ahead of the page being written, each with a client of its own (its
    own HTTP session; the rate limiter, token store and refresh lock are the integration's,
    shared as between workers)."""

    def __init__(self, integration_id: int, path: str, key: str, query: dict[str, Any]) -> None:
        self.app = current_app._get_current_object()  # type: ignore[attr-defined]
        self.integration_id = integration_id
        self.path, self.key, self.query = path, key, query
        self.ready = threading.Condition()
        self.results: dict[int, Page | BaseException] = {}
        self.next_number = 2
        self.last_number = 1
        self.written = 1  # pages handed out to the writer
        self.stopped = False
        self.failure: BaseException | None = None  # a reader that could not even start
        self.threads: list[threading.Thread] = []

    def start(self, total_pages: int) -> None:
        self.last_number = total_pages
        for n in range(min(FETCHERS, total_pages - 1)):
            thread = threading.Thread(
                target=self._work, name=f"fortnox-sync-{self.key.lower()}-{n}", daemon=True
            )
            thread.start()
            self.threads.append(thread)

    def _claim(self) -> int | None:
        with self.ready:
            while not self.stopped and self.next_number <= self.last_number:
                if self.next_number <= self.written + PAGES_AHEAD:
                    self.next_number += 1
                    return self.next_number - 1
                self.ready.wait()
            return None

    def _work(self) -> None:
        with self.app.app_context():  # the token store reads and saves through the app's engine
            try:
                integration = db.session.get(FortnoxIntegration, self.integration_id)
                db.session.remove()
                if integration is None:
                    raise RuntimeError(f"integration {self.integration_id} is gone")
                client = services.client_for(integration)
            except BaseException as exc:  # noqa: BLE001  (raised in the sync's thread)
                with self.ready:
                    self.failure = exc
                    self.ready.notify_all()
                return
            try:
                while (number := self._claim()) is not None:
                    result: Page | BaseException
                    try:
                        result = _page_of(client, self.path, self.key, self.query, number)
                    except BaseException as exc:  # noqa: BLE001  (raised in the sync's thread)
                        result = exc
                    with self.ready:
                        self.results[number] = result
                        self.ready.notify_all()
            finally:
                client.close()

    def has(self, number: int) -> bool:
        """Whether page ``number`` has come (or failed to) already: taking it will not wait."""
        with self.ready:
            return number in self.results

    def take(self, number: int) -> Page:
        """Page ``number`` (waiting for it); an error met fetching it is raised here."""
        with self.ready:
            while number not in self.results:
                if not any(thread.is_alive() for thread in self.threads):
                    if self.failure is not None:
                        raise self.failure
                    raise RuntimeError("the Fortnox page readers stopped")
                self.ready.wait(timeout=1.0)
            result = self.results.pop(number)
            self.written = number
            self.ready.notify_all()
        if isinstance(result, BaseException):
            raise result
        return result

    def stop(self) -> None:
        with self.ready:
            self.stopped = True
            self.ready.notify_all()
        deadline = time.monotonic() + 30  # a call under way ends by the client's timeouts
        for thread in self.threads:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))


def fetched_ahead(context: SyncContext, path: str, key: str, since: str | None) -> Iterator[Page]:
    """Every page of a Fortnox list (like ``client.iter_pages``). The first tells how many
    there are; the rest are fetched by :class:`_Fetchers` while the pages before them are
    written, so waiting for Fortnox and writing overlap instead of adding up."""
    query: dict[str, Any] = {} if since is None else {"lastmodified": format_lastmodified(since)}
    first = _page_of(context.client, path, key, query, 1)
    if first.total_pages <= 1 or not first.items:
        yield first
        return
    fetchers = _Fetchers(context.integration.id, path, key, query)
    fetchers.start(first.total_pages)  # the next pages come while the first is written
    try:
        yield first
        number, ended = 2, False
        while number <= first.total_pages and not ended:
            page = fetchers.take(number)
            number += 1
            ended = not page.items
            # The pages that have come meanwhile go with it (the writer has fallen behind).
            while (
                not ended
                and number <= first.total_pages
                and len(page.items) < BATCH_RECORDS
                and fetchers.has(number)
            ):
                more = fetchers.take(number)
                number += 1
                ended = not more.items
                page = Page(
                    items=page.items + more.items,
                    current_page=more.current_page,
                    total_pages=more.total_pages,
                    total_resources=more.total_resources,
                )
            yield page
    finally:
        fetchers.stop()


class NumberIndex:
    """Our articles' or customers' numbers, lower case → id, read once per part: a page's
    records of ours are then one query by primary key, whatever the case of their numbers
    (our registers treat numbers case-insensitively, and ``lower(number) IN (…)`` would read
    the whole table on every page). Numbers this part creates are remembered: one coming again
    (Fortnox's pages shift when a record is added meanwhile) is the same record, one differing
    only in case from another is refused rather than created twice."""

    def __init__(self, model: type[Any], number: str) -> None:
        self.model = model
        self.number = number
        self.ids: dict[str, int] = {
            str(value).lower(): id_
            for id_, value in db.session.execute(select(model.id, getattr(model, number)))
        }
        self.created: dict[str, str] = {}  # lower case → the number as created

    def load(self, numbers: Iterable[str]) -> dict[str, Any]:
        """{lower-case number: record} of ours among ``numbers`` (one query)."""
        ids = {self.ids[key] for key in {n.lower() for n in numbers} if key in self.ids}
        if not ids:
            return {}
        query = select(self.model).where(self.model.id.in_(sorted(ids)))
        return {getattr(r, self.number).lower(): r for r in db.session.scalars(query)}

    def add_created(self, numbers: Iterable[str]) -> None:
        self.created.update((n.lower(), n) for n in numbers)

    def seen_again(self, key: str, number: str) -> bool:
        """Whether ``number`` is one this part created from an earlier page."""
        return self.created.get(key) == number


def article_index() -> NumberIndex:
    return NumberIndex(Article, "article_number")


# --- snapshots ----------------------------------------------------------------------------------


def article_rows() -> list[dict[str, Any]]:
    """The whole article register as a snapshot holds it, by number (one query)."""
    result = db.session.execute(
        select(
            Article.article_number,
            Article.name,
            Article.unit,
            Article.price,
            Article.active,
            Article.hidden,
        ).order_by(Article.article_number)
    )
    return [
        {
            "article_number": number,
            "name": name,
            "unit": unit,
            "price": f"{Decimal(price or 0):.2f}",
            "active": bool(active),
            "hidden": bool(hidden),
        }
        for number, name, unit, price, active, hidden in result
    ]


def take_snapshot(
    *,
    integration_id: int | None,
    reason: str,
    sync_run_id: int | None = None,
    before: dict[str, dict[str, Any]] | None = None,
    leave_out: set[str] | None = None,
) -> ArticleSnapshot:
    """Store the article register as it is now. ``before`` (lower-case number → name, unit,
    price) puts back what this run changed already; ``leave_out`` (lower-case numbers) drops
    what this run created: the snapshot is the register as it was before the run."""
    rows = article_rows()
    if before or leave_out:
        kept = []
        for row in rows:
            key = row["article_number"].lower()
            if leave_out and key in leave_out:
                continue
            if before and key in before:
                row = {**row, **before[key]}
            kept.append(row)
        rows = kept
    snapshot = ArticleSnapshot(
        integration_id=integration_id, sync_run_id=sync_run_id, reason=reason[:200], articles=rows
    )
    db.session.add(snapshot)
    db.session.flush()
    return snapshot


class PriceGuard:
    """Takes the run's snapshot once, before its first price overwrite (§8 ``sync_prices``)."""

    def __init__(self, context: SyncContext) -> None:
        self.context = context
        self.taken = (
            db.session.scalar(
                select(ArticleSnapshot.id).where(ArticleSnapshot.sync_run_id == context.run.id)
            )
            is not None
        )
        # What this run changed or created before the snapshot (lower-case numbers).
        self.originals: dict[str, dict[str, Any]] = {}
        self.created: set[str] = set()

    def remember(self, article: Article) -> None:
        """Keep ``article`` as it was before this run changes it (until the snapshot)."""
        key = article.article_number.lower()
        if not self.taken and key not in self.originals:
            self.originals[key] = {
                "name": article.name,
                "unit": article.unit,
                "price": f"{Decimal(article.price or 0):.2f}",
            }

    def remember_created(self, keys: Iterable[str]) -> None:
        if not self.taken:
            self.created.update(keys)

    def before_price_overwrite(self) -> None:
        if self.taken:
            return
        run = self.context.run
        snapshot = take_snapshot(
            integration_id=self.context.integration.id,
            sync_run_id=run.id,
            reason=f"Före prissynkning (synkning {run.id})",
            before=self.originals,
            leave_out=self.created,
        )
        self.taken = True
        self.originals.clear()
        self.created.clear()
        self.context.log(
            f"Sparade en ögonblicksbild av artikelregistret ({len(snapshot.articles)} artiklar) "
            "innan priserna skrivs över."
        )


# The articles part tells the prices part of the same run (same process) which window of
# prices it already applied: run id → its `lastmodified` (None: everything).
_PRICES_COVERED: dict[int, str | None] = {}
_PRICES_COVERED_KEPT = 64


def _covers(articles_since: str | None, prices_since: str | None) -> bool:
    if articles_since is None:
        return True
    return prices_since is not None and articles_since <= prices_since


# --- articles -----------------------------------------------------------------------------------


@part("articles")
def sync_articles(context: SyncContext) -> None:
    settings = context.settings
    with_prices = bool(settings.sync_prices)
    since = context.since()
    guard = PriceGuard(context) if with_prices else None
    integration_id = context.integration.id
    index, links = article_index(), Links(integration_id, "article")
    for items in _pages(context, "/articles", "Articles", since):
        _articles_page(context, items, index, links, guard)
    context.cursor().records = linked_count(integration_id, "article")
    if with_prices and "prices" in (context.run.parts or []):
        _PRICES_COVERED[context.run.id] = since
        while len(_PRICES_COVERED) > _PRICES_COVERED_KEPT:
            _PRICES_COVERED.pop(next(iter(_PRICES_COVERED)))


def _articles_page(
    context: SyncContext,
    items: list[dict[str, Any]],
    index: NumberIndex,
    links: Links,
    guard: PriceGuard | None,
) -> None:
    context.count("fetched", len(items))
    refused: list[tuple[str, str]] = []
    wanted: list[IncomingArticle] = []
    for item in items:
        if item.get("Active") is False:
            context.count("skipped")  # inactive Fortnox articles never come in (§8)
            continue
        try:
            wanted.append(incoming_article(item))
        except Refused as exc:
            refused.append((_number_of(item, "ArticleNumber"), exc.reason))
    ours = index.load(a.number for a in wanted)
    new: dict[str, IncomingArticle] = {}
    changes: list[tuple[Article, dict[str, Any]]] = []
    for incoming in wanted:
        article = ours.get(incoming.key)
        if article is None:
            if index.seen_again(incoming.key, incoming.number):
                context.count("unchanged")  # created from an earlier page of this run
            elif incoming.key in new or incoming.key in index.created:
                refused.append((incoming.number, "Artikelnumret finns två gånger i Fortnox"))
            else:
                new[incoming.key] = incoming
            continue
        diff: dict[str, Any] = {}
        if article.name != incoming.name:
            diff["name"] = incoming.name
        if (article.unit or None) != incoming.unit:
            diff["unit"] = incoming.unit
        if guard is not None and article.price != incoming.price:
            diff["price"] = incoming.price
        changes.append((article, diff))
    if guard is not None and any("price" in diff for _article, diff in changes):
        guard.before_price_overwrite()
    updated = 0
    for article, diff in changes:
        if not diff:
            continue
        if guard is not None:
            guard.remember(article)
        for name, value in diff.items():
            setattr(article, name, value)
        updated += 1
    context.count("updated", updated)
    context.count("unchanged", len(changes) - updated)
    now = _now()  # one timestamp for the page, not a default called per row
    rows = [
        {
            "article_number": a.number,
            "name": a.name,
            "unit": a.unit,
            "price": a.price,
            "created_at": now,
            "updated_at": now,
        }
        for a in new.values()
    ]
    refused_numbers = {number for number, _reason in refused}
    links.add(a.number for a in wanted if a.number not in refused_numbers)
    inserted = _insert_each(Article, rows, "article_number", refused)
    context.count("created", len(inserted))
    index.add_created(row["article_number"] for row in inserted)
    if guard is not None:
        guard.remember_created(row["article_number"].lower() for row in inserted)
    db.session.flush()
    for number, reason in refused:
        context.fail_record(f"Artikel {number}", reason)


# --- prices -------------------------------------------------------------------------------------


@part("prices")
def sync_prices(context: SyncContext) -> None:
    """Our prices follow Fortnox's ``SalesPrice`` (§8 ``sync_prices``). The cursor's
    ``records`` is how many prices we hold from Fortnox; while it is 0 (never synced, or the
    setting was off) the part reads every article, so turning the setting on brings every
    price in."""
    cursor = context.cursor()
    integration_id = context.integration.id
    covered = _PRICES_COVERED.pop(context.run.id, "-")
    if not context.settings.sync_prices:
        cursor.records = 0
        context.log("Priserna synkas inte: inställningen ”Synka priser” är av.")
        return
    since = context.since() if cursor.records else None
    if covered != "-" and _covers(covered, since):
        context.log("Priserna kom med artiklarna i den här synkningen.")
        cursor.records = linked_count(integration_id, "article")
        return
    guard = PriceGuard(context)
    index, links = article_index(), Links(integration_id, "article")
    for items in _pages(context, "/articles", "Articles", since):
        _prices_page(context, items, index, links, guard)
    cursor.records = linked_count(integration_id, "article")


def _prices_page(
    context: SyncContext,
    items: list[dict[str, Any]],
    index: NumberIndex,
    links: Links,
    guard: PriceGuard,
) -> None:
    context.count("fetched", len(items))
    refused: list[tuple[str, str]] = []
    prices: dict[str, tuple[str, Decimal]] = {}
    for item in items:
        number = str(item.get("ArticleNumber") or "").strip()
        if item.get("Active") is False or not number:
            context.count("skipped")
            continue
        try:
            prices[number.lower()] = (number, _price(item.get("SalesPrice")))
        except Refused as exc:
            refused.append((number, exc.reason))
    ours = index.load(number for number, _price_ in prices.values())
    changed = [
        (ours[key], price)
        for key, (_number, price) in prices.items()
        if key in ours and ours[key].price != price
    ]
    if changed:
        guard.before_price_overwrite()
    for article, price in changed:
        article.price = price
    context.count("updated", len(changed))
    context.count("unchanged", len([k for k in prices if k in ours]) - len(changed))
    context.count("skipped", len([k for k in prices if k not in ours]))  # no such article here
    links.add(prices[k][0] for k in prices if k in ours)
    db.session.flush()
    for number, reason in refused:
        context.fail_record(f"Pris för artikel {number}", reason)


# --- customers ----------------------------------------------------------------------------------


@part("customers")
def sync_customers(context: SyncContext) -> None:
    settings = context.settings
    overwrite = bool(settings.sync_updated_customers)
    subgroup_id = context.integration.subgroup_id if settings.set_subgroup_on_sync else None
    integration_id = context.integration.id
    index = NumberIndex(Customer, "customer_number")
    links = Links(integration_id, "customer")
    for items in _pages(context, "/customers", "Customers", context.since()):
        _customers_page(context, items, index, links, overwrite, subgroup_id)
    context.cursor().records = linked_count(integration_id, "customer")


def _ours(customer: Customer, name: str) -> Any:
    value = getattr(customer, name)
    return value if name == "active" else (value or None)  # an empty text is no text


def _as_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _customers_page(
    context: SyncContext,
    items: list[dict[str, Any]],
    index: NumberIndex,
    links: Links,
    overwrite: bool,
    subgroup_id: int | None,
) -> None:
    context.count("fetched", len(items))
    refused: list[tuple[str, str]] = []
    wanted: list[IncomingCustomer] = []
    for item in items:
        try:
            wanted.append(incoming_customer(item))
        except Refused as exc:
            refused.append((_number_of(item, "CustomerNumber"), exc.reason))
    ours = index.load(c.number for c in wanted)
    new: dict[str, IncomingCustomer] = {}
    present: list[str] = []  # Fortnox numbers of active customers we have (to link)
    history: list[dict[str, Any]] = []
    updated = unchanged = 0
    for incoming in wanted:
        customer = ours.get(incoming.key)
        if customer is None:
            if index.seen_again(incoming.key, incoming.number):
                unchanged += 1  # created from an earlier page of this run
            elif not incoming.active:
                context.count("skipped")  # an inactive Fortnox customer we never had
            elif incoming.key in new or incoming.key in index.created:
                refused.append((incoming.number, "Kundnumret finns två gånger i Fortnox"))
            else:
                new[incoming.key] = incoming
            continue
        if incoming.active:
            present.append(incoming.number)
        if not overwrite:
            unchanged += 1
            continue
        target: dict[str, Any] = {**incoming.fields, "active": incoming.active}
        diff = {name: value for name, value in target.items() if _ours(customer, name) != value}
        if not diff:
            unchanged += 1
            continue
        for name, value in diff.items():
            history.append(
                {
                    "customer_id": customer.id,
                    "sync_run_id": context.run.id,
                    "field": name,
                    "before": _as_text(getattr(customer, name)),
                    "after": _as_text(value),
                }
            )
            setattr(customer, name, value)
        updated += 1
    rows: list[dict[str, Any]] = [
        {
            "customer_number": c.number,
            **c.fields,
            "active": True,
            "subgroup_id": subgroup_id,
            "custom_fields": {},
        }
        for c in new.values()
    ]
    links.add([*present, *(c.number for c in new.values())])
    inserted = _insert_each(Customer, rows, "customer_number", refused)
    index.add_created(str(row["customer_number"]) for row in inserted)
    if history:
        db.session.execute(insert(_table(CustomerChange)), history)
    context.count("created", len(inserted))
    context.count("updated", updated)
    context.count("unchanged", unchanged)
    db.session.flush()
    for number, reason in refused:
        context.fail_record(f"Kund {number}", reason)


# --- restoring a snapshot -----------------------------------------------------------------------


@dataclass
class Restored:
    """What :func:`restore_snapshot` did."""

    restored: int = 0  # articles put back
    unchanged: int = 0  # already as in the snapshot
    missing: list[str] = field(default_factory=list)  # in the snapshot, no longer here
    safety_snapshot_id: int | None = None


def restore_snapshot(snapshot: ArticleSnapshot, by: User) -> Restored:
    """Put the names, units and prices of the snapshot's articles back (fortnox-settings.md
    §8). Articles not in the snapshot are left as they are, and nothing is ever deleted or
    created; the register as it was just before is kept as a snapshot of its own first, so a
    restore can be undone. Raises Conflict while a sync of the snapshot's integration runs
    (it could overwrite the prices again at once). Flushes; the caller commits."""
    if snapshot.integration_id is not None:
        integration = db.session.get(FortnoxIntegration, snapshot.integration_id)
        if integration is not None and running(integration) is not None:
            raise Conflict(_("En synkning pågår. Återställ när den är klar."), code="sync_running")
    result = Restored()
    safety = take_snapshot(
        integration_id=snapshot.integration_id,
        reason=f"Före återställning av ögonblicksbild {snapshot.id}",
    )
    result.safety_snapshot_id = safety.id
    rows: list[dict[str, Any]] = list(snapshot.articles or [])
    index = article_index()
    for start in range(0, len(rows), RESTORE_CHUNK):
        chunk = rows[start : start + RESTORE_CHUNK]
        ours = index.load(str(row["article_number"]) for row in chunk)
        for row in chunk:
            article = ours.get(str(row["article_number"]).strip().lower())
            if article is None:
                result.missing.append(str(row["article_number"]))
                continue
            wanted = {
                "name": row["name"],
                "unit": row.get("unit") or None,
                "price": Decimal(str(row["price"])),
            }
            current = {"name": article.name, "unit": article.unit or None, "price": article.price}
            if current == wanted:
                result.unchanged += 1
                continue
            for name, value in wanted.items():
                if current[name] != value:
                    setattr(article, name, value)
            result.restored += 1
        db.session.flush()
    snapshot.restored_at = datetime.now(UTC)
    snapshot.restored_by_id = by.id
    db.session.flush()
    return result


__all__ = [
    "PriceGuard",
    "Refused",
    "Restored",
    "article_rows",
    "incoming_article",
    "incoming_customer",
    "linked_count",
    "restore_snapshot",
    "sync_articles",
    "sync_customers",
    "sync_prices",
    "take_snapshot",
]
