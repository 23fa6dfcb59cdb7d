"""The Fortnox integration as the app sees it: which integration handles what, its settings,
its tokens (encrypted at rest), the connect flow, and its errors.

Services take explicit arguments, change models and flush; the caller commits. The one
exception is the token store, which writes rotated tokens in a transaction of its own so a
refresh is durable before the refresh lock is released (tokens.TokenStore's contract)."""

from __future__ import annotations

import base64
import hashlib
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import select, text, update
from sqlalchemy.exc import IntegrityError

from app.auth.models import Subgroup, User
from app.db import utcnow
from app.errors import Conflict, PermissionDenied, ValidationFailed
from app.extensions import db
from app.integrations.fortnox import oauth
from app.integrations.fortnox.client import FortnoxClient
from app.integrations.fortnox.errors import FortnoxAuthorizationRevoked, FortnoxError
from app.integrations.fortnox.mapping import MappingResult, map_order
from app.integrations.fortnox.ratelimit import InProcessRateLimiter, RateLimiter, RedisRateLimiter
from app.integrations.fortnox.settings import FortnoxSettings, SettingError
from app.integrations.fortnox.snapshot import (
    ActionSnapshot,
    ArticleRowSnapshot,
    CommentSnapshot,
    ContactSnapshot,
    CustomerSnapshot,
    FacilitySnapshot,
    Lookups,
    OrderServiceObjectSnapshot,
    OrderSnapshot,
    ServiceObjectSnapshot,
    UserSnapshot,
)
from app.integrations.fortnox.tokens import (
    LockFactory,
    RedisLock,
    ThreadLock,
    Tokens,
    decrypt_tokens,
    encrypt_tokens,
)
from app.integrations.models import (
    FortnoxIntegration,
    FortnoxTokens,
    IntegrationError,
    IntegrationState,
    OAuthState,
)
from app.orders.models import Order

# The Fortnox scopes we ask for (FACTS.md §1 "Scopes"): company information for the connect
# page, the registers we sync, orders and invoices we send, salary for attendance transactions,
# inbox for the signed protocol attached to a sent document (attach_protocol).
SCOPES = (
    "companyinformation",
    "customer",
    "article",
    "price",
    "costcenter",
    "settings",
    "order",
    "invoice",
    "salary",
    "inbox",
)
# FACTS.md §1: an authorization code lives 10 minutes; our `state` lives as long.
STATE_LIFETIME = timedelta(minutes=10)

TOKEN_OPERATION = "token"  # IntegrationError.operation for authorisation problems


class ConnectError(Exception):
    """The connect flow failed; `message` is Swedish and says what to do. Nothing changed."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# --- which integration ----------------------------------------------------------------------


def integration_for_subgroup(subgroup_id: int | None) -> FortnoxIntegration | None:
    """The integration of exactly this subgroup (None: the organisation-wide one)."""
    query = select(FortnoxIntegration)
    if subgroup_id is None:
        query = query.where(FortnoxIntegration.subgroup_id.is_(None))
    else:
        query = query.where(FortnoxIntegration.subgroup_id == subgroup_id)
    return db.session.scalar(query)


def get_or_create_integration(subgroup_id: int | None) -> FortnoxIntegration:
    """The integration of this subgroup, created (inactive, default settings) if missing.

    Raises ValidationFailed when the subgroup does not exist."""
    if subgroup_id is not None and db.session.get(Subgroup, subgroup_id) is None:
        raise ValidationFailed.field("subgroup_id", "Undergruppen finns inte.")
    integration = integration_for_subgroup(subgroup_id)
    if integration is None:
        integration = FortnoxIntegration(
            subgroup_id=subgroup_id, settings=FortnoxSettings().to_dict()
        )
        try:
            with db.session.begin_nested():
                db.session.add(integration)
        except IntegrityError:  # made by a concurrent request: one per subgroup, one overall
            found = integration_for_subgroup(subgroup_id)
            if found is None:
                raise
            return found
    return integration


def integration_or_default(subgroup_id: int | None) -> FortnoxIntegration:
    """The integration of this subgroup, or an unsaved one with the default settings for
    pages and API reads (a GET never creates an integration)."""
    return integration_for_subgroup(subgroup_id) or FortnoxIntegration(
        subgroup_id=subgroup_id,
        settings=FortnoxSettings().to_dict(),
        state=IntegrationState.INACTIVE,
    )


def integration_for_order(order: Order) -> FortnoxIntegration | None:
    """fortnox-settings.md §4: the integration of the order's subgroup if that subgroup has
    one, else the organisation-wide one. Only connected integrations handle orders."""
    candidates = []
    if order.subgroup_id is not None:
        candidates.append(integration_for_subgroup(order.subgroup_id))
    candidates.append(integration_for_subgroup(None))
    for integration in candidates:
        if integration is not None and integration.encrypted_tokens:
            return integration
    return None


def all_integrations() -> list[FortnoxIntegration]:
    return list(
        db.session.scalars(
            select(FortnoxIntegration).order_by(
                FortnoxIntegration.subgroup_id.is_not(None), FortnoxIntegration.subgroup_id
            )
        )
    )


# --- settings -------------------------------------------------------------------------------


def settings_of(integration: FortnoxIntegration) -> FortnoxSettings:
    """The integration's settings; stored keys that are no longer settings are ignored."""
    from app.integrations.fortnox.settings import DEFINITIONS_BY_KEY

    stored = {k: v for k, v in (integration.settings or {}).items() if k in DEFINITIONS_BY_KEY}
    return FortnoxSettings.from_dict(stored)


