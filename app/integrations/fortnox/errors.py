"""Typed errors raised by the Fortnox client.

Every error carries what Fortnox said (`code`, `message`, HTTP `status`) and our explanation
in Swedish for the user (`user_message`), which names the fix where one is known. The UI shows
our words first, then Fortnox's message and code (integration-health.md, "Error message and
dialog"). No error ever carries a token, secret or authorisation code.

Hierarchy::

    FortnoxError
    ├── FortnoxValidationError        400: Fortnox refused the content (ErrorInformation)
    ├── FortnoxAuthError              401 / 403 + 2000310/2000311, OAuth errors
    │   └── FortnoxAuthorizationRevoked   refresh refused (invalid_grant): connect again
    ├── FortnoxPermissionError        licence or permission missing (scope, 2001101, 2003275…)
    ├── FortnoxNotFound               404
    ├── FortnoxRateLimited            429 after every retry
    ├── FortnoxServerError            5xx after every retry (safe requests only)
    ├── FortnoxConnectionError        no answer after every retry (safe requests only)
    └── FortnoxUncertainError         a create may or may not have happened
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# FACTS.md §3: "Treat 401 and 403 with codes 2000310/2000311 alike: refresh, then re-authorise."
AUTH_CODES = frozenset({2000310, 2000311})
# FACTS.md §3: missing API licence, missing licence for the scope, missing register permission;
# 2000663 "no access to scope" is from a public copy of the official table (the sandbox's
# fortnox_sandbox/errors.py names it).
PERMISSION_CODES = frozenset({2000663, 2001101, 2001103, 2003275})

_FIX_REGISTERS = "Klicka på ”Hämta” under Inställningar → Integration och försök igen."
_FIX_RECONNECT = (
    "Klicka på ”Anslut igen” under Inställningar → Integration; den som ansluter måste vara "
    "systemadministratör i Fortnox."
)
_FIX_SUPPORT = "Det är ett fel i Ordna – kontakta supporten och uppge felkoden."

# Fortnox error codes (FACTS.md §3: the official table and codes seen in the wild) → our words.
USER_MESSAGES: dict[int, str] = {
    1000003: "Fortnox hade ett tillfälligt systemfel. Försök igen om en stund.",
    1000030: "Fortnox kunde inte svara i det format Ordna bad om. " + _FIX_SUPPORT,
    1000031: "Fortnox förstod inte formatet på det Ordna skickade. " + _FIX_SUPPORT,
    2000013: (
        "Artikelnumret används redan i Fortnox. Hämta artiklarna från Fortnox så att Ordna "
        "använder den befintliga artikeln, eller välj ett annat artikelnummer."
    ),
    2000106: (
        "Ett fält får bara innehålla bokstäver och siffror. Rätta fältet som Fortnox nämner "
        "och skicka igen."
    ),
    2000108: "Ett fält måste vara ett tal. Rätta fältet som Fortnox nämner och skicka igen.",
    2000134: ("Ett fält måste vara ja eller nej (sant/falskt). " + _FIX_SUPPORT),
    2000310: "Inloggningen mot Fortnox gäller inte längre. " + _FIX_RECONNECT,
    2000311: "Inloggningen mot Fortnox saknas eller gäller inte längre. " + _FIX_RECONNECT,
    2000359: (
        "Ett fält innehåller tecken som Fortnox inte tillåter. Ta bort specialtecknen i "
        "fältet som Fortnox nämner och skicka igen."
    ),
    2000401: (
        "Datumet ligger i en låst period i Fortnox. Ändra datumet eller lås upp perioden i "
        "Fortnox och skicka igen."
    ),
    2000423: (
        "Ett bokföringskonto som används finns inte i Fortnox kontoplan. Lägg upp kontot i "
        "Fortnox eller ändra kontot i inställningarna och skicka igen."
    ),
    2000588: "Fortnox godtog inte en parameter i anropet. " + _FIX_SUPPORT,
    2000637: (
        "Kundnumret används redan i Fortnox (även borttagna kunder räknas). Hämta kunderna från "
        "Fortnox eller ge kunden ett annat kundnummer."
    ),
    # 2000204/2000433/2000428/2001302/2000663: a public copy of the official code table (the
    # one fortnox_sandbox/errors.py cites), beyond FACTS.md §3.
    2000204: "Kunden finns inte i Fortnox. " + _FIX_REGISTERS,
    2000428: "Artikeln finns inte i Fortnox. " + _FIX_REGISTERS,
    2000433: "Kunden finns inte i Fortnox. " + _FIX_REGISTERS,
    2000663: ("Integrationen saknar behörighet för den här delen av Fortnox. " + _FIX_RECONNECT),
    2001302: (
        "En artikel på raderna finns inte i Fortnox eller är inaktiv. Hämta artiklarna, eller "
        "lägg upp eller aktivera artikeln i Fortnox, och skicka igen."
    ),
    2000729: "Fortnox saknar ett giltigt id för posten. " + _FIX_REGISTERS,
    2000946: (
        "Kontot kräver ett kostnadsställe i Fortnox. Ange kostnadsställe på ordern eller "
        "teknikern, eller ta bort kravet på kontot i Fortnox."
    ),
    2000947: (
        "Kostnadsstället är inaktivt i Fortnox. Aktivera det i Fortnox eller välj ett annat "
        "kostnadsställe, och hämta kostnadsställena igen."
    ),
    2001101: (
        "Fortnox-kontot saknar licens för den del av Fortnox som behövs (till exempel Order "
        "eller Fakturering). Aktivera licensen i Fortnox och anslut sedan igen."
    ),
    2001103: (
        "Fortnox-kontot saknar licens för API-integrationer. Beställ integrationslicensen i "
        "Fortnox och anslut sedan igen."
    ),
    2001304: (
        "Ett bokföringskonto som används finns inte i Fortnox kontoplan. Lägg upp kontot i "
        "Fortnox eller ändra kontot i inställningarna och skicka igen."
    ),
    2001392: "Fortnox fick ett tomt eller felaktigt innehåll. " + _FIX_SUPPORT,
    2001399: "Fortnox känner inte igen ett fältnamn i det Ordna skickade. " + _FIX_SUPPORT,
    2001740: "Fortnox kunde inte läsa det Ordna skickade (XML-fel). " + _FIX_SUPPORT,
    2002115: "Fortnox kunde inte läsa det Ordna skickade (JSON-fel). " + _FIX_SUPPORT,
    2003275: (
        "Användaren som anslöt integrationen saknar behörighet till registret i Fortnox. Ge "
        "användaren behörighet i Fortnox, eller anslut igen som systemadministratör."
    ),
    2004167: (
        "Fortnox kräver ett bokföringskonto på rader med egen momssats. Ange försäljningskonto "
        "på artikeln eller i inställningarna och skicka igen."
    ),
    2004194: (
        "Kundens momsregistreringsnummer (VAT-nummer) är ogiltigt. Rätta det på kunden och "
        "skicka igen."
    ),
}


class FortnoxError(Exception):
    """Base of every error the Fortnox client raises.

    `message` is Fortnox's own text when it sent one (else ours, in English, for the log);
    `code` is Fortnox's error code as an int; `status` the HTTP status; `method`/`path` the
    request (path relative to the API root, without query string); `user_message` our Swedish
    explanation with the fix.
    """

    default_user_message = "Något gick fel i kontakten med Fortnox. Försök igen om en stund."

    def __init__(
        self,
        message: str,
        *,
        code: int | None = None,
        status: int | None = None,
        method: str | None = None,
        path: str | None = None,
        user_message: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status
        self.method = method
        self.path = path
        self.user_message = (
            user_message
            or (USER_MESSAGES.get(code) if code is not None else None)
            or self.default_user_message
        )

    def __str__(self) -> str:
        parts = [self.message]
        if self.code is not None:
            parts.append(f"code {self.code}")
        if self.status is not None:
            parts.append(f"HTTP {self.status}")
        if self.method and self.path:
            parts.append(f"{self.method} {self.path}")
        return " · ".join(parts)


class FortnoxValidationError(FortnoxError):
    """Fortnox refused what we sent (400 with ErrorInformation). Repeating it will not help."""

    default_user_message = (
        "Fortnox godtog inte uppgifterna. Rätta det Fortnox anger nedan och skicka igen."
    )


class FortnoxAuthError(FortnoxError):
    """The access token was refused and refreshing did not help, or the token endpoint
    refused our client credentials. The user must connect again."""

    default_user_message = "Ordna kunde inte logga in i Fortnox. " + _FIX_RECONNECT


class FortnoxAuthorizationRevoked(FortnoxAuthError):
    """Fortnox refused the refresh token (`invalid_grant`): the authorisation was withdrawn,
    expired (45 days unused, FACTS.md §1) or its refresh token was spent elsewhere."""

    default_user_message = (
        "Kopplingen till Fortnox har upphört (behörigheten har dragits tillbaka eller gått ut). "
        + _FIX_RECONNECT
    )


class FortnoxPermissionError(FortnoxError):
    """The Fortnox account lacks the licence or the connected user the permission
    (scope, module licence, register permission)."""

    default_user_message = (
        "Fortnox-kontot eller användaren som anslöt saknar behörighet eller licens för detta. "
        "Kontrollera licenser och behörigheter i Fortnox och anslut sedan igen."
    )


class FortnoxNotFound(FortnoxError):
    """The resource does not exist in Fortnox (404)."""

    default_user_message = (
        "Posten finns inte i Fortnox (den kan ha tagits bort där). " + _FIX_REGISTERS
    )


class FortnoxRateLimited(FortnoxError):
    """Fortnox kept answering 429 after every retry. `retry_after` is the last wait Fortnox
    asked for, in seconds, when it sent one."""

    default_user_message = (
        "Fortnox tar emot för många anrop just nu. Ordna försöker igen automatiskt; vänta en stund."
    )

    def __init__(self, message: str, *, retry_after: float | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.retry_after = retry_after


class FortnoxServerError(FortnoxError):
    """Fortnox answered 5xx on every attempt of a request that is safe to repeat."""

    default_user_message = "Fortnox har tillfälliga problem. Försök igen om en stund."


class FortnoxConnectionError(FortnoxError):
    """No answer from Fortnox (connection refused, dropped, timed out) on every attempt of a
    request that is safe to repeat, or the shared token lock could not be taken in time."""

    default_user_message = "Ordna fick ingen kontakt med Fortnox. Försök igen om en stund."


class FortnoxUncertainError(FortnoxError):
    """A request that must not be repeated blindly (a create, an e-mail, createinvoice) may
    have reached Fortnox, but no answer says whether it was carried out: a 5xx, a timeout or a
    dropped connection after sending.

    `payload` is the JSON body that was sent (or None) and `reason` what went wrong. The send
    layer looks the document up by its reference (ExternalInvoiceReference1 — orders and invoices
    are searchable by it — FACTS.md §9: Fortnox has no idempotency key) before creating it again.
    """

    default_user_message = (
        "Fortnox svarade inte säkert på om dokumentet skapades. Ordna kontrollerar i Fortnox "
        "innan något skickas igen."
    )

    def __init__(
        self, message: str, *, payload: Mapping[str, Any] | None = None, reason: str, **kw: Any
    ) -> None:
        super().__init__(message, **kw)
        self.payload = payload
        self.reason = reason


def _as_int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    return None


def parse_error_information(body: object) -> tuple[int | None, str | None]:
    """Fortnox's (code, message) from an error body, or (None, None).

    FACTS.md §3: `{"ErrorInformation": {"error": 1, "message": "…", "code": 2000423}}` with
    lower-case keys (official page) or capitalised keys (Spec, live), and `code` as an integer
    or a string ("2000588"). Key casing is ignored at both levels.
    """
    if not isinstance(body, Mapping):
        return None, None
    info = next((v for k, v in body.items() if str(k).lower() == "errorinformation"), None)
    if not isinstance(info, Mapping):
        return None, None
    fields = {str(k).lower(): v for k, v in info.items()}
    message = fields.get("message")
    return _as_int(fields.get("code")), (str(message) if message is not None else None)


def error_code_of(body: object) -> int | None:
    """Fortnox's error code from an error body, or None."""
    return parse_error_information(body)[0]


