"""The Fortnox REST API v3 client: HTTP and Fortnox, nothing of Flask or the database.

One `FortnoxClient` talks to one Fortnox integration (one tenant). It is built from explicit
arguments (in the app by `services.client_for(integration)`) and:

- keeps the access token fresh: refreshes when less than `refresh_margin` (5 min) is left, and
  once more on a 401 / 403+2000310/2000311 (FACTS.md §3); refreshes only under the shared lock,
  reloading the tokens from the store after taking it (another worker may have refreshed) and
  saving the rotated refresh token before releasing it (FACTS.md §1: single use);
- holds one slot of the shared rate limiter for every request, from before it is sent until
  its answer is in (FACTS.md §2);
- retries 429, 5xx and lost connections with exponential backoff and jitter, honouring
  Retry-After — but repeats a request that may already have been carried out only when doing
  it twice is harmless (see `Replay` and docs/fortnox-client.md); otherwise it raises
  `FortnoxUncertainError`;
- raises typed errors (errors.py) and returns plain dicts: the unwrapped resource.

A client instance is not thread-safe (it owns one HTTP session); give each thread or job its
own, sharing the token store, lock and rate limiter.
"""

from __future__ import annotations

import enum
import json as jsonlib
import logging
import random
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit
from zoneinfo import ZoneInfo

import requests
import urllib3.exceptions
from requests_oauthlib import OAuth2Session
from urllib3.filepost import encode_multipart_formdata

from . import oauth
from .errors import (
    FortnoxAuthError,
    FortnoxAuthorizationRevoked,
    FortnoxConnectionError,
    FortnoxError,
    FortnoxNotFound,
    FortnoxRateLimited,
    FortnoxServerError,
    FortnoxUncertainError,
    FortnoxValidationError,
    error_code_of,
    error_from_response,
    is_auth_failure,
)
from .ratelimit import RateLimiter
from .tokens import Clock, LockFactory, Tokens, TokenStore, utcnow

log = logging.getLogger(__name__)

JSON = dict[str, Any]

# FACTS.md §2: default page size is 100; 500 is used in practice (max 500 UNCONFIRMED). We ask
# for 500 and follow @TotalPages, so a server that caps lower still gives us every row.
PAGE_SIZE = 500
# FACTS.md §2: `lastmodified` format "YYYY-MM-DD HH:mm". Fortnox is a Swedish service; we
# assume its timestamps are Swedish local time (UNCONFIRMED) and convert aware datetimes.
LASTMODIFIED_FORMAT = "%Y-%m-%d %H:%M"
FORTNOX_TZ = ZoneInfo("Europe/Stockholm")
# FACTS.md §2: no Retry-After is documented for 429 — back off at least 5 s (one window).
RATE_LIMIT_MIN_WAIT = 5.0
DEFAULT_TIMEOUT = (5.0, 30.0)  # (connect, read) seconds per request
USER_AGENT = "Ordna-Fortnox-Client/1"
# FACTS.md §2: the newer services live beside /3, under /api/<service>/<name>-vN.
ATTACHMENTS_PATH = "/api/fileattachments/attachments-v1"


class Replay(enum.Enum):
    """Whether a request may be sent again after it possibly reached Fortnox.

    SAFE: doing it twice leaves Fortnox as doing it once (reads, full updates, actions that
    set a state). UNSAFE: doing it twice can create a second document or send a second e-mail;
    it is repeated only after a 429 (Fortnox did not process it) or a connection that was
    refused before anything was sent.
    """

    SAFE = "safe"
    UNSAFE = "unsafe"


@dataclass(frozen=True)
class Page:
    """One page of a Fortnox list (FACTS.md §2 MetaInformation)."""

    items: list[JSON]
    current_page: int
    total_pages: int
    total_resources: int


