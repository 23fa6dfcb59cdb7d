"""The sandbox's own description of the Fortnox API v3 it emulates.

Fortnox's official OpenAPI file is not ours and never lives in this repository, so a fresh
clone has none. This module is what the sandbox knows without it: for every resource it
emulates, the fields a client may write (name, type, enum, length limits, nested objects and
rows), which fields are read-only (answered, never accepted: FACTS.md §3 2001399, §4, §5), which
are required on create, the property lists of the answers (what ``resources.present()`` fills),
and the operations (method and path template, body, success status, declared query
parameters). :mod:`.schema` compiles it with the same rules as the official file and, when that
file is present, checks every body against both.

It is written from FACTS.md (``../shared/fortnox/FACTS.md``, cited by section) and from reading
the official description's schemas; where FACTS.md knows a limit the official snapshot lacks
(``schema.EXTRA_LIMITS``, ``schema.EXTRA_PROPERTIES``) the limit is part of the field here.
``tests/sandbox/test_own_description.py`` checks it against the official file wherever that
exists: same operations and property lists, and no body the official description refuses is
accepted here.

The declarations are a small vocabulary of field kinds (:func:`text`, :func:`number`,
:func:`integer`, :data:`BOOLEAN`, :data:`DATE`, :func:`choice`, :func:`nested`, :func:`rows`,
:data:`READ_ONLY`) grouped into :class:`Component` objects. Property lists come out in the
official order, which is alphabetical (Python's ``sorted``). :func:`components` renders them as
OpenAPI 3.0 schema objects, the dialect :mod:`.schema` already compiles.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any

__all__ = [
    "BOOLEAN",
    "COMPONENTS",
    "DATE",
    "DATETIME",
    "OPERATIONS",
    "READ_ONLY",
    "Component",
    "Field",
    "Operation",
    "choice",
    "components",
    "integer",
    "nested",
    "number",
    "rows",
    "same",
    "text",
]

_REF = "#/components/schemas/"


# ------------------------------------------------------------------------------- vocabulary
@dataclass(frozen=True)
class Field:
    """One property. ``type`` None: a read-only field whose value is not described."""

    type: str | None = None
    format: str | None = None
    max_length: int | None = None
    min_length: int | None = None
    minimum: int | None = None
    maximum: int | None = None
    enum: tuple[str, ...] = ()
    nullable: bool = False
    ref: Component | None = None  # the nested object, or the items of an array
    read_only: bool = False

    def node(self, response: bool = False) -> dict[str, Any]:
        """The field as an OpenAPI 3.0 schema object (``response``: refs to answer shapes)."""
        if self.read_only or self.type is None:
            return {}
        if self.ref is not None:
            target = self.ref.single if response else self.ref.name
            ref: dict[str, Any] = {"$ref": _REF + target} if target else {}
            return {"type": "array", "items": ref} if self.type == "array" else ref
        node: dict[str, Any] = {"type": self.type}
        for key, value in (
            ("format", self.format),
            ("maxLength", self.max_length),
            ("minLength", self.min_length),
            ("minimum", self.minimum),
            ("maximum", self.maximum),
        ):
            if value is not None:
                node[key] = value
        if self.enum:
            node["enum"] = list(self.enum)
        if self.nullable:
            node["nullable"] = True
        return node


def text(
    max_length: int | None = None, *, min_length: int | None = None, nullable: bool = False
) -> Field:
    """A string, at most ``max_length`` characters."""
    return Field("string", max_length=max_length, min_length=min_length, nullable=nullable)


def choice(*values: str, length: int | None = None) -> Field:
    """A string that must be one of ``values`` (``length``: also exactly that long)."""
    return Field("string", enum=values, max_length=length, min_length=length)


def number(
    *, minimum: int | None = None, maximum: int | None = None, nullable: bool = False
) -> Field:
    """A JSON number (decimals allowed)."""
    return Field("number", minimum=minimum, maximum=maximum, nullable=nullable)


def integer(
    minimum: int | None = None, maximum: int | None = None, *, nullable: bool = False
) -> Field:
    """A whole JSON number."""
    return Field("integer", minimum=minimum, maximum=maximum, nullable=nullable)


def nested(component: Component) -> Field:
    """An object described by ``component``."""
    return Field("object", ref=component)


def rows(component: Component) -> Field:
    """An array of objects described by ``component``."""
    return Field("array", ref=component)


BOOLEAN = Field("boolean")
DATE = Field("string", "date")  # a real YYYY-MM-DD date
DATETIME = Field("string", "date-time")
READ_ONLY = Field(read_only=True)  # in answers only; sending it is 2001399 (FACTS.md §3)


def same(kind: Field, names: str) -> dict[str, Field]:
    """``kind`` for each of the space-separated ``names``."""
    return {name: kind for name in names.split()}


@dataclass(frozen=True, eq=False)
class Component:
    """A resource or nested object: its write schema, its answers and its wrapper.

    ``name`` is the official name of the write schema (``…SinglePayloadItem``), None for a
    resource that is only read. ``single``/``listing`` name the answer schemas; a list item has
    the single answer's properties less ``list_drops`` plus ``list_adds``. ``wrapper`` is the key
    of the request body (``{"Order": {…}}``, component ``<name>_Wrap``, FACTS.md §2).
    """

    name: str | None
    fields: Mapping[str, Field]
    required: tuple[str, ...] = ()
    wrapper: str | None = None
    single: str | None = None
    listing: str | None = None
    list_adds: tuple[str, ...] = ()
    list_drops: tuple[str, ...] = ()

    @property
    def wrap(self) -> str | None:
        return f"{self.name}_Wrap" if self.name and self.wrapper else None

    def writable(self) -> dict[str, Field]:
        return {n: f for n, f in sorted(self.fields.items()) if not f.read_only}

    def answered(self) -> dict[str, Field]:
        return dict(sorted(self.fields.items()))

    def listed(self) -> dict[str, Field]:
        names = (set(self.fields) - set(self.list_drops)) | set(self.list_adds)
        return {n: self.fields.get(n, READ_ONLY) for n in sorted(names)}


# ------------------------------------------------------------------------------- documents
# Enum of the rows' HouseWorkType (spec, order and invoice row payloads).
HOUSE_WORK_TYPES = (
    "CONSTRUCTION ELECTRICITY GLASSMETALWORK GROUNDDRAINAGEWORK MASONRY PAINTINGWALLPAPERING "
    "HVAC MAJORAPPLIANCEREPAIR MOVINGSERVICES ITSERVICES CLEANING TEXTILECLOTHING SNOWPLOWING "
    "GARDENING BABYSITTING OTHERCARE OTHERCOSTS SOLARCELLS STORAGESELFPRODUCEDELECTRICITY "
    "CHARGINGSTATIONELECTRICVEHICLE HOMEMAINTENANCE FURNISHING TRANSPORTATIONSERVICES "
    "WASHINGANDCAREOFCLOTHING"
).split()

EMAIL_INFORMATION = Component(
    "fortnox_DocumentEmailFieldSinglePayloadItem",
    {
        # FACTS.md §4: EmailInformation{EmailAddressFrom/To/CC/BCC, EmailSubject(max 100),
        # EmailBody(max 20000)}.
        **same(text(), "EmailAddressBCC EmailAddressCC EmailAddressFrom EmailAddressTo"),
        "EmailBody": text(20000),
        "EmailSubject": text(100),
    },
    single="fortnox_DocumentEmailFieldSingleItem",
)
LABEL = Component("fortnox_OOF_DocumentTagsOnDocumentSinglePayloadItem", {"Id": integer()})
EDI_INFORMATION = Component(
    "fortnox_DocumentEDIFieldSinglePayloadItem",
    {
        # FACTS.md §5: EDIInformation{EDIGlobalLocationNumber(13), …}.
        **same(text(13), "EDIGlobalLocationNumber EDIGlobalLocationNumberDelivery"),
        **same(text(), "EDIInvoiceExtra1 EDIInvoiceExtra2 EDIOurElectronicReference"),
        "EDIYourElectronicReference": text(),
    },
)

# A document row, as orders and invoices share it (FACTS.md §4 "OrderRow"): quantities are
# strings in the spec, Description max 255 (the legacy 50 is schema.LEGACY_LIMITS), Unit 20.
ROW: dict[str, Field] = {
    "ArticleNumber": text(),
    "Cost": number(minimum=-9999999999, maximum=9999999999, nullable=True),
    "CostCenter": text(nullable=True),
    "DeliveredQuantity": text(),
    "Description": text(255),
    "Discount": number(),
    "DiscountType": choice("AMOUNT", "PERCENT"),
    "HouseWork": BOOLEAN,
    "HouseWorkHoursToReport": integer(0, 999, nullable=True),
    "HouseWorkType": choice(*HOUSE_WORK_TYPES),
    "Price": number(),
    "Project": text(),
    "StockPointCode": text(),
    "Unit": text(20),
    "VATCode": text(),
    **same(READ_ONLY, "ContributionPercent ContributionValue Total"),
}
ORDER_ROW = Component(
    "fortnox_Order_OrderRowSinglePayloadItem",
    {
        **ROW,
        "AccountNumber": integer(),
        "OrderedQuantity": text(),
        # FACTS.md §4 "Row update semantics": PUT matches rows by RowId; Spec-Feb and the PUT
        # description have it although this snapshot's order-row payload dropped it.
        "RowId": integer(),
        "StockPointId": text(),
        "VAT": number(),
        "ReservedQuantity": READ_ONLY,
    },
    single="fortnox_Order_OrderRowSingleItem",
)
INVOICE_ROW = Component(
    "fortnox_Kf_InvoiceRowSinglePayloadItem",
    {
        **ROW,
        # FACTS.md §5: "InvoiceRow adds RowId (writable), AccountNumber (1000–9999),
        # PriceExcludingVAT, TotalExcludingVAT; VAT is int".
        "AccountNumber": integer(1000, 9999),
        "RowId": integer(),
        "VAT": integer(),
        **same(READ_ONLY, "PriceExcludingVAT TotalExcludingVAT"),
    },
    single="fortnox_Kf_InvoiceRowSingleItem",
)

# The header orders and invoices share (FACTS.md §5: invoices take "the same header set as
# orders"). Address, phone and delivery texts are 1024 and Currency 3 on both (FACTS.md §4
# "Field-length caveats", accodeing/fortnox-api#66; §5), references 50, YourOrderNumber 75 (the
# legacy 30 is schema.LEGACY_LIMITS), Remarks 1024, ExternalInvoiceReference1/2 80 (§4, §5).
HEADER: dict[str, Field] = {
    **same(
        text(1024),
        "Address1 Address2 City Comments CustomerName DeliveryAddress1 DeliveryAddress2 "
        "DeliveryCity DeliveryName DeliveryZipCode Phone1 Phone2 ZipCode",
    ),
    **same(number(), "AdministrationFee CurrencyRate Freight"),
    **same(
        text(),
        "CostCenter Country CustomerNumber DeliveryCountry DocumentNumber PriceList "
        "PrintTemplate Project TermsOfDelivery TermsOfPayment WayOfDelivery",
    ),
    "Currency": text(3),
    "DeliveryDate": DATE,
    "EmailInformation": nested(EMAIL_INFORMATION),
    **same(text(80), "ExternalInvoiceReference1 ExternalInvoiceReference2"),
    "Labels": rows(LABEL),
    "NotCompleted": BOOLEAN,
    "OurReference": text(50),
    "OutboundDate": DATE,
    "Remarks": text(1024),
    "TaxReductionType": choice("none", "rot", "rut", "green"),
    "VATIncluded": BOOLEAN,
    "YourOrderNumber": text(75),
    "YourReference": text(50),
    # Computed or set by actions, never written (FACTS.md §4 "Read-only", §5).
    **same(
        READ_ONLY,
        "@url @urlTaxReductionList AdministrationFeeVAT BasisTaxReduction Cancelled "
        "ContributionPercent ContributionValue FreightVAT Gross HouseWork InvoiceReference Net "
        "OfferReference RoundOff Sent TaxReduction TimeBasisReference Total TotalToPay "
        "TotalVAT WarehouseReady",
    ),
}
ORDER = Component(
    "fortnox_Order_OrderSinglePayloadItem",
    {
        # FACTS.md §4 "Order fields".
        **HEADER,
        "CopyRemarks": BOOLEAN,
        "CurrencyUnit": number(),
        "DeliveryState": choice("registration", "reservation", "delivery"),
        "Language": text(),
        "OrderDate": DATE,
        "OrderRows": rows(ORDER_ROW),
        "OrganisationNumber": text(),
        "StockPointCode": text(),
        "StockPointId": text(),
        "OrderType": READ_ONLY,
    },
    required=("CustomerNumber",),
    wrapper="Order",
    single="fortnox_Order_OrderSingleItem",
    listing="fortnox_Order_OrderListItem",
)
INVOICE = Component(
    "fortnox_Kf_InvoiceSinglePayloadItem",
    {
        # FACTS.md §5 "Writable invoice fields".
        **HEADER,
        "CreditInvoiceReference": text(),
        "CurrencyUnit": integer(),
        "DueDate": DATE,
        "EDIInformation": nested(EDI_INFORMATION),
        "EUQuarterlyReport": BOOLEAN,
        "InvoiceDate": DATE,
        "InvoiceRows": rows(INVOICE_ROW),
        "InvoiceType": choice(
            "INVOICE", "AGREEMENTINVOICE", "INTRESTINVOICE", "SUMMARYINVOICE", "CASHINVOICE"
        ),
        "Language": choice("SV", "EN"),
        "OCR": text(),
        "PaymentWay": text(),
        # FACTS.md §5 "Read-only" (OrganisationNumber too, unlike on orders).
        **same(
            READ_ONLY,
            "AccountingMethod Balance Booked ContractReference Credit FinalPayDate "
            "InvoicePeriodEnd InvoicePeriodReference InvoicePeriodStart LastRemindDate NoxFinans "
            "OrderReference OrganisationNumber Reminders VoucherNumber VoucherSeries VoucherYear",
        ),
    },
    required=("CustomerNumber",),
    wrapper="Invoice",
    single="fortnox_Kf_InvoiceSingleItem",
    listing="fortnox_Kf_InvoiceListItem",
    list_drops=("InvoicePeriodReference",),
)

# ------------------------------------------------------------------------------- registers
DEFAULT_DELIVERY_TYPES = Component(
    "fortnox_DefaultDeliveryTypesSinglePayloadItem",
    same(choice("PRINT", "EMAIL", "PRINTSERVICE"), "Invoice Offer Order"),  # FACTS.md §6
)
DEFAULT_TEMPLATES = Component(
    "fortnox_DefaultTemplatesSinglePayloadItem", same(text(), "CashInvoice Invoice Offer Order")
)
CUSTOMER = Component(
    "fortnox_Kf_CustomerSinglePayloadItem",
    {
        # FACTS.md §6 "Customers": Name 1–1024, CustomerNumber ≤1024, ZipCode 10, CountryCode 2,
        # Currency 3, e-mails 1024, OrganisationNumber 30, references 50, GLN 13, Visiting* and
        # WWW 128, Type and VATType enums, DefaultDeliveryTypes.
        "Name": text(1024, min_length=1),
        "Address1": text(1024, min_length=1),
        **same(
            text(1024),
            "Address2 City Comments CustomerNumber DeliveryAddress1 DeliveryAddress2 "
            "DeliveryCity DeliveryCountry DeliveryFax DeliveryName DeliveryPhone1 DeliveryPhone2 "
            "Email EmailInvoice EmailInvoiceBCC EmailInvoiceCC EmailOffer EmailOfferBCC "
            "EmailOfferCC EmailOrder EmailOrderBCC EmailOrderCC ExternalReference Fax "
            "InvoiceRemark Phone1 Phone2",
        ),
        **same(text(10), "DeliveryZipCode VisitingZipCode ZipCode"),
        **same(text(2, min_length=2), "CountryCode DeliveryCountryCode VisitingCountryCode"),
        **same(text(128), "VisitingAddress VisitingCity VisitingCountry WWW"),
        **same(text(13, min_length=13), "GLN GLNDelivery"),
        **same(text(50), "OurReference YourReference"),
        **same(
            text(),
            "CostCenter Country InvoiceAdministrationFee InvoiceFreight PriceList Project "
            "TermsOfDelivery TermsOfPayment VATNumber WayOfDelivery",
        ),
        "Currency": text(3, min_length=3),
        "OrganisationNumber": text(30),
        "SalesAccount": text(4, min_length=4),  # a string of four digits in the spec
        "InvoiceDiscount": number(),
        **same(BOOLEAN, "Active ShowPriceVATIncluded"),
        "Type": choice("PRIVATE", "COMPANY"),
        "VATType": choice("SEVAT", "SEREVERSEDVAT", "EUREVERSEDVAT", "EUVAT", "EXPORT"),
        "DefaultDeliveryTypes": nested(DEFAULT_DELIVERY_TYPES),
        "DefaultTemplates": nested(DEFAULT_TEMPLATES),
        "@url": READ_ONLY,
    },
    required=("Name",),
    wrapper="Customer",
    single="fortnox_Kf_CustomerSingleItem",
    listing="fortnox_Kf_CustomerListItem",
    list_adds=("Phone",),
)

# Enum of an article's HouseworkType (spec; not the rows' list).
ARTICLE_HOUSEWORK_TYPES = (
    "CONSTRUCTION ELECTRICITY GLASSMETALWORK GROUNDDRAINAGEWORK MASONRY PAINTINGWALLPAPERING "
    "HVAC CLEANING TEXTILECLOTHING COOKING SNOWPLOWING GARDENING BABYSITTING OTHERCARE TUTORING "
    "FURNISHING HOMEMAINTENANCE TRANSPORTATIONSERVICES WASHINGANDCAREOFCLOTHING SOLARCELLS "
    "STORAGESELFPRODUCEDELECTRICITY CHARGINGSTATIONELECTRICVEHICLE EMPTYHOUSEWORK OTHERCOSTS"
).split()
ARTICLE = Component(
    "fortnox_ArticleSinglePayloadItem",
    {
        # FACTS.md §6 "Articles": Description 1–200, ArticleNumber 50, EAN 30, Manufacturer and
        # ManufacturerArticleNumber 50, Note 10000, StockPlace 100, accounts 1000–99999,
        # Type STOCK|SERVICE.
        "Description": text(200, min_length=1),
        "ArticleNumber": text(50),
        "EAN": text(30),
        **same(text(50), "Manufacturer ManufacturerArticleNumber"),
        "Note": text(10000),
        "StockPlace": text(100),
        **same(
            text(),
            "CostCalculationMethod DefaultStockLocation DefaultStockPoint SupplierName "
            "SupplierNumber Unit",
        ),
        **same(
            integer(1000, 99999),
            "ConstructionAccount EUAccount EUVATAccount ExportAccount PurchaseAccount SalesAccount",
        ),
        **same(integer(), "StockAccount StockChangeAccount"),
        **same(integer(0, 999999999), "Depth Height Weight Width"),
        **same(
            number(),
            "DirectCost DisposableQuantity FreightCost OtherCost PurchasePrice QuantityInStock "
            "ReservedQuantity SalesPrice StockValue StockWarning VAT",
        ),
        **same(BOOLEAN, "Active Bulky Expired Housework StockGoods WebshopArticle"),
        "HouseworkType": choice(*ARTICLE_HOUSEWORK_TYPES),
        "Type": choice("STOCK", "SERVICE"),
        **same(READ_ONLY, "@url CommodityCode"),
    },
    required=("Description",),
    wrapper="Article",
    single="fortnox_ArticleSingleItem",
    listing="fortnox_ArticleListItem",
)
COST_CENTER = Component(
    "fortnox_CostCenterSinglePayloadItem",
    {
        # FACTS.md §6 "Cost centers": Code 1–6, Description required, Active, Note.
        "Code": text(6, min_length=1),
        "Description": text(2**31 - 1, min_length=1),  # the spec's limit, i.e. none
        "Active": BOOLEAN,
        "Note": text(),
        "@url": READ_ONLY,
    },
    required=("Code", "Description"),
    wrapper="CostCenter",
    single="fortnox_CostCenterSingleItem",
)
TERMS_OF_DELIVERY = Component(
    "fortnox_Kf_TermsOfDeliverySinglePayloadItem",
    {
        # FACTS.md §6: Code 1–20, Description ≤200, DescriptionEnglish.
        "Code": text(20, min_length=1),
        "Description": text(200),
        "DescriptionEnglish": text(100),
        "@url": READ_ONLY,
    },
    required=("Code", "Description"),
    wrapper="TermsOfDelivery",
    single="fortnox_Kf_TermsOfDeliverySingleItem",
)
WAY_OF_DELIVERY = Component(
    "fortnox_WayOfDeliverySinglePayloadItem",
    {
        # FACTS.md §6: Code 1–50, Description ≤100.
        "Code": text(50, min_length=1),
        **same(text(100), "Description DescriptionEnglish"),
        "@url": READ_ONLY,
    },
    required=("Code",),
    wrapper="WayOfDelivery",
    single="fortnox_WayOfDeliverySingleItem",
)
UNIT = Component(
    "fortnox_UnitSinglePayloadItem",
    {
        # FACTS.md §6: Code 1–20, Description 1–100, CodeEnglish.
        "Code": text(20, min_length=1),
        "Description": text(100, min_length=1),
        "CodeEnglish": text(100),
        "@url": READ_ONLY,
    },
    required=("Code", "Description"),
    wrapper="Unit",
    single="fortnox_UnitSingleItem",
)
PRICE_LIST = Component(
    "fortnox_PriceListSinglePayloadItem",
    {
        # FACTS.md §6 "Prices": Code ≤100, Description ≤50, PreSelected, Comments.
        "Code": text(100, min_length=1),
        "Description": text(50, min_length=1),
        "Comments": text(),
        "PreSelected": BOOLEAN,
        "@url": READ_ONLY,
    },
    required=("Code", "Description"),
    wrapper="PriceList",
    single="fortnox_PriceListSingleItem",
)
PRICE = Component(
    "fortnox_PriceSinglePayloadItem",
    {
        # FACTS.md §6: Price = {ArticleNumber, PriceList, FromQuantity, Price, Percent, Date}.
        **same(text(), "ArticleNumber PriceList"),
        **same(number(), "FromQuantity Percent Price"),
        "Date": DATETIME,
        "@url": READ_ONLY,
    },
    required=("ArticleNumber", "PriceList"),
    wrapper="Price",
    single="fortnox_PriceSingleItem",
    listing="fortnox_PriceListItem",
)
COMPANY_INFORMATION = Component(
    None,
    same(
        # GET /3/companyinformation (FACTS.md §6): read only.
        READ_ONLY,
        "Address City CompanyName CountryCode DatabaseNumber OrganizationNumber VisitAddress "
        "VisitCity VisitCountryCode VisitZipCode ZipCode",
    ),
    single="fortnox_CompanyInformationSingleItem",
)

# ------------------------------------------------------------------------------- salary
# Employees and attendance transactions (FACTS.md §7, scope salary). FACTS.md names no employee
# fields; these are the spec's fortnox_Lon_EmployeeSinglePayloadItem and its lists.
EMPLOYEE_ID = text(15, min_length=1)
DATED_SALARY_SUPPLEMENT = Component(
    "fortnox_Lon_DatedSalarySupplementListPayloadItem",
    {
        "EmployeeId": text(),
        "FirstDay": DATE,
        **same(number(), "FixedSalarySupplement VariableSalarySupplement"),
    },
)
DATED_SCHEDULE = Component(
    "fortnox_Lon_DatedScheduleListPayloadItem",
    {"EmployeeId": EMPLOYEE_ID, "FirstDay": DATE, "ScheduleId": text()},
    required=("EmployeeId", "FirstDay"),
)
DATED_WAGE = Component(
    "fortnox_Lon_DatedWageListPayloadItem",
    {"EmployeeId": EMPLOYEE_ID, "FirstDay": DATE, **same(text(), "HourlyPay MonthlySalary")},
    required=("EmployeeId", "FirstDay"),
)
EMPLOYEE_CHILD = Component(
    "fortnox_Lon_EmployeeChildListPayloadItem",
    {
        **same(integer(), "ApprovedDays IngoingWithdrawnDays"),
        **same(text(), "Child Id"),
        "EmployeeId": EMPLOYEE_ID,
        "WithdrawnDays": number(),
    },
    required=("ApprovedDays", "Child", "EmployeeId", "IngoingWithdrawnDays"),
)
INGOING_SICK_LEAVE = Component(
    "fortnox_Lon_IngoingSickLeaveListItem",
    {
        **same(text(), "EndDate FirstDay"),  # strings, not dates, in the spec
        **same(number(), "SickDaysCount SickWaitingPeriodDeduction"),
    },
    required=("FirstDay",),
)
OPENING_SALARY = Component(
    "fortnox_Lon_OpeningSalaryListPayloadItem",
    {
        "EmployeeId": EMPLOYEE_ID,
        **same(number(), "Amount Quantity Total VAT"),
        **same(
            text(),
            "Period ProductGroup QuantityUnit SalaryTypeName SalaryTypeNumber SortCode TextRow",
        ),
        "RowId": integer(),
    },
    required=("EmployeeId", "SalaryTypeNumber"),
)


def _years(prefix: str) -> str:
    return " ".join(f"{prefix}{year}" for year in ("1", "2", "3", "4", "5", "6Plus"))


def _vacation_days(prefix: str) -> str:
    saved_years = _years(prefix + "SavedYear")
    return f"{prefix}Paid {prefix}Prepaid {prefix}Saved {saved_years} {prefix}Unpaid"


FORA_TYPES = (
    "A",
    *(f"A{n}" for n in range(51, 87)),
    "A3",
    "A91",
    "A92",
    "A93",
    *(f"A{n}" for n in range(11, 31)),
    *(f"A{n}" for n in range(41, 49)),
    "T",
    "T6",
    "-",
)
EMPLOYEE = Component(
    "fortnox_Lon_EmployeeSinglePayloadItem",
    {
        "EmployeeId": EMPLOYEE_ID,
        "JobTitle": text(30),
        **same(
            text(),
            "Address1 Address2 AverageHourlyWage AverageWeeklyHours BankAccountNo City "
            "ClearingNo CostCenter Country Email FirstName FullName HourlyPay LastName "
            "MonthlySalary NonRecurringTax PersonalIdentityNumber Phone1 Phone2 PostCode Project "
            "ScheduleId TaxTable WorkingTimeEnumeration",
        ),
        **same(DATE, "EmployedTo EmploymentDate"),
        **same(
            BOOLEAN,
            "AutoNonRecurringTax Inactive VacationCalculationIncludeInCalculation "
            "VacationCalculationSameWagePercent VacationCalculationSoleCustody "
            "VacationCalculationSumOnlyNoDays",
        ),
        **same(
            number(),
            "ATFValue ATKValue AbsenceHoursNonVacationBased AbsenceHoursVacationBased "
            "AbsenceWorkdaysNonVacationBased AbsenceWorkdaysVacationBased CurrentCompBalance "
            "CurrentFlexBalance FullTimeEquivalent IngoingUsedHolidaySupplement "
            "IngoingUsedVacationDays InitialComp InitialFlex NonVacationBasedCalendarDaysPartial "
            "NonVacationBasedCalendarDaysWhole PreliminaryTaxDeducted VacationBasedAttendanceDays "
            "VacationBasedAttendanceHours VacationBasedCalendarDaysWhole VacationBasedSalaryTotal "
            "VacationBasedSalaryVariableAddition VacationBasedSalaryWorkedTime "
            "VacationCalculationAdvanceVacationDebt VacationCalculationTotalVacationSalarySum "
            "VacationCalculationVacationEntitlement VacationCalculationVariableAdditionSum",
        ),
        **same(number(), _vacation_days("VacationDays")),
        **same(number(), _vacation_days("VacationDaysPending")),
        **same(number(), _vacation_days("VacationDaysRegistered")),
        **same(number(), _years("VacationDaysSavedEmploymentRateYear")),
        "EmploymentForm": choice(*"TV PRO TID SVT VIK PRJ PRA FER SES NEJ".split()),
        "ForaType": choice(*FORA_TYPES),
        "PayslipType": choice("pdf", "digital", "kivra"),
        "PersonelType": choice("TJM", "ARB"),
        "SalaryForm": choice("MAN", "TIM"),
        "TaxAllowance": choice("HUV", "EXT", "TMP", "STU", "EJ", "???"),
        "TaxColumn": integer(1, 6),
        "DatedSalarySupplements": rows(DATED_SALARY_SUPPLEMENT),
        "DatedSchedules": rows(DATED_SCHEDULE),
        "DatedWages": rows(DATED_WAGE),
        "EmployeeChildren": rows(EMPLOYEE_CHILD),
        "IngoingSickLeave": rows(INGOING_SICK_LEAVE),
        "OpeningSalaries": rows(OPENING_SALARY),
        "EmployeeCategories": READ_ONLY,
    },
    required=("Email", "FirstName", "LastName"),
    wrapper="Employee",
    single="fortnox_Lon_EmployeeSingleItem",
    listing="fortnox_Lon_EmployeeListItem",
    list_adds=("@url",),  # the single answer has no @url, the list item does (spec)
)
# FACTS.md §7: required EmployeeId, Date, CauseCode; Hours is a string in the spec.
CAUSE_CODES = (
    "ARB BE2 BER FLX HLG JO2 JOR MER OB1 OB2 OB3 OB4 OB5 OK0 OK1 OK2 OK3 OK4 OK5 OT1 OT2 OT3 "
    "OT4 OT5 RES TID"
).split()
ATTENDANCE_TRANSACTION = Component(
    "fortnox_Lon_AttendanceTransactionsSinglePayloadItem",
    {
        "CauseCode": choice(*CAUSE_CODES, length=3),
        "Date": DATE,
        "EmployeeId": EMPLOYEE_ID,
        **same(text(), "CostCenter Hours Project"),
        **same(READ_ONLY, "@url id"),
    },
    required=("CauseCode", "Date", "EmployeeId"),
    wrapper="AttendanceTransaction",
    single="fortnox_Lon_AttendanceTransactionsSingleItem",
    listing="fortnox_Lon_AttendanceTransactionsListItem",
)

# ------------------------------------------------------------------------------- files
# The inbox (/3/inbox, scope inbox, FACTS.md §1) answers a file as
# {"File": fortnox_Da_InboxFileSingleItem} and a folder as {"Folder": …}; files are uploaded as
# multipart/form-data, so no JSON write schema exists for them.
INBOX_FILE = Component(
    None,
    same(READ_ONLY, "@url ArchiveFileId Comments Id Name Path Size"),
    single="fortnox_Da_InboxFileSingleItem",
)
INBOX_FOLDER = Component(
    None,
    same(READ_ONLY, "@url Email Files Folders Id Name"),
    single="fortnox_Da_InboxFolderSingleItem",
    listing="fortnox_Da_InboxFolderListItem",
)
# The file-attachments service (FACTS.md §2: /api/fileattachments/attachments-v1; the spec's
# fileattachments_Attachment): one component for what is sent and what is answered. The
# entity types are the spec's enum: O order, F invoice, OF offer (the others are not named in
# any source we have).
ATTACHMENT_ENTITY_TYPES = ("OF", "O", "F", "C", "LGR_IO", "LGR_IG")
ATTACHMENT = Component(
    "fileattachments_Attachment",
    {
        "entityId": integer(),
        "entityType": choice(*ATTACHMENT_ENTITY_TYPES),
        "fileId": text(),
        "id": Field("string", "uuid"),
        "includeOnSend": BOOLEAN,
    },
)
# The error body of the /api services (FACTS.md §7: {"error","id","message"}).
WEB_EXCEPTION = Component("fileattachments_WebException", same(text(), "error id message"))

COMPONENTS: tuple[Component, ...] = (
    ORDER, ORDER_ROW, INVOICE, INVOICE_ROW, EMAIL_INFORMATION, LABEL, EDI_INFORMATION,
    CUSTOMER, DEFAULT_DELIVERY_TYPES, DEFAULT_TEMPLATES, ARTICLE, COST_CENTER,
    TERMS_OF_DELIVERY, WAY_OF_DELIVERY, UNIT, PRICE_LIST, PRICE, COMPANY_INFORMATION,
    EMPLOYEE, DATED_SALARY_SUPPLEMENT, DATED_SCHEDULE, DATED_WAGE, EMPLOYEE_CHILD,
    INGOING_SICK_LEAVE, OPENING_SALARY, ATTENDANCE_TRANSACTION, INBOX_FILE, INBOX_FOLDER,
    ATTACHMENT, WEB_EXCEPTION,
)  # fmt: skip
# Answer wrappers that are not a write schema's ``_Wrap``: name -> (key, answer component).
ANSWER_WRAPPERS: dict[str, tuple[str, str]] = {
    "fortnox_Da_InboxFileResponse_Wrap": ("File", "fortnox_Da_InboxFileSingleItem"),
    "fortnox_Da_InboxFolderResponse_Wrap": ("Folder", "fortnox_Da_InboxFolderSingleItem"),
}


def _object(
    fields: Mapping[str, Field], required: Iterable[str] = (), response: bool = False
) -> dict[str, Any]:
    node: dict[str, Any] = {
        "type": "object",
        "properties": {name: f.node(response) for name, f in fields.items()},
    }
    if required:
        node["required"] = list(required)
    return node


@cache
def components() -> dict[str, dict[str, Any]]:
    """Every described component by its official name, as an OpenAPI 3.0 schema object.

    Write schemas carry types and rules; answer schemas (``…SingleItem``, ``…ListItem``) carry
    the property names ``present()`` fills, typed where the field is writable.
    """
    out: dict[str, dict[str, Any]] = {}
    for comp in COMPONENTS:
        if comp.name:
            out[comp.name] = _object(comp.writable(), comp.required)
        if comp.wrap and comp.name:
            # The wrapper key is required: a body without it is 2001392 (FACTS.md §2, §3).
            out[comp.wrap] = {
                "type": "object",
                "properties": {comp.wrapper: {"$ref": _REF + comp.name}},
                "required": [comp.wrapper],
            }
        if comp.single:
            out[comp.single] = _object(comp.answered(), response=True)
        if comp.listing:
            out[comp.listing] = _object(comp.listed(), response=True)
    for name, (key, target) in ANSWER_WRAPPERS.items():
        out[name] = {"type": "object", "properties": {key: {"$ref": _REF + target}}}
    return out


# ------------------------------------------------------------------------------- operations
@dataclass(frozen=True)
class Operation:
    """One API call: ``emulated`` ones have a body component, status and query parameters;
    the others are Fortnox calls the sandbox knows of but answers 501 "not emulated"."""

    method: str
    template: str
    body: str | None = None  # component of the JSON request body (a ``…_Wrap``)
    success: int = 200
    query: frozenset[str] = field(default_factory=frozenset)
    emulated: bool = True
    array: bool = False  # the body is a JSON array of ``body`` items (no wrapper)


def _query(names: str) -> frozenset[str]:
    return frozenset(names.split())


def register(
    collection: str, key: str, comp: Component, *, query: str = "", created: int = 201,
    deleted: int | None = 204,
) -> list[Operation]:  # fmt: skip
    """The calls of a register: list, create, read, update and (``deleted``) delete."""
    base, item = f"/3/{collection}", f"/3/{collection}/{{{key}}}"
    ops = [
        Operation("GET", base, query=_query(query)),
        Operation("POST", base, comp.wrap, created),
        Operation("GET", item),
        Operation("PUT", item, comp.wrap),
    ]
    if deleted is not None:
        ops.append(Operation("DELETE", item, success=deleted))
    return ops


def document(collection: str, comp: Component, query: str, puts: str) -> list[Operation]:
    """A document series (FACTS.md §4, §5): list, create, read, update, the PDF and e-mail
    GETs, and the PUT actions, which take the document's body (empty in practice)."""
    base, item = f"/3/{collection}", f"/3/{collection}/{{DocumentNumber}}"
    return [
        Operation("GET", base, query=_query(query)),
        Operation("POST", base, comp.wrap, 201),
        Operation("GET", item),
        Operation("PUT", item, comp.wrap),
        *(Operation("GET", f"{item}/{action}") for action in ("email", "preview", "print")),
        *(Operation("PUT", f"{item}/{action}", comp.wrap) for action in puts.split()),
    ]


