"""The kinds of dirty rows the generator plants, and the schedule that spreads them.

Each kind has a stable name, the Fincome resource its record becomes, the outcome a correct
load gives it, the reject reason code (``fincome_airflow.reasons``) and the ERP
column at fault. Outcomes: ``rejected`` (refused with ``reason``), ``normalized`` (repaired by
the documented mapping and sent) and ``accepted`` (valid record by record, e.g. the same
invoice under two numbers: only a duplicate heuristic could catch it; ``duplicate_of`` in the
manifest names the clean original). Every dirty record carries exactly this one defect.
Rejected customers and contracts are standalone rows (nothing references them), so no clean
record is blocked by a dirty one (except ``credit_note_of_refused_invoice``, whose outcome is
``blocked``: a clean credit note of a rejected invoice). ``consequences`` lists reasons that
follow unavoidably from the planted defect (an invoice whose customer is missing cannot be
linked to a contract of that customer): a validator may report one of them instead.

:data:`BILLING_DIRTY_KINDS` are the defects of Fincome's billing model (products, plans, credit
notes, a contract's plan), listed in the manifest's ``dirty`` with the others
(:data:`ALL_DIRTY_KINDS`). They are planted from a random stream of their own: the rows of the
other kinds are the same with or without them.
"""

from __future__ import annotations

import random
from collections import deque
from typing import Final, Literal, NamedTuple

Resource = Literal["customers", "subscriptions", "invoices", "products", "plans", "credit_notes"]
#: What the pipeline should do with a dirty row of this kind.
ExpectedTreatment = Literal["rejected", "normalized", "accepted", "blocked"]


class DirtyKind(NamedTuple):
    name: str
    resource: Resource
    outcome: ExpectedTreatment
    reason: str | None  # reason code when rejected
    field: str  # the ERP column at fault
    description: str
    consequences: tuple[str, ...] = ()


