"""The sandbox's in-memory state: clock, clients, tenants, grants, tokens, faults, request log.

Everything lives in one :class:`SandboxState` per app, guarded by one re-entrant lock: the
server runs threaded, and one lock around each request's work keeps every change atomic
(the data is tiny, so serialising requests costs nothing that matters in tests or demos).
"""

from __future__ import annotations

import base64
import copy
import datetime as dt
import fnmatch
import hashlib
import hmac
import json
import secrets
import threading
import time
import uuid
from collections import deque
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import urlsplit

from .seed import seed_basics, seed_tenant

UTC = dt.UTC

# FACTS.md §1.
ACCESS_TOKEN_SECONDS = 3600
REFRESH_TOKEN_SECONDS = 45 * 24 * 3600
AUTH_CODE_SECONDS = 600
# FACTS.md §1 scope enumeration.
KNOWN_SCOPES = frozenset(
    "article companyinformation settings costcenter currency customer invoice order offer price "
    "print project profile payment bookkeeping salary timereporting archive inbox connectfile "
    "supplier supplierinvoice noxfinansinvoice".split()
)


class Clock:
    """The sandbox's notion of time: real time plus an offset, optionally frozen."""

    def __init__(self) -> None:
        self._offset = 0.0
        self._frozen_at: float | None = None
        self._lock = threading.Lock()

    def time(self) -> float:
        with self._lock:
            if self._frozen_at is not None:
                return self._frozen_at
            return time.time() + self._offset

    def now(self) -> dt.datetime:
        return dt.datetime.fromtimestamp(self.time(), UTC)

    def advance(self, seconds: float) -> None:
        with self._lock:
            if self._frozen_at is not None:
                self._frozen_at += seconds
            else:
                self._offset += seconds

    def set(self, when: dt.datetime) -> None:
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        with self._lock:
            if self._frozen_at is not None:
                self._frozen_at = when.timestamp()
            else:
                self._offset = when.timestamp() - time.time()

    def freeze(self, frozen: bool) -> None:
        with self._lock:
            if frozen and self._frozen_at is None:
                self._frozen_at = time.time() + self._offset
            elif not frozen and self._frozen_at is not None:
                self._offset = self._frozen_at - time.time()
                self._frozen_at = None

    def reset(self) -> None:
        with self._lock:
            self._offset = 0.0
            self._frozen_at = None

    def describe(self) -> dict[str, Any]:
        return {
            "now": self.now().isoformat(),
            "offset_seconds": round(self.time() - time.time(), 3),
            "frozen": self._frozen_at is not None,
        }


@dataclass
class Tenant:
    database_number: int
    company: dict[str, Any]
    # register name -> key -> record (records carry "_modified", an epoch float)
    registers: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    orders: dict[int, dict[str, Any]] = field(default_factory=dict)
    invoices: dict[int, dict[str, Any]] = field(default_factory=dict)
    counters: dict[str, int] = field(default_factory=dict)
    used_customer_numbers: set[str] = field(default_factory=set)
    # Inbox files by Id (the bytes under "_data"), file attachments by id (files.py).
    inbox: dict[str, dict[str, Any]] = field(default_factory=dict)
    attachments: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Bumped by every change through the API; with a register's size it tells whether the
    # cached key order of the register (resources._in_key_order) still holds.
    revision: int = 0
    key_orders: dict[str, tuple[tuple[int, int], list[dict[str, Any]]]] = field(
        default_factory=dict
    )

    def next_number(self, series: str) -> int:
        self.counters[series] = self.counters.get(series, 0) + 1
        return self.counters[series]

    def summary(self) -> dict[str, Any]:
        return {
            "tenant": self.database_number,
            "DatabaseNumber": self.database_number,
            "CompanyName": self.company["CompanyName"],
            "OrganizationNumber": self.company["OrganizationNumber"],
            "counts": {
                **{name: len(records) for name, records in self.registers.items()},
                "orders": len(self.orders),
                "invoices": len(self.invoices),
                "inbox": len(self.inbox),
                "attachments": len(self.attachments),
            },
        }


@dataclass
class Grant:
    """One client's authorisation for one tenant (revocable)."""

    client_id: str
    tenant: int
    scopes: frozenset[str]
    service: bool = False  # consent given with account_type=service (FACTS.md §1)
    active: bool = True
    id: str = field(default_factory=lambda: uuid.uuid4().hex)


@dataclass
class AuthCode:
    client_id: str
    redirect_uri: str
    redirect_uri_sent: bool
    grant_id: str
    expires: float
    used: bool = False