def is_auth_failure(status: int, code: int | None) -> bool:
    """True for an answer that means "access token refused": 401, or 403 carrying
    2000310/2000311 (FACTS.md §3 — whether the gateway sends 401 is UNCONFIRMED)."""
    return status == 401 or (status == 403 and code in AUTH_CODES)


def error_from_response(
    status: int, body: object, *, method: str | None = None, path: str | None = None
) -> FortnoxError:
    """The typed error for a failed Fortnox answer.

    `body` is the decoded JSON body (or None when it was not JSON). The class follows the
    Fortnox code where it is decisive (auth and permission codes), else the HTTP status;
    any other 4xx is a validation error.
    """
    code, fortnox_message = parse_error_information(body)
    message = fortnox_message or f"Fortnox answered HTTP {status}"
    kw: dict[str, Any] = {"code": code, "status": status, "method": method, "path": path}
    cls: type[FortnoxError]
    if is_auth_failure(status, code) or code in AUTH_CODES:
        cls = FortnoxAuthError
    elif code in PERMISSION_CODES or status == 403:
        cls = FortnoxPermissionError
    elif status == 404:
        cls = FortnoxNotFound
    elif status == 429:
        cls = FortnoxRateLimited
    elif status >= 500:
        cls = FortnoxServerError
    else:
        cls = FortnoxValidationError
    return cls(message, **kw)