def update_settings(integration: FortnoxIntegration, changes: dict[str, Any]) -> FortnoxSettings:
    """Apply `changes` (key → value) to the integration's settings.

    Raises ValidationFailed (422) naming every unknown key or bad value; nothing changes then."""
    try:
        updated = settings_of(integration).updated(changes)
    except SettingError as exc:
        raise ValidationFailed(
            "Inställningarna är inte giltiga.", {k: [v] for k, v in exc.problems.items()}
        ) from exc
    integration.settings = updated.to_dict()
    db.session.flush()
    return updated


# --- tokens at rest, locks and rate limits ----------------------------------------------------


def token_key() -> bytes:
    """The Fernet key for tokens at rest: TOKEN_ENCRYPTION_KEY, else derived from SECRET_KEY
    (so a deployment that sets only SECRET_KEY still never stores tokens in clear text)."""
    configured = current_app.config.get("TOKEN_ENCRYPTION_KEY")
    if configured:
        return configured.encode() if isinstance(configured, str) else configured
    digest = hashlib.sha256(("ordna-tokens:" + current_app.config["SECRET_KEY"]).encode()).digest()
    return base64.urlsafe_b64encode(digest)


class DbTokenStore:
    """`TokenStore` over the integration's row. Reads and writes in their own short
    transactions, so a saved refresh token is committed before the refresh lock is released,
    and a load sees what another worker committed."""

    def __init__(self, integration_id: int, key: bytes) -> None:
        self.integration_id = integration_id
        self._key = key

    def load(self) -> Tokens | None:
        with db.engine.connect() as conn:
            blob = conn.scalar(
                select(FortnoxTokens.encrypted).where(
                    FortnoxTokens.integration_id == self.integration_id
                )
            )
        return decrypt_tokens(blob, self._key) if blob else None

    def save(self, tokens: Tokens) -> None:
        with db.engine.begin() as conn:
            conn.execute(
                update(FortnoxTokens)
                .where(FortnoxTokens.integration_id == self.integration_id)
                .values(encrypted=encrypt_tokens(tokens, self._key), updated_at=utcnow())
            )


class PostgresAdvisoryLock:
    """`LockFactory` for PostgreSQL without Redis: a session-level advisory lock held on a
    connection of its own, so every process on the same database refreshes one integration's
    tokens one at a time (FACTS.md §1: a refresh token works once). An advisory lock, not a
    row lock, so the token store's own transaction never waits on it."""

    NAMESPACE = 0x4F52444E  # "ORDN": our advisory-lock keys, (namespace, integration id)

    def __init__(self, engine: Any, integration_id: int, timeout: float = 75.0) -> None:
        self._engine = engine
        self._key = integration_id
        self._timeout = timeout

    @contextmanager
    def _held(self) -> Iterator[None]:
        params = {"ns": self.NAMESPACE, "key": self._key}
        with self._engine.connect() as conn:
            deadline = time.monotonic() + self._timeout
            while not conn.scalar(text("SELECT pg_try_advisory_lock(:ns, :key)"), params):
                if time.monotonic() > deadline:
                    raise TimeoutError("timed out waiting for the Fortnox token lock")
                conn.rollback()
                time.sleep(0.05)
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:ns, :key)"), params)
                conn.commit()

    def __call__(self) -> AbstractContextManager[object]:
        return self._held()


