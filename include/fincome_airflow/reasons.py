"""The stable vocabulary of reject reasons, with the plain message shown to finance people.

Codes never change meaning once released: alerting, the rejects CSV and the generator's
manifest of demo defects refer to them. The contract models raise these codes as the types of
their errors (``models/rules.py``), the mapping and the validation record them: a module of its
own, so that none of them imports another for the words.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal, get_args

from fincome_airflow.contract import Resource

#: Reasons decided from the refused record's own ERP row alone (an invoice's lines stamp the
#: invoice): the unchanged row is refused again, word for word.
RowReason = Literal[
    # a value of the record
    "missing_value",
    "invalid_identifier",
    "invalid_text",
    "text_too_long",
    "invalid_date",
    "date_out_of_range",
    "invalid_amount",
    "negative_amount",
    "invalid_quantity",
    "unknown_currency",
    "unknown_country",
    "unknown_status",
    "unknown_line_kind",
    "unknown_billing_period",
    "zero_amount",
    # rules within the record
    "missing_period",
    "period_end_before_start",
    "lines_do_not_add_up",
    "duplicate_line",
    "due_before_issue",
    "end_before_start",
    "canceled_before_start",
    "missing_termination_date",
    "missing_subscription",
    "own_parent",
    # anything the contract refuses that no rule names
    "invalid_value",
]
ReasonCode = Literal[
    RowReason,
    # a rule within the record that depends on the clock
    "issue_date_in_future",
    # rules across records (the record named by ``Problem.refers_to`` when known)
    "credit_before_invoice",
    "duplicate_id",
    "reference_not_found",
    "subscription_customer_mismatch",
    "currency_mismatch",
    "parent_cycle",
    "parent_rejected",
    "over_credit",
    "invoice_customer_mismatch",
]
REASON_CODES: Final[frozenset[str]] = frozenset(get_args(ReasonCode))
#: ``Problem.refers_to`` of a refusal that may pass on a day: ``clock/<day>``.
CLOCK: Final = "clock"
ROW_REASONS: Final[frozenset[str]] = frozenset(get_args(RowReason))

#: How a refused record is counted: refused itself, or blocked by a refused parent.
RefusalKind = Literal["rejected", "blocked"]

#: Plain message per code; ``{value}`` is the offending ERP value, ``{detail}`` a precision.
MESSAGES: Final[dict[ReasonCode, str]] = {
    "missing_value": "A required value is empty.",
    "invalid_identifier": "The number/code {value} cannot be used as an identifier "
    "(empty, longer than 255 characters, or containing invisible characters).",
    "invalid_text": "The text contains invisible control characters.",
    "text_too_long": "The text is longer than 1000 characters.",
    "invalid_date": "{value} is not a valid date.",
    "date_out_of_range": "The date {value} is outside the years 1970 to 2100 (probably a typo).",
    "invalid_amount": "{value} is not a valid amount (at most 2 decimals and 12 digits before "
    "the decimal point).",
    "negative_amount": "The amount {value} is negative; amounts are sent after discount and "
    "must be zero or more (issue a credit note instead).",
    "invalid_quantity": "The quantity {value} must be more than zero, with at most 3 decimals.",
    "unknown_currency": "{value} is not an ISO 4217 currency code (e.g. EUR, USD).",
    "unknown_country": "{value} is not an ISO 3166 country code (e.g. FR, DE).",
    "unknown_status": "The status {value} is not one the mapping knows.",
    "unknown_line_kind": "The line kind {value} is neither RECURRING nor ONE_OFF.",
    "unknown_billing_period": "The billing period {value} is neither MONTH, QUARTER nor YEAR.",
    "zero_amount": "The amount credited is zero; a credit note credits more than zero.",
    "missing_period": "A recurring line needs its service period (first and last day).",
    "period_end_before_start": "The service period ends ({value}) before it starts.",
    "lines_do_not_add_up": "The invoice lines add up to {detail}, not to the invoice net total "
    "{value}.",
    "duplicate_line": "The invoice has two lines numbered {value}.",
    "due_before_issue": "The due date {value} is before the invoice date.",
    "issue_date_in_future": "The invoice date {value} is in the future.",
    "end_before_start": "The contract ends ({value}) before it starts.",
    "canceled_before_start": "The contract was terminated ({value}) before it started.",
    "missing_termination_date": "The contract is TERMINATED but has no termination date.",
    "missing_subscription": "The invoice is not linked to a contract; Fincome needs every "
    "invoice to belong to a subscription.",
    "own_parent": "The customer is recorded as its own parent.",
    "credit_before_invoice": "The credit note is dated {value}, before the invoice it credits "
    "({detail}).",
    "duplicate_id": "The number {value} appears more than once in this load.",
    "reference_not_found": "{value} does not exist in the ERP nor in Fincome.",
    "subscription_customer_mismatch": "The contract {value} belongs to customer {detail}, not "
    "to this invoice's customer.",
    "currency_mismatch": "The invoice is in {value} but its contract is in {detail}.",
    "parent_cycle": "The customer hierarchy loops back on itself (through {value}).",
    "parent_rejected": "Not sent because {value} was refused; it will be sent automatically "
    "once that record is fixed.",
    "over_credit": "The credit notes of the invoice add up to {value} with this one, more than "
    "the invoice net total {detail}.",
    "invoice_customer_mismatch": "The invoice {value} belongs to customer {detail}, not to this "
    "credit note's customer.",
    "invalid_value": "The value {value} is refused: {detail}.",
}


#: Wording of a code for one resource where the general message names another record's kind
#: (the code keeps its meaning: the credit note's lines, or its currency against its invoice's).
RESOURCE_MESSAGES: Final[dict[tuple[str, ReasonCode], str]] = {
    ("credit_notes", "lines_do_not_add_up"): "The credit note lines add up to {detail}, not to "
    "the credit note net total {value}.",
    ("credit_notes", "duplicate_line"): "The credit note has two lines numbered {value}.",
    ("credit_notes", "issue_date_in_future"): "The credit note date {value} is in the future.",
    ("credit_notes", "currency_mismatch"): "The credit note is in {value} but the invoice it "
    "credits is in {detail}.",
}


@dataclass(frozen=True, slots=True)
class Problem:
    """One reason a record is refused (``field`` names the ERP column)."""

    reason_code: ReasonCode
    field: str | None
    message: str
    blocked_by: str | None = None
    #: What else the refusal depends on: the other record (``resource/id``: the refused or
    #: missing parent, the contract an invoice disagrees with) or the day it may pass on
    #: (``clock/YYYY-MM-DD``). Not stored with the refusal; it decides when the intraday sync
    #: reads it again.
    refers_to: str | None = None

    @property
    def outcome(self) -> RefusalKind:
        return "blocked" if self.reason_code == "parent_rejected" else "rejected"


def _show(value: object) -> str:
    if value is None or value == "":
        return "(empty)"
    text = str(value)
    return repr(text[:60] + "…") if len(text) > 60 else repr(text)


def problem(
    code: ReasonCode,
    field: str | None,
    value: object = None,
    detail: object = "",
    *,
    blocked_by: str | None = None,
    refers_to: str | None = None,
    resource: str | None = None,
) -> Problem:
    """Build a :class:`Problem` with the plain message of ``code`` (its wording for
    ``resource`` when :data:`RESOURCE_MESSAGES` has one)."""
    template = RESOURCE_MESSAGES.get((resource, code), MESSAGES[code])  # type: ignore[arg-type]
    message = template.format(value=_show(value), detail=detail)
    return Problem(code, field, message, blocked_by, refers_to)


#: What the ERP calls a record of each resource, in messages.
NOUNS: Final[dict[Resource, str]] = {
    "products": "product",
    "plans": "plan",
    "customers": "customer",
    "subscriptions": "contract",
    "invoices": "invoice",
    "credit_notes": "credit note",
}


def blocked(resource: Resource, parent_id: str, field: str) -> Problem:
    """The record is blocked because its parent (``resource``/``parent_id``) was refused."""
    ref = f"{resource}/{parent_id}"
    noun = NOUNS[resource]
    return Problem(
        "parent_rejected",
        field,
        MESSAGES["parent_rejected"].format(value=f"{noun} {parent_id!r}"),
        blocked_by=ref,
        refers_to=ref,
    )