_KINDS: Final = (
    # customers
    DirtyKind("customer_country_lowercase", "customers", "normalized", None, "country_code",
              "country_code in lower case ('fr'); sent upper-cased"),
    DirtyKind("customer_country_blank", "customers", "normalized", None, "country_code",
              "country_code is '' (not null); sent as null"),
    DirtyKind("customer_country_unknown", "customers", "rejected", "unknown_country",
              "country_code", "country_code 'UK' (ISO says GB)"),
    DirtyKind("customer_blank_name", "customers", "rejected", "missing_value", "company_name",
              "company_name is ''"),
    DirtyKind("customer_name_control_chars", "customers", "rejected", "invalid_text",
              "company_name", "company_name holds a tab, a newline and an ANSI escape"),
    DirtyKind("customer_missing_parent", "customers", "rejected", "reference_not_found",
              "parent_cust_no", "parent_cust_no names a customer that does not exist"),
    DirtyKind("customer_own_parent", "customers", "rejected", "own_parent", "parent_cust_no",
              "parent_cust_no is the customer's own cust_no"),
    # contracts (Fincome subscriptions)
    DirtyKind("contract_terminated_without_date", "subscriptions", "rejected",
              "missing_termination_date", "terminated_on",
              "status TERMINATED with terminated_on null"),
    DirtyKind("contract_end_before_start", "subscriptions", "rejected", "end_before_start",
              "end_date", "end_date 30 days before start_date"),
    DirtyKind("contract_terminated_before_start", "subscriptions", "rejected",
              "canceled_before_start", "terminated_on", "terminated_on 10 days before start_date"),
    DirtyKind("contract_unknown_currency", "subscriptions", "rejected", "unknown_currency",
              "currency", "currency 'RMB' (ISO says CNY)"),
    DirtyKind("contract_unknown_status", "subscriptions", "rejected", "unknown_status", "status",
              "status 'CLOSED'"),
    DirtyKind("contract_orphan_customer", "subscriptions", "rejected", "reference_not_found",
              "cust_no", "cust_no names a customer that does not exist"),
    DirtyKind("contract_negative_fee", "subscriptions", "rejected", "negative_amount",
              "monthly_fee", "monthly_fee below zero"),
    # invoices (with their lines)
    DirtyKind("invoice_orphan_customer", "invoices", "rejected", "reference_not_found",
              "cust_no", "cust_no names a customer that does not exist (the contract is the "
              "slot's real one)", ("subscription_customer_mismatch",)),
    DirtyKind("invoice_unknown_contract", "invoices", "rejected", "reference_not_found",
              "contract_no", "contract_no names a contract that does not exist"),
    DirtyKind("invoice_without_contract", "invoices", "rejected", "missing_subscription",
              "contract_no", "contract_no null on a one-off invoice"),
    DirtyKind("invoice_contract_of_other_customer", "invoices", "rejected",
              "subscription_customer_mismatch", "contract_no",
              "contract_no is another customer's contract (same currency)"),
    DirtyKind("invoice_unknown_currency", "invoices", "rejected", "unknown_currency", "currency",
              "currency 'BTC'"),
    DirtyKind("invoice_lines_do_not_add_up", "invoices", "rejected", "lines_do_not_add_up",
              "total_net", "total_net differs from the sum of the lines"),
    DirtyKind("invoice_negative_total", "invoices", "rejected", "negative_amount", "total_net",
              "every line negated: total_net below zero (lines add up, tax 0)"),
    DirtyKind("invoice_negative_tax", "invoices", "rejected", "negative_amount", "total_tax",
              "total_tax below zero"),
    DirtyKind("invoice_due_before_issue", "invoices", "rejected", "due_before_issue",
              "due_date", "due_date 5 days before invoice_date"),
    DirtyKind("invoice_date_out_of_range", "invoices", "rejected", "date_out_of_range",
              "invoice_date", "invoice_date typed 2206 for 2026 (due_date null)"),
    DirtyKind("invoice_date_in_future", "invoices", "rejected", "issue_date_in_future",
              "invoice_date", "invoice_date 6 to 12 months after the snapshot (due_date null)"),
    DirtyKind("invoice_unknown_status", "invoices", "rejected", "unknown_status", "doc_status",
              "doc_status 'VOID'"),
    DirtyKind("invoice_duplicate_number", "invoices", "accepted", None, "invoice_no",
              "same content as an earlier clean invoice of the month, under another number"),
    DirtyKind("invoice_duplicate_case_variant", "invoices", "accepted", None, "invoice_no",
              "copy of an earlier clean invoice, its number in lower case"),
    DirtyKind("line_period_end_before_start", "invoices", "rejected", "period_end_before_start",
              "service_to", "RECURRING line with service_to before service_from"),
    DirtyKind("line_recurring_without_period", "invoices", "rejected", "missing_period",
              "service_from", "RECURRING line with null service_from and service_to"),
    DirtyKind("line_one_off_with_period", "invoices", "normalized", None, "service_from",
              "ONE_OFF line carrying a service period (the mapping drops it)"),
    DirtyKind("line_zero_quantity", "invoices", "rejected", "invalid_quantity", "quantity",
              "line quantity 0"),
    DirtyKind("line_description_too_long", "invoices", "rejected", "text_too_long",
              "description", "line description of 5,000 characters"),
)  # fmt: skip

#: Every dirty kind by its stable name.
DIRTY_KINDS: Final[dict[str, DirtyKind]] = {kind.name: kind for kind in _KINDS}
KINDS_BY_RESOURCE: Final[dict[Resource, tuple[str, ...]]] = {
    resource: tuple(k.name for k in _KINDS if k.resource == resource)
    for resource in ("customers", "subscriptions", "invoices")
}