_local_locks: dict[int, ThreadLock] = {}
_local_limiters: dict[int, InProcessRateLimiter] = {}
_local_mutex = threading.Lock()


def _redis() -> Any:
    from redis import Redis

    url = current_app.config.get("REDIS_URL")
    return Redis.from_url(url) if url else None


def lock_for(integration_id: int) -> LockFactory:
    """The refresh lock of one integration, shared by every worker of every process: on Redis
    when there is one, else a PostgreSQL advisory lock. On SQLite (the embedded default, one
    process) a lock per process."""
    redis = _redis()
    if redis is not None:
        return RedisLock(redis, f"ordna:fortnox:{integration_id}:refresh-lock")
    if db.engine.dialect.name == "postgresql":
        return PostgresAdvisoryLock(db.engine, integration_id)
    with _local_mutex:
        return _local_locks.setdefault(integration_id, ThreadLock())


def rate_limiter_for(integration_id: int) -> RateLimiter:
    """Fortnox's rate limit is per access token, i.e. per integration (FACTS.md §2): one
    limiter for every worker of the integration."""
    redis = _redis()
    if redis is not None:
        return RedisRateLimiter(redis, f"ordna:fortnox:{integration_id}:rate")
    with _local_mutex:
        return _local_limiters.setdefault(integration_id, InProcessRateLimiter())


def redirect_uri() -> str:
    """Where Fortnox sends the admin back after consent (the web page and the API ask the
    same); FORTNOX_REDIRECT_URI must match the one registered for the Fortnox app when set."""
    from flask import url_for

    return current_app.config.get("FORTNOX_REDIRECT_URI") or url_for(
        "integrations.callback", _external=True
    )


def client_for(integration: FortnoxIntegration, **overrides: Any) -> FortnoxClient:
    """The one place a Fortnox client is built: config, decrypted tokens, shared lock and
    limiter. `overrides` replace any of the client's arguments (tests pass clocks; the connect
    flow's probe passes the tokens it has just been given)."""
    config = current_app.config
    options: dict[str, Any] = {
        "api_url": config["FORTNOX_API_URL"],
        "oauth_url": config["FORTNOX_OAUTH_URL"],
        "client_id": config["FORTNOX_CLIENT_ID"],
        "client_secret": config["FORTNOX_CLIENT_SECRET"],
        "token_store": DbTokenStore(integration.id, token_key()),
        "rate_limiter": rate_limiter_for(integration.id),
    }
    if "lock" not in overrides:
        options["lock"] = lock_for(integration.id)
    return FortnoxClient(**{**options, **overrides})


# --- the connect flow -------------------------------------------------------------------------


def _hash_state(state: str) -> str:
    return hashlib.sha256(state.encode()).hexdigest()


def start_connect(*, by: User, subgroup_id: int | None, redirect_uri: str) -> str:
    """Begin connecting (or reconnecting) the integration of `subgroup_id`; returns the Fortnox
    consent URL. The `state` is one-time, bound to `by`, and expires with the auth code."""
    if not by.is_admin:
        raise PermissionDenied("Bara administratörer kan ansluta Fortnox.")
    get_or_create_integration(subgroup_id)
    state = secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    db.session.add(
        OAuthState(
            state_hash=_hash_state(state),
            user_id=by.id,
            subgroup_id=subgroup_id,
            created_at=now,
            expires_at=now + STATE_LIFETIME,
        )
    )
    db.session.flush()
    config = current_app.config
    return oauth.authorization_url(
        config["FORTNOX_OAUTH_URL"], config["FORTNOX_CLIENT_ID"], redirect_uri, SCOPES, state
    )


@dataclass(frozen=True)
class ConnectResult:
    integration: FortnoxIntegration
    company_name: str
    organisation_number: str