def known(methods: str, template: str) -> list[Operation]:
    """Fortnox calls the sandbox does not emulate (it answers them 501, unknown paths 404)."""
    return [Operation(method, template, emulated=False) for method in methods.split()]


# FACTS.md §2 "Filters/sort in Spec": the search and filter parameters orders and invoices
# declare (global limit/page/offset/sortorder are not declared per operation).
DOCUMENT_QUERY = (
    "filter sortby fromdate todate lastmodified customername customernumber label "
    "documentnumber externalinvoicereference1 externalinvoicereference2 costcenter project "
    "sent notcompleted ourreference yourreference"
)
ORDER_QUERY = DOCUMENT_QUERY + " ordertype"
INVOICE_QUERY = (
    DOCUMENT_QUERY + " fromfinalpaydate tofinalpaydate ocr invoicetype articlenumber "
    "articledescription currency accountnumberfrom accountnumberto yourordernumber credit"
)
PRICE_ITEM = "/3/prices/{PriceList}/{ArticleNumber}"
ATTACHMENTS = "/api/fileattachments/attachments-v1"

OPERATIONS: tuple[Operation, ...] = (
    Operation("GET", "/3/companyinformation"),
    # FACTS.md §2 "Customers … search customernumber, name, zipcode, city, email, phone,
    # organisationnumber, gln, glndelivery, lastmodified".
    *register(
        "customers", "CustomerNumber", CUSTOMER,
        query="filter sortby customernumber name zipcode city email phone organisationnumber "
        "gln glndelivery lastmodified",
    ),
    # FACTS.md §2 "Articles … search articlenumber, description, ean, suppliernumber,
    # manufacturer, manufacturerarticlenumber, webshop, lastmodified".
    *register(
        "articles", "ArticleNumber", ARTICLE,
        query="filter sortby articlenumber description ean suppliernumber manufacturer "
        "manufacturerarticlenumber webshop lastmodified",
    ),
    # FACTS.md §2 "CostCenters: no params in Spec"; §6 which registers have DELETE.
    *register("costcenters", "Code", COST_CENTER),
    *register("termsofdeliveries", "Code", TERMS_OF_DELIVERY, deleted=None),
    *register("wayofdeliveries", "Code", WAY_OF_DELIVERY),
    *register("units", "Code", UNIT),
    *register("pricelists", "Code", PRICE_LIST, deleted=None),
    # FACTS.md §6 "Prices"; the spec declares fromquantity on the price GETs.
    Operation("POST", "/3/prices", PRICE.wrap, 201),
    Operation("GET", "/3/prices/sublist/{PriceList}/{ArticleNumber}",
              query=_query("fromquantity")),
    Operation("GET", PRICE_ITEM, query=_query("fromquantity")),
    Operation("PUT", PRICE_ITEM, PRICE.wrap),
    Operation("GET", PRICE_ITEM + "/{FromQuantity}"),
    Operation("PUT", PRICE_ITEM + "/{FromQuantity}", PRICE.wrap),
    Operation("DELETE", PRICE_ITEM + "/{FromQuantity}", success=204),
    # FACTS.md §7; the spec answers these POSTs 200 and the transaction DELETE 200.
    *register("employees", "EmployeeId", EMPLOYEE, created=200, deleted=None),
    *register(
        "attendancetransactions", "id", ATTENDANCE_TRANSACTION,
        query="employeeid date", created=200, deleted=200,
    ),
    *document("orders", ORDER, ORDER_QUERY, "cancel createinvoice externalprint"),
    *document("invoices", INVOICE, INVOICE_QUERY, "bookkeep cancel credit externalprint"),
    # Known, not emulated. FACTS.md §5: the other invoice actions.
    *known("GET", "/3/invoices/{DocumentNumber}/einvoice"),
    *known("GET", "/3/invoices/{DocumentNumber}/eprint"),
    *known("GET", "/3/invoices/{DocumentNumber}/printreminder"),
    *known("PUT", "/3/invoices/{DocumentNumber}/warehouseready"),
    # FACTS.md §4 (offers, createorder), §6 (prices list, projects, /3/me, company settings,
    # terms of payment), §7 (absence transactions, schedule times).
    *known("GET POST", "/3/offers"),
    *known("GET PUT", "/3/offers/{DocumentNumber}"),
    *known("PUT", "/3/offers/{DocumentNumber}/createorder"),
    *known("GET", "/3/prices"),
    *known("GET POST", "/3/projects"),
    *known("GET PUT DELETE", "/3/projects/{ProjectNumber}"),
    *known("GET", "/3/me"),
    *known("GET", "/3/settings/company"),
    *known("GET POST", "/3/termsofpayments"),
    *known("GET PUT DELETE", "/3/termsofpayments/{Code}"),
    *known("GET", "/3/attendancetransactions/{id}/{Date}/{Code}"),
    *known("GET POST", "/3/absencetransactions"),
    *known("GET PUT DELETE", "/3/absencetransactions/{id}"),
    *known("GET PUT", "/3/scheduletimes/{EmployeeId}/{Date}"),
    # FACTS.md §1 scopes and §2: currencies, vouchers, accounts, financial years, labels,
    # contracts, payments, suppliers and supplier invoices.
    *known("GET POST", "/3/currencies"),
    *known("GET PUT DELETE", "/3/currencies/{Code}"),
    *known("GET POST", "/3/vouchers"),
    *known("GET", "/3/vouchers/{VoucherSeries}/{VoucherNumber}"),
    *known("GET POST", "/3/accounts"),
    *known("GET PUT DELETE", "/3/accounts/{Number}"),
    *known("GET POST", "/3/financialyears"),
    *known("GET POST", "/3/labels"),
    *known("GET POST", "/3/contracts"),
    *known("GET POST", "/3/invoicepayments"),
    *known("GET POST", "/3/suppliers"),
    *known("GET PUT", "/3/suppliers/{SupplierNumber}"),
    *known("GET POST", "/3/supplierinvoices"),
    # FACTS.md §1 scope inbox; the spec's /3/inbox (multipart upload, no JSON body) and the
    # file-attachments service (FACTS.md §2), whose POST takes a JSON array of attachments.
    Operation("GET", "/3/inbox"),
    Operation("POST", "/3/inbox", success=201, query=_query("folderId path")),
    Operation("GET", "/3/inbox/{Id}"),
    Operation("DELETE", "/3/inbox/{Id}", success=204),
    Operation("GET", ATTACHMENTS, query=_query("entityid entitytype")),
    Operation("POST", ATTACHMENTS, ATTACHMENT.name, 201, array=True),
    Operation("DELETE", ATTACHMENTS + "/{attachmentId}", success=204),
    *known("PUT", ATTACHMENTS + "/{attachmentId}"),
    *known("GET", ATTACHMENTS + "/numberofattachments"),
    *known("POST", ATTACHMENTS + "/validateincludedonsend"),
    *known("GET POST DELETE", "/3/archive"),
)  # fmt: skip