class FortnoxClient:
    """Client for one Fortnox integration.

    `api_url` is the API root (`https://api.fortnox.se/3`), `oauth_url` the OAuth root
    (`https://apps.fortnox.se/oauth-v1`); both https, or http to a loopback host (the
    sandbox). `token_store`, `lock` and `rate_limiter` are shared by every client of the same
    integration (across processes: a DB store, `RedisLock`, `RedisRateLimiter`). `clock`
    returns an aware datetime; `sleep` waits (both injectable so tests can simulate time;
    the rate limiter has its own). `jitter` draws a number in [0, 1) for backoff jitter.

    Every public method may raise any `FortnoxError`; the ones a method adds are named on it.
    Errors of the shared infrastructure are not wrapped: redis.RedisError from a Redis lock or
    limiter, and whatever the token store raises.
    """

    def __init__(
        self,
        *,
        api_url: str,
        oauth_url: str,
        client_id: str,
        client_secret: str,
        token_store: TokenStore,
        lock: LockFactory,
        rate_limiter: RateLimiter,
        clock: Clock = utcnow,
        sleep: Callable[[float], None] = time.sleep,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
        max_retries: int = 5,
        backoff_base: float = 0.5,
        backoff_max: float = 30.0,
        refresh_margin: timedelta = timedelta(minutes=5),
        jitter: Callable[[], float] = random.random,
    ) -> None:
        oauth.check_transport(api_url)
        oauth.check_transport(oauth_url)
        self.api_url = api_url.rstrip("/")
        self.oauth_url = oauth_url.rstrip("/")
        self._client_id = client_id
        self._client_secret = client_secret
        self._store = token_store
        self._lock = lock
        self._limiter = rate_limiter
        self._clock = clock
        self._sleep = sleep
        self._timeout = timeout
        self.max_retries = max_retries
        self._backoff_base = backoff_base
        self._backoff_max = backoff_max
        self._refresh_margin = refresh_margin
        self._jitter = jitter
        self._tokens: Tokens | None = None
        self._session = OAuth2Session(client_id)
        self._session.headers.update({"Accept": "application/json", "User-Agent": USER_AGENT})

    def __repr__(self) -> str:  # never shows the secret or tokens
        return f"FortnoxClient(api_url={self.api_url!r}, client_id={self._client_id!r})"

    def close(self) -> None:
        """Close the HTTP session's pooled connections."""
        self._session.close()

    def __enter__(self) -> FortnoxClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- Tokens ------------------------------------------------------------------------------

    def tokens(self) -> Tokens:
        """Tokens valid for at least `refresh_margin`, refreshing them if needed.

        Side effect: may refresh and save tokens through the store (under the lock). Raises
        FortnoxAuthError when the store holds none (not connected), FortnoxAuthorizationRevoked
        when Fortnox refuses the refresh, FortnoxConnectionError when the lock is not had in
        time or the token endpoint cannot be reached.
        """
        tokens = self._tokens or self._store.load()
        if tokens is not None and not self._needs_refresh(tokens):
            self._tokens = tokens
            return tokens
        return self._refresh(rejected_access_token=None)

    def _needs_refresh(self, tokens: Tokens) -> bool:
        return tokens.expires_within(self._refresh_margin, self._clock())

    def _refresh(self, rejected_access_token: str | None) -> Tokens:
        """Refresh under the shared lock unless another worker already has.

        `rejected_access_token` is the token Fortnox just refused (401), which must be
        replaced even if it looks unexpired.
        """
        try:
            with self._lock():
                # Reload: while we waited for the lock another worker may have refreshed and
                # spent the refresh token we hold (FACTS.md §1, single use).
                tokens = self._store.load()
                if tokens is None:
                    raise FortnoxAuthError(
                        "no Fortnox tokens stored: the integration is not connected"
                    )
                if self._needs_refresh(tokens) or tokens.access_token == rejected_access_token:
                    tokens = self._refresh_and_save(tokens)
        except TimeoutError as exc:
            raise FortnoxConnectionError(
                "timed out waiting for the token refresh lock", path="/token"
            ) from exc
        self._tokens = tokens
        return tokens

    def _refresh_and_save(self, tokens: Tokens) -> Tokens:
        """Spend `tokens.refresh_token` and save the result; the caller holds the lock."""
        try:
            fresh = self._spend_refresh_token(tokens)
        except FortnoxAuthorizationRevoked:
            # Only possible while holding the lock if the lock expired during a slow refresh
            # and another worker rotated the token meanwhile: then its tokens are good.
            latest = self._store.load()
            if latest is not None and latest.refresh_token != tokens.refresh_token:
                return latest
            raise
        self._store.save(fresh)  # before the lock is released (FACTS.md §1, single use)
        log.info("Fortnox tokens refreshed; valid until %s", fresh.expires_at.isoformat())
        return fresh

    def _spend_refresh_token(self, tokens: Tokens) -> Tokens:
        """One refresh, retried on transient failures. Retrying with the same refresh token is
        harmless: if the first attempt was processed the token is spent whatever we do, and
        the retry then reports invalid_grant; if not, the retry succeeds."""
        attempt = 0
        while True:
            try:
                return oauth.refresh(
                    self.oauth_url,
                    self._client_id,
                    self._client_secret,
                    tokens.refresh_token,
                    clock=self._clock,
                )
            except FortnoxAuthorizationRevoked:
                raise
            except (FortnoxConnectionError, FortnoxServerError, FortnoxRateLimited) as exc:
                if attempt >= 2:
                    raise
                wait = self._backoff(
                    attempt, RATE_LIMIT_MIN_WAIT if isinstance(exc, FortnoxRateLimited) else 0
                )
                log.warning("Fortnox token refresh failed (%s); retrying in %.1f s", exc, wait)
                self._sleep(wait)
                attempt += 1

    # --- Transport ---------------------------------------------------------------------------

    def _backoff(self, attempt: int, floor: float = 0.0) -> float:
        """Exponential backoff with "equal jitter": half fixed, half random."""
        ceiling = min(self._backoff_max, self._backoff_base * 2.0**attempt)
        return max(floor, ceiling / 2 + ceiling / 2 * self._jitter())

    def _retry_after(self, response: requests.Response) -> float | None:
        value = response.headers.get("Retry-After")
        if not value:
            return None
        try:
            return max(0.0, float(value))
        except ValueError:
            pass
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        return max(0.0, (when - self._clock()).total_seconds())

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Mapping[str, Any] | None = None,
        replay: Replay,
    ) -> requests.Response:
        """Send one Fortnox request with rate limiting, token refresh and retries.

        `path` is relative to the API root ("/orders/12"). Returns the successful response.
        Raises FortnoxUncertainError when an UNSAFE request may have been carried out without
        an answer saying so; FortnoxRateLimited / FortnoxServerError / FortnoxConnectionError
        when retries run out; the typed error of errors.py for any other failure.
        """
        method = method.upper()
        url = self.api_url + path
        attempt = 0
        refreshed_for_401 = False
        while True:
            tokens = self.tokens()
            self._session.token = {"access_token": tokens.access_token, "token_type": "Bearer"}
            # The call holds its rate-limit slot until its answer is in (or it failed): the
            # slot frees one window after that (ratelimit.py).
            ticket = self._limiter.acquire()
            started = time.monotonic()
            try:
                try:
                    response: requests.Response = self._session.request(
                        method, url, params=params, json=json, timeout=self._timeout
                    )
                finally:
                    self._limiter.release(ticket)
            except requests.RequestException as exc:
                sent = not _provably_not_sent(exc)
                reason = f"{type(exc).__name__} after sending" if sent else type(exc).__name__
                if sent and replay is Replay.UNSAFE:
                    log.warning(
                        "Fortnox %s %s: no answer (%s); not repeating", method, path, reason
                    )
                    raise FortnoxUncertainError(
                        f"no answer from Fortnox ({reason}); the request may have been carried out",
                        method=method,
                        path=path,
                        payload=json,
                        reason=reason,
                    ) from exc
                if attempt >= self.max_retries:
                    raise FortnoxConnectionError(
                        f"no answer from Fortnox after {attempt + 1} attempts ({reason})",
                        method=method,
                        path=path,
                    ) from exc
                wait = self._backoff(attempt)
                log.info(
                    "Fortnox %s %s: %s; retry %d in %.1f s", method, path, reason, attempt + 1, wait
                )
                self._sleep(wait)
                attempt += 1
                continue

            status = response.status_code
            log.debug(
                "Fortnox %s %s → %d in %.0f ms",
                method,
                path,
                status,
                (time.monotonic() - started) * 1000,
            )
            if status < 400:
                return response
            body = _json_or_none(response)

            if is_auth_failure(status, error_code_of(body)):
                # FACTS.md §3: 401 and 403+2000310/2000311 mean "token refused": refresh once.
                # The request was refused, not carried out, so repeating it is safe.
                if refreshed_for_401:
                    raise error_from_response(status, body, method=method, path=path)
                refreshed_for_401 = True
                self._tokens = None
                self._refresh(rejected_access_token=tokens.access_token)
                continue

            if status == 429 or status >= 500:
                if status >= 500 and replay is Replay.UNSAFE:
                    log.warning("Fortnox %s %s → %d; not repeating", method, path, status)
                    error = error_from_response(status, body, method=method, path=path)
                    raise FortnoxUncertainError(
                        f"Fortnox answered HTTP {status}; the request may have been carried out",
                        method=method,
                        path=path,
                        payload=json,
                        reason=f"HTTP {status}",
                        code=error.code,
                        status=status,
                    )
                if attempt >= self.max_retries:
                    error = error_from_response(status, body, method=method, path=path)
                    if isinstance(error, FortnoxRateLimited):
                        error.retry_after = self._retry_after(response)
                    raise error
                retry_after = self._retry_after(response)
                if status == 429:
                    # 429 means "not processed", so even a create may be repeated.
                    wait = max(retry_after or 0.0, self._backoff(attempt, RATE_LIMIT_MIN_WAIT))
                else:
                    wait = retry_after if retry_after is not None else self._backoff(attempt)
                wait = min(wait, self._backoff_max * 2)
                log.info(
                    "Fortnox %s %s → %d; retry %d in %.1f s",
                    method,
                    path,
                    status,
                    attempt + 1,
                    wait,
                )
                self._sleep(wait)
                attempt += 1
                continue

            raise error_from_response(status, body, method=method, path=path)

    def _json(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Mapping[str, Any] | None = None,
        replay: Replay,
    ) -> JSON:
        response = self.request(method, path, params=params, json=body, replay=replay)
        data = _json_or_none(response)
        if not isinstance(data, dict):
            raise FortnoxError(
                "Fortnox answered with a body that is not a JSON object",
                status=response.status_code,
                method=method,
                path=path,
            )
        return data

    def _one(
        self, method: str, path: str, key: str, *, body: JSON | None = None, replay: Replay
    ) -> JSON:
        """Send and unwrap `{"<key>": {...}}` (FACTS.md §2: bodies wrapped in the resource name)."""
        data = self._json(method, path, body=body, replay=replay)
        resource = data.get(key)
        if not isinstance(resource, dict):
            raise FortnoxError(
                f"Fortnox answer lacks {key!r}", status=200, method=method, path=path
            )
        return resource

    # --- Lists -------------------------------------------------------------------------------

    def iter_pages(
        self,
        path: str,
        key: str,
        *,
        lastmodified: datetime | str | None = None,
        **params: str | int,
    ) -> Iterator[Page]:
        """Yield every page of a list endpoint, `PAGE_SIZE` rows at a time.

        `key` is the plural wrapper ("Orders"). `lastmodified` limits to records changed
        since then (aware datetimes are converted to Swedish time). `params` are Fortnox's
        lower-case query parameters (FACTS.md §2: one resource filter at a time; `filter=`
        picks a named filter). Raises ValueError for a parameter that is not lower case.
        """
        query: dict[str, str | int] = {}
        for name, value in params.items():
            if name != name.lower():
                raise ValueError(f"Fortnox query parameters are lower case: {name!r}")
            query[name] = value
        if lastmodified is not None:
            query["lastmodified"] = format_lastmodified(lastmodified)
        page = 1
        while True:
            data = self._json(
                "GET", path, params={**query, "limit": PAGE_SIZE, "page": page}, replay=Replay.SAFE
            )
            meta = data.get("MetaInformation") or {}
            items = data.get(key) or []
            total_pages = int(meta.get("@TotalPages", page) or page)
            yield Page(
                items=list(items),
                current_page=int(meta.get("@CurrentPage", page) or page),
                total_pages=total_pages,
                total_resources=int(meta.get("@TotalResources", len(items)) or 0),
            )
            if page >= total_pages or not items:
                return
            page += 1

    def list_all(
        self,
        path: str,
        key: str,
        *,
        lastmodified: datetime | str | None = None,
        **params: str | int,
    ) -> list[JSON]:
        """Every row of a list endpoint, all pages read (see `iter_pages`)."""
        return [
            item
            for page in self.iter_pages(path, key, lastmodified=lastmodified, **params)
            for item in page.items
        ]

    def list_customers(
        self, lastmodified: datetime | str | None = None, **params: str | int
    ) -> list[JSON]:
        """GET /customers, all pages (scope `customer`)."""
        return self.list_all("/customers", "Customers", lastmodified=lastmodified, **params)

    def list_articles(
        self, lastmodified: datetime | str | None = None, **params: str | int
    ) -> list[JSON]:
        """GET /articles, all pages (scope `article`)."""
        return self.list_all("/articles", "Articles", lastmodified=lastmodified, **params)

    def list_cost_centers(
        self, lastmodified: datetime | str | None = None, **params: str | int
    ) -> list[JSON]:
        """GET /costcenters, all pages (scope `costcenter`)."""
        return self.list_all("/costcenters", "CostCenters", lastmodified=lastmodified, **params)

    def list_terms_of_delivery(
        self, lastmodified: datetime | str | None = None, **params: str | int
    ) -> list[JSON]:
        """GET /termsofdeliveries, all pages (scope `settings`)."""
        return self.list_all(
            "/termsofdeliveries", "TermsOfDeliveries", lastmodified=lastmodified, **params
        )

    def list_ways_of_delivery(
        self, lastmodified: datetime | str | None = None, **params: str | int
    ) -> list[JSON]:
        """GET /wayofdeliveries, all pages (scope `settings`)."""
        return self.list_all(
            "/wayofdeliveries", "WayOfDeliveries", lastmodified=lastmodified, **params
        )

    def list_orders(
        self, lastmodified: datetime | str | None = None, **params: str | int
    ) -> list[JSON]:
        """GET /orders, all pages (scope `order`)."""
        return self.list_all("/orders", "Orders", lastmodified=lastmodified, **params)

    def list_invoices(
        self, lastmodified: datetime | str | None = None, **params: str | int
    ) -> list[JSON]:
        """GET /invoices, all pages (scope `invoice`)."""
        return self.list_all("/invoices", "Invoices", lastmodified=lastmodified, **params)

    # --- Single resources --------------------------------------------------------------------

    def company_information(self) -> JSON:
        """GET /companyinformation (scope `companyinformation`): CompanyName,
        OrganizationNumber, DatabaseNumber (= tenant id, FACTS.md §1)…"""
        return self._one("GET", "/companyinformation", "CompanyInformation", replay=Replay.SAFE)

    def get_customer(self, customer_number: str) -> JSON:
        """GET /customers/{n}. Raises FortnoxNotFound."""
        return self._one(
            "GET", f"/customers/{_seg(customer_number)}", "Customer", replay=Replay.SAFE
        )

    def create_customer(self, customer: JSON) -> JSON:
        """POST /customers with the unwrapped `customer`; never repeated once sent
        (FortnoxUncertainError)."""
        return self._create("/customers", "Customer", customer)

    def update_customer(self, customer_number: str, customer: JSON) -> JSON:
        """PUT /customers/{n}: sets the given fields; repeatable."""
        return self._update(f"/customers/{_seg(customer_number)}", "Customer", customer)

    def get_article(self, article_number: str) -> JSON:
        """GET /articles/{n}. Raises FortnoxNotFound."""
        return self._one("GET", f"/articles/{_seg(article_number)}", "Article", replay=Replay.SAFE)

    def create_article(self, article: JSON) -> JSON:
        """POST /articles; never repeated once sent (FortnoxUncertainError)."""
        return self._create("/articles", "Article", article)

    def update_article(self, article_number: str, article: JSON) -> JSON:
        """PUT /articles/{n}; repeatable."""
        return self._update(f"/articles/{_seg(article_number)}", "Article", article)

    def get_order(self, document_number: str | int) -> JSON:
        """GET /orders/{n}. Raises FortnoxNotFound."""
        return self._one("GET", f"/orders/{_seg(document_number)}", "Order", replay=Replay.SAFE)

    def create_order(self, order: JSON) -> JSON:
        """POST /orders; never repeated once sent (FortnoxUncertainError carries `order`)."""
        return self._create("/orders", "Order", order)

    def update_order(self, document_number: str | int, order: JSON) -> JSON:
        """PUT /orders/{n}; repeatable unless rows carry RowId (see `_update`)."""
        return self._update(f"/orders/{_seg(document_number)}", "Order", order)

    def get_invoice(self, document_number: str | int) -> JSON:
        """GET /invoices/{n}. Raises FortnoxNotFound."""
        return self._one("GET", f"/invoices/{_seg(document_number)}", "Invoice", replay=Replay.SAFE)

    def create_invoice(self, invoice: JSON) -> JSON:
        """POST /invoices; never repeated once sent (FortnoxUncertainError carries `invoice`)."""
        return self._create("/invoices", "Invoice", invoice)

    def update_invoice(self, document_number: str | int, invoice: JSON) -> JSON:
        """PUT /invoices/{n}; repeatable unless rows carry RowId (see `_update`)."""
        return self._update(f"/invoices/{_seg(document_number)}", "Invoice", invoice)

    def list_attendance_transactions(self, employee_id: str, day: str) -> list[JSON]:
        """The attendance transactions of one employee on one day (scope `salary`). Fortnox
        takes one search parameter at a time (FACTS.md §2), so the list is searched by
        employee and the day picked out here."""
        found = self.list_all(
            "/attendancetransactions", "AttendanceTransactions", employeeid=employee_id
        )
        return [t for t in found if t.get("Date") == day]

    def create_attendance_transaction(self, transaction: JSON) -> JSON:
        """POST /attendancetransactions (scope `salary`; EmployeeId, Date, CauseCode required,
        FACTS.md §7); never repeated once sent."""
        return self._create("/attendancetransactions", "AttendanceTransaction", transaction)

    # --- Files: the inbox and file attachments ------------------------------------------------

    def upload_to_inbox(self, name: str, pdf: bytes) -> JSON:
        """POST /inbox (scope `inbox`, FACTS.md §1): uploads `pdf` as the multipart part `file`
        called `name` to the inbox's root folder and returns the File: `Id`, `Name`, `Size`,
        `ArchiveFileId` (what an attachment names, see `attach_files`), `Path`… Never repeated
        once sent (FortnoxUncertainError): a repeat would leave a second file."""
        body, content_type = encode_multipart_formdata({"file": (name, pdf, "application/pdf")})
        with self._reshaped(body=body, content_type=content_type):
            return self._one("POST", "/inbox", "File", replay=Replay.UNSAFE)

    def list_inbox_files(self) -> list[JSON]:
        """GET /inbox: the files in the inbox's root folder (scope `inbox`)."""
        folder = self._one("GET", "/inbox", "Folder", replay=Replay.SAFE)
        return [dict(f) for f in folder.get("Files") or [] if isinstance(f, dict)]

    def delete_inbox_file(self, file_id: str) -> bool:
        """DELETE /inbox/{Id}: removes a file from the inbox; False when it was not there.
        Repeatable."""
        try:
            self.request("DELETE", f"/inbox/{_seg(file_id)}", replay=Replay.SAFE)
        except FortnoxNotFound:
            return False
        return True

    def list_attachments(self, entity_id: int | str, entity_type: str) -> list[JSON]:
        """GET /api/fileattachments/attachments-v1: the files attached to one document.
        `entity_type` is "O" (order) or "F" (invoice), `entity_id` the document's number
        (UNCONFIRMED: the spec says only int64; a public SDK's test passes the
        DocumentNumber)."""
        params = {"entityid": str(entity_id), "entitytype": entity_type}
        with self._reshaped(services=True):
            response = self.request("GET", ATTACHMENTS_PATH, params=params, replay=Replay.SAFE)
        return _json_list(response, "GET", ATTACHMENTS_PATH)

    def attach_files(self, attachments: list[JSON]) -> list[JSON]:
        """POST /api/fileattachments/attachments-v1: attaches files to documents. Each item is
        `{"entityId", "entityType", "fileId", "includeOnSend"}` with `fileId` the file's
        `ArchiveFileId` (a public SDK documents the field so) and `includeOnSend` whether the
        file goes out with the document. Returns the attachments made (`id` a UUID). Never
        repeated once sent (FortnoxUncertainError)."""
        body = jsonlib.dumps(attachments).encode("utf-8")
        with self._reshaped(services=True, body=body, content_type="application/json"):
            response = self.request("POST", ATTACHMENTS_PATH, replay=Replay.UNSAFE)
        return _json_list(response, "POST", ATTACHMENTS_PATH)

    def delete_attachment(self, attachment_id: str) -> bool:
        """DELETE /api/fileattachments/attachments-v1/{id}: detaches a file (the file stays
        in Fortnox); False when the attachment was not there. Repeatable."""
        path = f"{ATTACHMENTS_PATH}/{_seg(attachment_id)}"
        try:
            with self._reshaped(services=True):
                self.request("DELETE", path, replay=Replay.SAFE)
        except FortnoxNotFound:
            return False
        return True

    @contextmanager
    def _reshaped(
        self, *, services: bool = False, body: bytes | None = None, content_type: str = ""
    ) -> Iterator[None]:
        """Within the block, requests go to the /api services (`services`: the API URL
        without its trailing /3) and carry `body` instead of a JSON object — what `request`
        does not build itself. Done with a requests auth hook, which runs on the prepared
        request of every attempt (retries send the same), the token header already set."""
        api_path = urlsplit(self.api_url).path.rstrip("/")
        hook = _Reshape(api_path if services else None, body, content_type)
        previous = self._session.auth
        self._session.auth = hook
        try:
            yield
        finally:
            self._session.auth = previous

    def _create(self, path: str, key: str, resource: JSON) -> JSON:
        return self._one("POST", path, key, body={key: resource}, replay=Replay.UNSAFE)

    def _update(self, path: str, key: str, resource: JSON) -> JSON:
        # FACTS.md §4 row semantics: rows without RowId are matched by position, so sending the
        # same body twice gives the same document. Rows WITH RowId are not: Fortnox issues new
        # RowIds on every update, and a repeat would name rows that no longer exist.
        replay = Replay.UNSAFE if _has_row_ids(resource) else Replay.SAFE
        return self._one("PUT", path, key, body={key: resource}, replay=replay)

    # --- Actions -----------------------------------------------------------------------------

    def create_invoice_from_order(self, document_number: str | int) -> JSON:
        """PUT /orders/{n}/createinvoice: creates an invoice; never repeated once sent (the
        send layer checks the order's InvoiceReference instead).

        Returns the Invoice (FACTS.md §4: Invoice wrapper per Spec-Feb); a server answering
        with the Order wrapper (Spec-2026-04) gets the Order, whose InvoiceReference names
        the invoice.
        """
        path = f"/orders/{_seg(document_number)}/createinvoice"
        data = self._json("PUT", path, replay=Replay.UNSAFE)
        for key in ("Invoice", "Order"):
            if isinstance(data.get(key), dict):
                return dict(data[key])
        raise FortnoxError("Fortnox answer lacks 'Invoice'", status=200, method="PUT", path=path)

    def cancel_order(self, document_number: str | int) -> JSON:
        """PUT /orders/{n}/cancel: ensures the order is cancelled (already cancelled counts as
        done); repeatable. Raises FortnoxValidationError when it cannot be (e.g. invoiced)."""
        return self._action("orders", document_number, "cancel", "Order", done="Cancelled")

    def email_invoice(self, document_number: str | int) -> JSON:
        """GET /invoices/{n}/email: sends the invoice by e-mail (EmailInformation). Never
        repeated once sent: a repeat would send the customer a second e-mail."""
        return self._one(
            "GET", f"/invoices/{_seg(document_number)}/email", "Invoice", replay=Replay.UNSAFE
        )

    def externalprint_invoice(self, document_number: str | int) -> JSON:
        """PUT /invoices/{n}/externalprint: marks it Sent without producing anything;
        repeatable."""
        return self._action("invoices", document_number, "externalprint", "Invoice", done="Sent")

    def bookkeep_invoice(self, document_number: str | int) -> JSON:
        """PUT /invoices/{n}/bookkeep: ensures the invoice is booked (already booked counts as
        done); repeatable. Raises FortnoxValidationError when it cannot be (e.g. cancelled)."""
        return self._action("invoices", document_number, "bookkeep", "Invoice", done="Booked")

    def cancel_invoice(self, document_number: str | int) -> JSON:
        """PUT /invoices/{n}/cancel: ensures the invoice is cancelled (see `cancel_order`);
        a booked invoice cannot be (credit it instead)."""
        return self._action("invoices", document_number, "cancel", "Invoice", done="Cancelled")

    def _action(self, collection: str, number: str | int, action: str, key: str, done: str) -> JSON:
        """PUT a state action. These set one flag, so repeating one is harmless — but Fortnox
        refuses a repeat ("redan bokförd"), which after a retry of a lost answer, or a job run
        twice, would report a success as a failure. So a refusal is checked against the
        document: if the flag `done` is already set, the document is returned."""
        base = f"/{collection}/{_seg(number)}"
        try:
            return self._one("PUT", f"{base}/{action}", key, replay=Replay.SAFE)
        except FortnoxValidationError:
            current = self._one("GET", base, key, replay=Replay.SAFE)
            if current.get(done) is True:
                return current
            raise

    def print_invoice(self, document_number: str | int) -> bytes:
        """GET /invoices/{n}/print: the PDF; Fortnox sets Sent (FACTS.md §5). Repeatable."""
        return self._pdf(f"/invoices/{_seg(document_number)}/print")

    def preview_invoice(self, document_number: str | int) -> bytes:
        """GET /invoices/{n}/preview: the PDF, Sent unchanged."""
        return self._pdf(f"/invoices/{_seg(document_number)}/preview")

    def print_order(self, document_number: str | int) -> bytes:
        """GET /orders/{n}/print: the PDF; Fortnox sets Sent (FACTS.md §4). Repeatable."""
        return self._pdf(f"/orders/{_seg(document_number)}/print")

    def preview_order(self, document_number: str | int) -> bytes:
        """GET /orders/{n}/preview: the PDF, Sent unchanged."""
        return self._pdf(f"/orders/{_seg(document_number)}/preview")

    def _pdf(self, path: str) -> bytes:
        # FACTS.md §2: PDF endpoints are called with `Accept: application/json` (the session
        # default); `Accept: application/pdf` is refused with 1000030 "Invalid response type".
        response = self.request("GET", path, replay=Replay.SAFE)
        return response.content