def consume_state(state: str | None, *, by: User | None) -> OAuthState:
    """Take the one-time `state`: it must exist, be unused and unexpired, and — when someone
    is signed in — belong to that user. Marks it used (the caller commits even on failure, so
    a refused or reused state can never be replayed). Raises ConnectError."""
    record = (
        db.session.scalar(select(OAuthState).where(OAuthState.state_hash == _hash_state(state)))
        if state
        else None
    )
    if record is None:
        raise ConnectError(
            "Svaret från Fortnox kunde inte kopplas till en anslutning som du startat. "
            "Starta anslutningen igen från Inställningar → Integration."
        )
    if record.used_at is not None:
        raise ConnectError("Den här anslutningslänken är redan använd. Starta anslutningen igen.")
    record.used_at = datetime.now(UTC)
    if record.expires_at < datetime.now(UTC):
        raise ConnectError("Anslutningen tog för lång tid och har gått ut. Försök igen.")
    if by is not None and record.user_id != by.id:
        raise ConnectError("Anslutningen startades av en annan användare. Starta den igen själv.")
    owner = db.session.get(User, record.user_id)
    if owner is None or not owner.active or not owner.is_admin:
        raise ConnectError("Bara administratörer kan ansluta Fortnox.")
    return record


def finish_connect(
    *, state: str | None, code: str | None, error: str | None, by: User | None, redirect_uri: str
) -> ConnectResult:
    """Finish the connect flow from Fortnox's redirect.

    Checks `state` (consume_state), exchanges `code` for tokens, reads the company information
    and stores both; resolves open token errors. Raises ConnectError with a Swedish message when
    consent was denied, the state is wrong or reused, or the exchange or company read fails —
    then the integration is left exactly as it was (only the state is spent)."""
    record = consume_state(state, by=by)
    if error:
        if error == "access_denied":
            raise ConnectError("Anslutningen avbröts i Fortnox: behörigheten godkändes inte.")
        raise ConnectError(f"Fortnox avbröt anslutningen ({error}). Försök igen.")
    if not code:
        raise ConnectError("Fortnox skickade ingen behörighetskod. Försök igen.")
    config = current_app.config
    try:
        tokens = oauth.exchange_code(
            config["FORTNOX_OAUTH_URL"],
            config["FORTNOX_CLIENT_ID"],
            config["FORTNOX_CLIENT_SECRET"],
            code,
            redirect_uri,
        )
    except FortnoxError as exc:
        raise ConnectError(f"Fortnox godtog inte anslutningen: {exc.user_message}") from exc
    integration = get_or_create_integration(record.subgroup_id)
    from app.integrations.fortnox.tokens import MemoryTokenStore

    # The new tokens are not stored until the company information has been read.
    probe = client_for(integration, token_store=MemoryTokenStore(tokens), lock=ThreadLock())
    try:
        company = probe.company_information()
        tokens = probe.tokens()  # in case the probe had to refresh
    except FortnoxError as exc:
        raise ConnectError(
            f"Anslutningen lyckades men företagsuppgifterna kunde inte läsas: {exc.user_message}"
        ) from exc
    finally:
        probe.close()
    integration.encrypted_tokens = encrypt_tokens(tokens, token_key())
    integration.company_name = company.get("CompanyName") or ""
    integration.organisation_number = company.get("OrganizationNumber") or ""
    tenant = company.get("DatabaseNumber")
    integration.tenant_id = str(tenant) if tenant is not None else None
    integration.connected_by_id = record.user_id
    integration.connected_at = datetime.now(UTC)
    integration.state = IntegrationState.OK
    resolve_errors(integration, TOKEN_OPERATION, by=None)
    db.session.flush()
    return ConnectResult(
        integration, integration.company_name or "", integration.organisation_number or ""
    )


def disconnect(integration: FortnoxIntegration, *, by: User) -> None:
    """Forget the integration's tokens ("Koppla från"); settings and history stay."""
    if not by.is_admin:
        raise PermissionDenied("Bara administratörer kan koppla från Fortnox.")
    if not integration.encrypted_tokens:
        raise Conflict("Integrationen är inte ansluten.")
    integration.encrypted_tokens = None
    integration.state = IntegrationState.INACTIVE
    db.session.flush()


# --- errors -----------------------------------------------------------------------------------