_BILLING_KINDS: Final = (
    DirtyKind("contract_unknown_plan", "subscriptions", "rejected", "reference_not_found",
              "plan_code", "plan_code names a plan that does not exist (a standalone contract "
              "last updated before the first month)"),
    DirtyKind("plan_unknown_product", "plans", "rejected", "reference_not_found",
              "product_code", "product_code names a product that does not exist"),
    DirtyKind("plan_unknown_billing_period", "plans", "rejected", "unknown_billing_period",
              "billing_period", "billing_period 'WEEK'"),
    DirtyKind("credit_note_over_credit", "credit_notes", "rejected", "over_credit",
              "total_net", "credits more than the invoice's total_net (lines add up)"),
    DirtyKind("credit_note_currency_mismatch", "credit_notes", "rejected",
              "currency_mismatch", "currency", "currency differs from the invoice's"),
    DirtyKind("credit_note_unknown_invoice", "credit_notes", "rejected", "reference_not_found",
              "invoice_no", "invoice_no names an invoice that does not exist"),
    DirtyKind("credit_note_of_refused_invoice", "credit_notes", "blocked", "parent_rejected",
              "invoice_no", "a clean credit note of an invoice that is itself rejected "
              "(blocked_by in the manifest)"),
    DirtyKind("credit_note_before_invoice", "credit_notes", "rejected",
              "credit_before_invoice", "issue_date",
              "issue_date 1 to 20 days before the invoice_date"),
    DirtyKind("credit_note_lines_do_not_add_up", "credit_notes", "rejected",
              "lines_do_not_add_up", "total_net",
              "total_net differs from the sum of the lines (still within the invoice)"),
)  # fmt: skip

#: The defects of the billing model, by their stable names.
BILLING_DIRTY_KINDS: Final[dict[str, DirtyKind]] = {kind.name: kind for kind in _BILLING_KINDS}
#: The credit notes' kinds, planted by a :class:`DirtySchedule` over the credit notes.
CREDIT_NOTE_KINDS: Final = tuple(k.name for k in _BILLING_KINDS if k.resource == "credit_notes")
#: Every dirty kind, by name.
ALL_DIRTY_KINDS: Final[dict[str, DirtyKind]] = {**DIRTY_KINDS, **BILLING_DIRTY_KINDS}

#: Valid records that are hard on naive code; they must load unchanged.
EDGE_KINDS: Final[dict[str, str]] = {
    "customer_hostile_name": "quotes, SQL, CSV/COPY specials, markup, other scripts, emoji, "
    "200-character names",
    "line_hostile_description": "the same, and a 1,000-character description",
    "invoice_zero_total": "a fully discounted month: one RECURRING line of 0.00",
}


class DirtySchedule:
    """Decide, draw after draw, which records of one resource are dirty and of which kind.

    Draws go by blocks of ``round(len(kinds) / share)``: each block holds every kind exactly
    once, at random positions. So each kind's share is ``1 / block`` (``share / len(kinds)``)
    to within one record per kind, however small the run, and positions stay random.
    """

    def __init__(self, kinds: tuple[str, ...], share: float, rng: random.Random) -> None:
        if not 0 <= share <= 1:
            raise ValueError(f"dirty share must be between 0 and 1, got {share}")
        self._kinds = kinds
        self._rng = rng
        self.block = max(len(kinds), round(len(kinds) / share)) if share > 0 else 0
        self._plan: dict[int, str] = {}
        self._position = 0
        self._deferred: deque[str] = deque()

    def draw(self) -> str | None:
        """The kind of the next record, or None for a clean one."""
        if not self.block:
            return None
        if self._position % self.block == 0:
            order = list(self._kinds)
            self._rng.shuffle(order)
            slots = self._rng.sample(range(self.block), len(order))
            self._plan = dict(zip(slots, order, strict=True))
        kind = self._plan.get(self._position % self.block)
        self._position += 1
        if kind is None and self._deferred:
            return self._deferred.popleft()
        return kind

    def defer(self, kind: str) -> None:
        """A kind that could not be planted here is planted on the next clean draw."""
        self._deferred.append(kind)