# --- Helpers ---------------------------------------------------------------------------------


def format_lastmodified(value: datetime | str) -> str:
    """`lastmodified` as Fortnox wants it, "YYYY-MM-DD HH:mm" (FACTS.md §2). Aware datetimes
    are converted to Swedish time; naive ones and strings are taken as they are."""
    if isinstance(value, str):
        return value
    if value.tzinfo is not None:
        value = value.astimezone(FORTNOX_TZ)
    return value.strftime(LASTMODIFIED_FORMAT)


def _seg(value: str | int) -> str:
    """One URL path segment (customer and article numbers may hold any character)."""
    return quote(str(value), safe="")


def _json_or_none(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _json_list(response: requests.Response, method: str, path: str) -> list[JSON]:
    """The answer's JSON array of objects (the /api services answer lists bare)."""
    data = _json_or_none(response)
    if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
        raise FortnoxError(
            "Fortnox answered with a body that is not a JSON array of objects",
            status=response.status_code,
            method=method,
            path=path,
        )
    return [dict(item) for item in data]


class _Reshape(requests.auth.AuthBase):
    """A requests auth hook for `FortnoxClient._reshaped`: moves a request built for
    `<api>/api/…` to `<api without /3>/api/…` (when `api_path` is given), and replaces its
    body (when `body` is)."""

    def __init__(self, api_path: str | None, body: bytes | None, content_type: str) -> None:
        self.api_path = api_path
        self.body = body
        self.content_type = content_type

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        if self.api_path is not None and r.url:
            parts = urlsplit(r.url)
            if parts.path.startswith(self.api_path + "/api/"):
                root = self.api_path.removesuffix("/3")
                path = root + parts.path[len(self.api_path) :]
                r.url = urlunsplit(parts._replace(path=path))
        if self.body is not None:
            r.body = self.body
            r.headers["Content-Type"] = self.content_type
            r.prepare_content_length(self.body)
        return r


def _has_row_ids(resource: Mapping[str, Any]) -> bool:
    for key in ("OrderRows", "InvoiceRows"):
        rows = resource.get(key)
        if isinstance(rows, list) and any(isinstance(r, dict) and "RowId" in r for r in rows):
            return True
    return False


def _provably_not_sent(exc: requests.RequestException) -> bool:
    """True only when the request cannot have reached Fortnox: the TCP connection was never
    made (refused, unresolvable host, connect timeout). A read timeout or a connection dropped
    after sending might have been processed."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    if isinstance(exc, requests.ConnectionError):
        reason: object = exc.args[0] if exc.args else None
        if isinstance(reason, urllib3.exceptions.MaxRetryError):
            reason = reason.reason
        return isinstance(reason, urllib3.exceptions.NewConnectionError)
    return False