def record_error(
    integration: FortnoxIntegration,
    operation: str,
    message: str,
    *,
    fortnox_code: int | str | None = None,
    fortnox_message: str | None = None,
) -> IntegrationError:
    """Record (or count again) the open error of `operation` and put the integration in the
    error state (integration-health.md)."""
    now = datetime.now(UTC)
    error = db.session.scalar(
        select(IntegrationError).where(
            IntegrationError.integration_id == integration.id,
            IntegrationError.operation == operation,
            IntegrationError.resolved_at.is_(None),
        )
    )
    if error is None:
        error = IntegrationError(
            integration_id=integration.id, operation=operation, message=message, first_at=now
        )
        db.session.add(error)
    else:
        error.occurrences += 1
    error.message = message
    error.last_at = now
    error.fortnox_code = str(fortnox_code) if fortnox_code is not None else None
    error.fortnox_message = fortnox_message
    integration.state = IntegrationState.ERROR
    db.session.flush()
    return error


def record_fortnox_failure(
    integration: FortnoxIntegration, operation: str, exc: FortnoxError
) -> IntegrationError:
    """Record a client failure; a revoked authorisation is an error of the token itself."""
    if isinstance(exc, FortnoxAuthorizationRevoked):
        operation = TOKEN_OPERATION
    return record_error(
        integration,
        operation,
        exc.user_message,
        fortnox_code=exc.code,
        fortnox_message=exc.message,
    )


def open_errors(integration: FortnoxIntegration) -> list[IntegrationError]:
    return list(
        db.session.scalars(
            select(IntegrationError)
            .where(
                IntegrationError.integration_id == integration.id,
                IntegrationError.resolved_at.is_(None),
            )
            .order_by(IntegrationError.first_at)
        )
    )


def resolve_errors(
    integration: FortnoxIntegration, operation: str | None, *, by: User | None
) -> int:
    """Resolve the open errors of `operation` (all when None): automatically when the
    operation later succeeds (`by` None), or by hand ("Åtgärdat"). Returns how many."""
    now = datetime.now(UTC)
    resolved = 0
    for error in open_errors(integration):
        if operation is None or error.operation == operation:
            error.resolved_at = now
            error.resolved_by_id = by.id if by else None
            error.resolution = "manual" if by else "auto"
            resolved += 1
    if not open_errors(integration) and integration.encrypted_tokens:
        integration.state = IntegrationState.OK
    db.session.flush()
    return resolved


def check_connection(integration: FortnoxIntegration) -> bool:
    """Call Fortnox once (company information) with the stored tokens, refreshing them if
    needed. Success resolves open token errors and refreshes the company name; a failure is
    recorded as an integration error (a revoked authorisation puts the integration in the
    error state). Returns whether it worked. Flushes; the caller commits."""
    if not integration.encrypted_tokens:
        return False
    client = client_for(integration)
    try:
        company = client.company_information()
    except FortnoxError as exc:
        record_fortnox_failure(integration, "connection", exc)
        return False
    finally:
        client.close()
    if integration.token_row is not None:  # the store committed rotated tokens
        db.session.refresh(integration.token_row)
    integration.company_name = company.get("CompanyName") or integration.company_name
    resolve_errors(integration, TOKEN_OPERATION, by=None)
    resolve_errors(integration, "connection", by=None)
    return True


# --- the order as the mapping sees it ----------------------------------------------------------


def _user_snapshot(user: User | None) -> UserSnapshot | None:
    if user is None:
        return None
    return UserSnapshot(
        name=user.name,
        id=user.id,
        employee_number=user.employee_number or "",
        cost_center=user.cost_center or "",
    )


def _text(value: object) -> str:
    return "" if value is None else str(value)


def _fields(values: dict | None) -> dict[str, str]:
    return {str(k): _text(v) for k, v in (values or {}).items()}


