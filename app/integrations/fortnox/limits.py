"""The Fortnox field limits our payloads keep to.

Fortnox's current OpenAPI document (``shared/fortnox/openapi.json``, snapshot 2026-04-01) allows
255 characters in a row ``Description`` and 75 in ``YourOrderNumber``; older Fortnox
documentation and Fortnox support (accodeing/fortnox-api issue #66, ``document_row.rb``) say 50
and 30. Which limit the live server enforces is unconfirmed, so we keep to the most conservative
known value everywhere (``shared/fortnox/FACTS.md`` §4, ``spec/fortnox-settings.md`` intro).
"""

from typing import Final

# Row texts: FACTS.md §4 — legacy docs 50 (accodeing document_row.rb), Spec 255. We use 50.
ROW_DESCRIPTION: Final = 50

# Header references: FACTS.md §4 and Spec (``maxLength: 50`` on orders and invoices).
OUR_REFERENCE: Final = 50
YOUR_REFERENCE: Final = 50

# FACTS.md §4 — Fortnox support to accodeing (issue #66): 30; Spec says 75. We use 30.
YOUR_ORDER_NUMBER: Final = 30

# FACTS.md §4/§5 and Spec (``maxLength: 1024`` on Remarks; Comments 1024 on invoices).
REMARKS: Final = 1024
COMMENTS: Final = 1024

# FACTS.md §4/§5 — ExternalInvoiceReference1/2 max 80 (Spec on invoices; accodeing #66).
EXTERNAL_INVOICE_REFERENCE: Final = 80

# Spec: OrderRow/InvoiceRow ``Unit`` maxLength 20; FACTS.md §6: unit codes 1–20.
UNIT: Final = 20

# FACTS.md §6: Articles ``ArticleNumber`` max 50.
ARTICLE_NUMBER: Final = 50

# FACTS.md §6: cost-center ``Code`` 1–6 characters.
COST_CENTER_CODE: Final = 6

# FACTS.md §6: terms-of-delivery ``Code`` 1–20, way-of-delivery ``Code`` 1–50.
TERMS_OF_DELIVERY_CODE: Final = 20
WAY_OF_DELIVERY_CODE: Final = 50

# Spec ``fortnox_Lon_AttendanceTransactionsSinglePayloadItem``: ``EmployeeId`` 1–15 characters,
# ``CauseCode`` exactly 3 characters from this enumeration (FACTS.md §7).
EMPLOYEE_ID: Final = 15
ATTENDANCE_CAUSE_CODES: Final = frozenset(
    {
        "ARB", "BE2", "BER", "FLX", "HLG", "JO2", "JOR", "MER", "OB1", "OB2", "OB3", "OB4",
        "OB5", "OK0", "OK1", "OK2", "OK3", "OK4", "OK5", "OT1", "OT2", "OT3", "OT4", "OT5",
        "RES", "TID",
    }
)  # fmt: skip

# The ellipsis that ends a header text cut to its limit (fortnox-settings.md §9).
ELLIPSIS: Final = "…"
