"""Text cells for CSV and Excel files we hand out, safe against formula injection: a cell that
starts with ``=``, ``+``, ``-``, ``@`` (or a tab or carriage return, which some programs skip)
would be run as a formula by Excel or LibreOffice. Such text gets a leading apostrophe in CSV
(the OWASP advice `defusedcsv` follows); in an .xlsx cell it is stored as text, never a
formula."""

from __future__ import annotations

from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def is_formula_like(value: object) -> bool:
    return isinstance(value, str) and value.startswith(FORMULA_STARTS)


def csv_text(value: object) -> object:
    """A value for a CSV cell: formula-like text gets a leading apostrophe."""
    return "'" + value if is_formula_like(value) else value  # type: ignore[operator]


def xlsx_row(sheet: Any, values: list[object]) -> None:
    """Append ``values`` to an openpyxl sheet with every text cell stored as text."""
    sheet.append(values)
    row = sheet.max_row
    for column, value in enumerate(values, start=1):
        if is_formula_like(value):
            cell = sheet.cell(row=row, column=column)
            cell.value = value
            cell.data_type = "s"  # openpyxl made it a formula ("=…"); keep it a string
            cell.quotePrefix = True
