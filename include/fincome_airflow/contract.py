"""The Fincome API contract items we *chose* where Fincome's public docs are silent.

Every chosen item of ``fincome-api-contract.md`` lives here (and in the pydantic models, which
import from here), so that it can be corrected in one edit once the official OpenAPI file is at
hand. Confirmed items are marked as such.
"""

from __future__ import annotations

from typing import Final, Literal, get_args

#: Confirmed: Fincome's production base URL.
DEFAULT_BASE_URL: Final = "https://api2.fincome.co/product"
#: Chosen: the header that carries the secret API key (a connection setting overrides it).
DEFAULT_API_KEY_HEADER: Final = "X-API-KEY"

Resource = Literal["products", "plans", "customers", "subscriptions", "invoices", "credit_notes"]
#: Load order: a record may only reference records of the resources before it (a plan its
#: product, a subscription its plan, a credit note its invoice).
RESOURCES: Final[tuple[Resource, ...]] = (
    "products",
    "plans",
    "customers",
    "subscriptions",
    "invoices",
    "credit_notes",
)
#: The resources of Fincome's billing model added by issue 15 (products, pricing plans, credit
#: notes), in the order they may reference each other.
BillingResource = Literal["products", "plans", "credit_notes"]
BILLING_RESOURCES: Final[tuple[BillingResource, ...]] = ("products", "plans", "credit_notes")
#: Every resource the API serves.
ApiResource = Resource
#: Chosen: plan billing intervals.
PlanInterval = Literal["month", "quarter", "year"]
PLAN_INTERVALS: Final[tuple[PlanInterval, ...]] = get_args(PlanInterval)
#: Chosen: deleting an invoice that credit notes reference answers this until they are deleted.
STATUS_CONFLICT: Final = 409
#: The load step deleting cancelled invoices, after every resource's (the other load steps are
#: named after their resource).
DELETIONS: Final = "deletions"
#: The deletion steps, in the order they run (the reverse of dependence: a cancelled credit note
#: goes before the invoice it credits, which Fincome refuses to delete while it is credited),
#: and the resource each deletes.
DELETION_STEPS: Final[dict[str, Resource]] = {
    "credit_note_deletions": "credit_notes",
    DELETIONS: "invoices",
}

#: Chosen: upsert answers.
STATUS_CREATED: Final = 201
STATUS_UPDATED: Final = 200
#: Chosen: delete answer (404 when the id is unknown).
STATUS_DELETED: Final = 204
#: Confirmed: validation errors.
STATUS_UNPROCESSABLE: Final = 422
#: Chosen: rate limiting, with a ``Retry-After`` header in seconds.
STATUS_RATE_LIMITED: Final = 429
RETRY_AFTER_HEADER: Final = "Retry-After"

#: Chosen: list endpoints paginate with ``limit`` and ``starting_after`` (ordered by id) and
#: answer ``{"data": [...], "has_more": bool}``; invoices and credit notes filter on the issue
#: date, ``[issue_date_gte, issue_date_lt)``.
LIST_LIMIT_PARAM: Final = "limit"
LIST_CURSOR_PARAM: Final = "starting_after"
LIST_MAX_LIMIT: Final = 100
ISSUE_DATE_FROM_PARAM: Final = "issue_date_gte"
ISSUE_DATE_TO_PARAM: Final = "issue_date_lt"
#: The resources whose list takes the issue-date filter: a billing month holds them whole.
DATED_RESOURCES: Final[tuple[ApiResource, ...]] = ("invoices", "credit_notes")
#: Chosen: the fields by which a record names a record of another resource (or of its own),
#: which must exist in Fincome: ``{resource: ((field, resource referenced), ...)}``.
REFERENCES: Final[dict[ApiResource, tuple[tuple[str, ApiResource], ...]]] = {
    "customers": (("root_parent_id", "customers"),),
    "plans": (("product_id", "products"),),
    "subscriptions": (("customer_id", "customers"), ("plan_id", "plans")),
    "invoices": (("customer_id", "customers"), ("subscription_id", "subscriptions")),
    "credit_notes": (("customer_id", "customers"), ("invoice_id", "invoices")),
}

#: Chosen: identifiers are non-empty strings of at most this length, without control characters.
MAX_ID_LENGTH: Final = 255
#: Chosen: free text (names, descriptions) is capped so that a 10 kB ERP string is a reject,
#: not a truncated value.
MAX_TEXT_LENGTH: Final = 1000
#: Chosen: amounts are decimals in major units, at most this many digits and decimals; they
#: are sent as JSON strings ("1250.00").
AMOUNT_MAX_DIGITS: Final = 14
AMOUNT_DECIMAL_PLACES: Final = 2
#: Payload fields (at any depth) that hold decimal amounts or quantities: hashed and compared
#: as numbers ("10.5" is "10.50").
AMOUNT_FIELDS: Final = frozenset(
    {"net_amount", "tax_amount", "monthly_value", "quantity", "amount"}
)
QUANTITY_MAX_DIGITS: Final = 12
QUANTITY_DECIMAL_PLACES: Final = 3
#: Chosen: dates outside this range are refused (a year-9999 date is an ERP typo).
MIN_YEAR: Final = 1970
MAX_YEAR: Final = 2100


def resource_path(resource: ApiResource, record_id: str | None = None) -> str:
    """Return the endpoint of a resource, or of one record of it."""
    from urllib.parse import quote

    return f"/{resource}" if record_id is None else f"/{resource}/{quote(record_id, safe='')}"
