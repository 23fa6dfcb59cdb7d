"""Fortnox's error answers: ``{"ErrorInformation": {"error": 1, "message": …, "code": …}}``.

The body uses the lower-case keys of Fortnox's official responses page (FACTS.md §3: "Simulator:
emit the lower-case official form by default"); ``SANDBOX_ERROR_KEYS = "capitalised"`` switches
to the ``Error``/``Message``/``Code`` form that live responses also show.

Each code below names its source. Codes marked UNCONFIRMED are the sandbox's choice where no
public source gives Fortnox's code for that situation; a client must not depend on them beyond
"a 4xx with an ErrorInformation body".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Code:
    code: int
    status: int
    message: str  # may hold {placeholders}


# FACTS.md §3 official table.
SYSTEM_EXCEPTION = Code(1000003, 500, "System exception")
INVALID_RESPONSE_TYPE = Code(1000030, 400, "Invalid response type")  # FACTS.md §2 (Accept)
INVALID_CONTENT_TYPE = Code(1000031, 400, "Invalid content type")
MUST_BE_ALPHANUMERIC = Code(2000106, 400, "Värdet måste vara alfanumeriskt ({value})")
MUST_BE_NUMERIC = Code(2000108, 400, "Värdet måste vara numeriskt ({value})")
MUST_BE_BOOLEAN = Code(2000134, 400, "Värdet måste vara en boolean ({value})")
INVALID_LOGIN = Code(2000310, 401, "Ogiltig inloggning")
MISSING_LOGIN = Code(2000311, 401, "Kan inte logga in, access-token eller client-secret saknas(2).")
INVALID_PARAMETER = Code(2000588, 400, "Ogiltig parameter i anropet.")
CUSTOMER_NUMBER_USED = Code(
    2000637,
    400,
    "Kundnummer {value} används redan. Kundnumret har redan använts men blivit raderat.",
)
EMPTY_OR_INCORRECT_BODY = Code(2001392, 400, "Ingen eller felaktig typ av data.")
JSON_SYNTAX = Code(2002115, 400, "Error deserializing JSON: JSON_ERROR_SYNTAX")
# "Felaktigt fältnamn (Quantity)": public client code quotes the field in parentheses
# (FACTS.md §3 gives the code and text).
INVALID_FIELD_NAME = Code(2001399, 400, "Felaktigt fältnamn ({field})")
# FACTS.md §3 "seen in the wild".
ARTICLE_NUMBER_USED = Code(2000013, 400, "Artikelnumret {value} är redan taget.")
INACTIVE_COST_CENTER = Code(2000947, 400, "Kostnadsstället {value} är inaktivt eller saknas.")
# A public client's copy of the official error table (same table as FACTS.md §3, more rows):
# 2000204/2000433 customer not available, 2001302 article used in request not found,
# 2000428 article not found, 2000663 no access to scope.
CUSTOMER_NOT_FOUND = Code(2000204, 400, "Kunde inte hitta kund ({value})")
CUSTOMER_NOT_FOUND_404 = Code(2000433, 404, "Kunde inte hitta kund ({value})")
ARTICLE_NOT_FOUND_ON_ROW = Code(2001302, 400, "Kunde inte hitta artikel ({value})")
ARTICLE_NOT_FOUND_404 = Code(2000428, 404, "Kan inte hitta artikeln.")
NO_SCOPE_ACCESS = Code(2000663, 403, "Har inte behörighet för scope.")
# UNCONFIRMED (sandbox's choice, see module docstring).
VALUE_INVALID = Code(2001392, 400, "Ogiltigt värde för {field}: {detail}")
REGISTER_CODE_NOT_FOUND = Code(2001392, 400, "{what} {value} finns inte.")
NOT_FOUND = Code(2000729, 404, "Kan inte hitta {what} ({value}).")
DOCUMENT_LOCKED = Code(2003125, 400, "{detail}")
INACTIVE_ARTICLE = Code(2001302, 400, "Artikeln {value} är inaktiv och kan inte användas.")
ALREADY_EXISTS = Code(2001392, 400, "{what} {value} finns redan.")
RATE_LIMITED = Code(0, 429, "Too Many Requests")


class FortnoxError(Exception):
    """Raised inside the sandbox to answer with a Fortnox ErrorInformation body."""

    def __init__(self, code: Code, status: int | None = None, **values: Any) -> None:
        self.code = code
        self.status = status or code.status
        try:
            self.message = code.message.format(**values)
        except KeyError:
            self.message = code.message
        super().__init__(self.message)


def error_body(code: int, message: str, keys: str = "lower") -> dict[str, Any]:
    """The ErrorInformation body in the configured key casing (FACTS.md §3)."""
    if keys == "capitalised":
        return {"ErrorInformation": {"Error": 1, "Message": message, "Code": code}}
    return {"ErrorInformation": {"error": 1, "message": message, "code": code}}