def build_snapshot(order: Order) -> OrderSnapshot:
    """The frozen snapshot of `order` that the pure mapping reads (snapshot.py conventions:
    absent texts are "", absent relations None, custom fields as texts)."""
    service_objects: dict[int, ServiceObjectSnapshot] = {}

    def so_snapshot(so: Any) -> ServiceObjectSnapshot | None:
        if so is None:
            return None
        if so.id not in service_objects:
            service_objects[so.id] = ServiceObjectSnapshot(
                name=so.name,
                id=so.id,
                machine_number=_text(so.machine_number),
                serial_number=_text(so.serial_number),
                comment=_text(so.comment),
            )
        return service_objects[so.id]

    customer = order.customer
    facility = order.facility
    return OrderSnapshot(
        id=order.id,
        reference=order.fortnox_reference,
        kind=order.kind.value,  # type: ignore[arg-type]
        number=order.number,
        status=order.status.value,  # type: ignore[arg-type]
        customer=CustomerSnapshot(
            number=customer.customer_number,
            name=customer.name,
            address1=_text(customer.address1),
            address2=_text(customer.address2),
            zip_code=_text(customer.zip_code),
            city=_text(customer.city),
            country=_text(customer.country),
            subgroup_id=customer.subgroup_id,
            custom_fields=_fields(customer.custom_fields),
        ),
        subgroup_id=order.subgroup_id,
        facility=(
            FacilitySnapshot(
                name=facility.name,
                address1=_text(facility.address1),
                address2=_text(facility.address2),
                zip_code=_text(facility.zip_code),
                city=_text(facility.city),
                country=_text(facility.country),
                custom_fields=_fields(facility.custom_fields),
            )
            if facility
            else None
        ),
        contact=(
            ContactSnapshot(
                name=order.contact.name,
                phone=_text(order.contact.phone),
                email=_text(order.contact.email),
            )
            if order.contact
            else None
        ),
        orderer=_text(order.orderer),
        assigned_user=_user_snapshot(order.assigned_user),
        signed_by=_user_snapshot(order.signed_by) if order.signed_at else None,
        signed_at=order.signed_at,
        signed_customer_name=_text(order.signed_customer_name),
        customer_order_number=_text(order.customer_order_number),
        description=_text(order.description),
        fault_cause=_text(order.fault_cause),
        delivery_date=order.delivery_date,
        custom_fields=_fields(order.custom_fields),
        actions=tuple(
            ActionSnapshot(
                description=a.description,
                date=a.date,
                technician=_user_snapshot(a.technician),
                hours=a.hours,
            )
            for a in order.actions
        ),
        article_rows=tuple(
            ArticleRowSnapshot(
                article_number=r.article.article_number,
                article_name=r.article.name,
                quantity=r.quantity,
                price=r.price,
                unit=_text(r.unit),
                description=r.description,
                date=r.date,
                technician=_user_snapshot(r.technician),
                service_object=so_snapshot(r.service_object),
                cost_center=_text(r.cost_center),
                hidden=r.article.hidden,
            )
            for r in order.article_rows
        ),
        service_objects=tuple(
            OrderServiceObjectSnapshot(
                service_object=so_snapshot(link.service_object),  # type: ignore[arg-type]
                operating_hours=link.operating_hours,
            )
            for link in order.service_objects
        ),
        comments=tuple(
            CommentSnapshot(
                author=c.author.name if c.author else "",
                created_at=c.created_at,
                text=c.text,
            )
            for c in order.comments
        ),
    )


def lookups_of(integration: FortnoxIntegration) -> Lookups:
    """The synced registers the mapping checks codes against (the rows sync.py keeps; a
    register counts as synced once it has been fetched)."""
    from app.integrations.models import RegisterItem, SyncCursor

    rows = db.session.execute(
        select(RegisterItem.register, RegisterItem.code, RegisterItem.active).where(
            RegisterItem.integration_id == integration.id
        )
    ).all()
    fetched = set(
        db.session.scalars(
            select(SyncCursor.register).where(
                SyncCursor.integration_id == integration.id, SyncCursor.synced_at.is_not(None)
            )
        )
    )

    def codes(name: str, active_only: bool = False) -> frozenset[str]:
        return frozenset(
            code for register, code, active in rows
            if register == name and (active or not active_only)
        )  # fmt: skip

    return Lookups(
        cost_centers=codes("cost_centers", active_only=True),
        terms_of_delivery=codes("terms_of_delivery"),
        ways_of_delivery=codes("ways_of_delivery"),
        cost_centers_synced="cost_centers" in fetched,
        terms_of_delivery_synced="terms_of_delivery" in fetched,
        ways_of_delivery_synced="ways_of_delivery" in fetched,
    )


def preview(order: Order) -> MappingResult:
    """What the current settings would send for `order`, without sending anything.

    Raises Conflict when no connected integration handles the order."""
    integration = integration_for_order(order)
    if integration is None:
        raise Conflict(
            "Ingen ansluten Fortnox-integration hanterar den här ordern. "
            "Anslut Fortnox under Inställningar → Integration.",
            code="no_integration",
        )
    return map_order(build_snapshot(order), settings_of(integration), lookups_of(integration))