@dataclass
class Token:
    value: str
    client_id: str
    tenant: int
    scopes: frozenset[str]
    grant_id: str
    expires: float
    spent: bool = False


@dataclass
class Fault:
    kind: str
    method: str = "*"
    path_pattern: str = "*"
    status: int = 503
    latency_ms: int = 0
    count: int | None = 1  # None: every matching request until cleared
    code: int | None = None
    message: str | None = None
    tenant: int | None = None  # "revoke": whose authorisation (default: the request's tenant)
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:8])

    def matches(self, method: str, path: str) -> bool:
        return (self.method in ("*", method.upper())) and fnmatch.fnmatchcase(
            path, self.path_pattern
        )


FAULT_KINDS = ("latency", "status", "rate_limit", "drop_after_create", "revoke")


class SandboxState:
    """All mutable state of one sandbox app. Use ``with state.lock:`` around changes."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.lock = threading.RLock()
        self.config = config
        self.clock = Clock()
        self.secret = secrets.token_bytes(32)
        # Bumped by every reset: a request that began before a reset (e.g. one sleeping in a
        # latency fault) sees a different generation afterwards and is not run or logged.
        self.generation = 0
        from .topics import EventLog

        self.topics = EventLog()  # the WebSocket change notifications (topics.py)
        self.reset()

    # ------------------------------------------------------------------------------ lifecycle
    def reset(self) -> None:
        """Forget every tenant, token, fault and logged request; clock back to real time."""
        with self.lock:
            self.generation += 1
            self.clients: dict[str, dict[str, Any]] = copy.deepcopy(self.config["SANDBOX_CLIENTS"])
            self.tenants: dict[int, Tenant] = {}
            self.tenant_by_org: dict[str, int] = {}
            self.grants: dict[str, Grant] = {}
            self.codes: dict[str, AuthCode] = {}
            self.access_tokens: dict[str, Token] = {}
            self.refresh_tokens: dict[str, Token] = {}
            self.windows: dict[tuple[str, int], deque[float]] = {}
            self.faults: list[Fault] = []
            self.log: deque[dict[str, Any]] = deque(maxlen=self.config["SANDBOX_LOG_SIZE"])
            self.auto_approve: bool = bool(self.config["SANDBOX_AUTO_APPROVE"])
            self.auto_company: dict[str, Any] = dict(self.config["SANDBOX_DEFAULT_COMPANY"])
            self.clock.reset()
            self.topics.clear()

    # ------------------------------------------------------------------------------ clients
    def check_client(self, client_id: str, secret: str | None = None) -> dict[str, Any] | None:
        client = self.clients.get(client_id)
        if client is None:
            return None
        if secret is not None and not hmac.compare_digest(client["secret"], secret):
            return None
        return client

    @staticmethod
    def redirect_allowed(client: dict[str, Any], redirect_uri: str) -> bool:
        allowed = client.get("redirect_uris")
        if allowed:
            return redirect_uri in allowed
        # Default: any http(s) redirect back to this machine (local development and tests).
        parts = urlsplit(redirect_uri)
        return parts.scheme in ("http", "https") and parts.hostname in (
            "127.0.0.1",
            "localhost",
            "::1",
        )

    # ------------------------------------------------------------------------------ tenants
    def tenant_for_company(self, company: dict[str, Any]) -> Tenant:
        """The tenant of a company (by organisation number), created and seeded on first use."""
        with self.lock:
            org = str(company.get("OrganizationNumber") or "").strip()
            if org in self.tenant_by_org:
                return self.tenants[self.tenant_by_org[org]]
            number = self.config["SANDBOX_FIRST_DATABASE_NUMBER"] + len(self.tenants)
            info = {
                "Address": "Storgatan 1",
                "City": "Stockholm",
                "CompanyName": "Sandlådan AB",
                "CountryCode": "SE",
                "DatabaseNumber": number,
                "OrganizationNumber": org or f"559{number % 1000:03d}-{number % 10000:04d}",
                "VisitAddress": None,
                "VisitCity": None,
                "VisitCountryCode": None,
                "VisitZipCode": None,
                "ZipCode": "111 22",
            }
            info.update({k: v for k, v in company.items() if k in info and v not in (None, "")})
            info["DatabaseNumber"] = number
            tenant = Tenant(number, info)
            seed_basics(tenant, self.clock.time())
            if company.get("seed", self.config["SANDBOX_SEED"]):
                seed_tenant(tenant, self.clock.time())
            self.tenants[number] = tenant
            self.tenant_by_org[str(info["OrganizationNumber"])] = number
            return tenant

    def tenant(self, number: int | str) -> Tenant | None:
        try:
            return self.tenants.get(int(number))
        except (TypeError, ValueError):
            return None

    # ------------------------------------------------------------------------------ OAuth
    def approve(
        self, client_id: str, scopes: frozenset[str], tenant: Tenant, service: bool = False
    ) -> Grant:
        """A fresh grant for client+tenant; earlier grants of the pair stay valid until revoked."""
        with self.lock:
            grant = Grant(client_id, tenant.database_number, scopes, service)
            self.grants[grant.id] = grant
            return grant

    def issue_code(self, grant: Grant, redirect_uri: str, sent: bool) -> str:
        with self.lock:
            code = secrets.token_urlsafe(24)
            self.codes[code] = AuthCode(
                grant.client_id, redirect_uri, sent, grant.id, self.clock.time() + AUTH_CODE_SECONDS
            )
            return code

    def issue_tokens(self, grant: Grant) -> dict[str, Any]:
        """A new access token (a signed JWT carrying tenantId) and a new refresh token."""
        with self.lock:
            now = self.clock.time()
            claims = {
                "iss": "fortnox-sandbox",
                "tenantId": grant.tenant,
                "clientId": grant.client_id,
                "scope": " ".join(sorted(grant.scopes)),
                "iat": int(now),
                "exp": int(now + ACCESS_TOKEN_SECONDS),
                "jti": uuid.uuid4().hex,
            }
            access = self._jwt(claims)
            refresh = str(uuid.uuid4())
            self.access_tokens[access] = Token(
                access, grant.client_id, grant.tenant, grant.scopes, grant.id,
                now + ACCESS_TOKEN_SECONDS,
            )  # fmt: skip
            self.refresh_tokens[refresh] = Token(
                refresh, grant.client_id, grant.tenant, grant.scopes, grant.id,
                now + REFRESH_TOKEN_SECONDS,
            )  # fmt: skip
            return {
                "access_token": access,
                "refresh_token": refresh,
                "scope": " ".join(sorted(grant.scopes)),
                "expires_in": ACCESS_TOKEN_SECONDS,
                "token_type": "bearer",
            }

    def _jwt(self, claims: dict[str, Any]) -> str:
        def b64(data: bytes) -> str:
            return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

        header = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
        payload = b64(json.dumps(claims, separators=(",", ":")).encode())
        signature = hmac.new(self.secret, f"{header}.{payload}".encode(), hashlib.sha256)
        return f"{header}.{payload}.{b64(signature.digest())}"

    def grant_active(self, grant_id: str) -> bool:
        grant = self.grants.get(grant_id)
        return grant is not None and grant.active

    def revoke_tenant(self, tenant: int, client_id: str | None = None) -> int:
        """Revoke every grant of the tenant (optionally one client's); returns how many."""
        with self.lock:
            count = 0
            for grant in self.grants.values():
                if grant.tenant == tenant and grant.active:
                    if client_id is None or grant.client_id == client_id:
                        grant.active = False
                        count += 1
            return count

    # ------------------------------------------------------------------------------ rate limit
    def take_rate_slot(self, client_id: str, tenant: int) -> bool:
        """Count one request against the client+tenant window; False when over the limit.

        FACTS.md §2: 25 requests per 5-second sliding window per access token, which Fortnox
        describes as client-id + tenant, so a refreshed token does not get a fresh budget.
        A refused request is not counted: the window clears once the burst is 5 s old.
        """
        limit = self.config["SANDBOX_RATE_LIMIT"]
        if not limit:
            return True
        requests, window = limit
        with self.lock:
            now = self.clock.time()
            slots = self.windows.setdefault((client_id, tenant), deque())
            while slots and slots[0] <= now - window:
                slots.popleft()
            # A clock moved backwards leaves "future" entries; drop them too.
            while slots and slots[-1] > now:
                slots.pop()
            if len(slots) >= requests:
                return False
            slots.append(now)
            return True

    # ------------------------------------------------------------------------------ faults
    def add_fault(self, fault: Fault) -> Fault:
        with self.lock:
            self.faults.append(fault)
            return fault

    def take_fault(self, method: str, path: str) -> Fault | None:
        """The first fault matching the request, consuming one of its uses."""
        with self.lock:
            for fault in self.faults:
                if fault.matches(method, path):
                    if fault.count is not None:
                        fault.count -= 1
                        if fault.count <= 0:
                            self.faults.remove(fault)
                    return fault
            return None

    def describe_faults(self) -> list[dict[str, Any]]:
        with self.lock:
            return [asdict(f) for f in self.faults]

    # ------------------------------------------------------------------------------ log
    def record(self, entry: dict[str, Any]) -> None:
        with self.lock:
            self.log.append(entry)
