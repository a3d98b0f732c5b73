"""Fincome's billing model in the ERP: products, plans, and credit notes of invoices.

Everything here draws from a random stream of its own (seeded from the config's seed), and only
watches the invoices the rest of the generator writes: the customers, contracts, invoices and
invoice lines of a config are the same with or without it (the ``contract_unknown_plan``
contracts are extra rows, written last).
"""

from __future__ import annotations

import random

from fincome_erp import catalog
from fincome_erp.context import Context, money
from fincome_erp.credit_notes import CreditNotes
from fincome_erp.tables import Row

#: The catalog is older than the generated months; a few plans changed price in them.
_CATALOG_AGE_DAYS = 900
_REPRICED_SHARE = 0.25


class Billing:
    """Writes products and plans first, credit notes as invoices go by, planted defects last."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.rng = random.Random(f"billing:{ctx.config.seed}")
        self.credit_notes = CreditNotes(ctx, self.rng)
        self._customer: tuple[str, str] | None = None  # a clean invoice's customer, currency
        self._dirty = ctx.config.dirty_share > 0

    def _stamp(self, ordinal: int) -> str:
        return self.ctx.text.stamp(ordinal, int(self.rng.random() * 86400))

    def _in_range(self) -> str:
        return self._stamp(self.rng.randrange(self.ctx.range_start, self.ctx.as_of))

    def start(self) -> None:
        """Write the products and the price list (and the plans' defects)."""
        ctx, rng = self.ctx, self.rng
        old = ctx.range_start - _CATALOG_AGE_DAYS
        for product in catalog.PRODUCTS:
            ctx.emit("products", (product.code, product.name, self._stamp(old)))
        for plan in catalog.CATALOG_PLANS:
            updated = self._in_range() if rng.random() < _REPRICED_SHARE else self._stamp(old)
            ctx.emit("plans", (*self._plan(plan), updated))
        if self._dirty:
            self._dirty_plan("plan_unknown_product", "LEGACY-M", product="PRD-900000001")
            self._dirty_plan("plan_unknown_billing_period", "STARTER-W", period="WEEK")

    @staticmethod
    def _plan(plan: catalog.CatalogPlan) -> Row:
        return (
            plan.code,
            plan.name,
            plan.product,
            plan.billing_period,
            money(plan.cents),
            plan.currency,
        )

    def _dirty_plan(
        self, kind: str, code: str, *, product: str = "STARTER", period: str = "MONTH"
    ) -> None:
        """A standalone plan (no contract names it) carrying ``kind``, changed in the months."""
        name = f"{code.title()} plan"
        self.ctx.emit("plans", (code, name, product, period, "19.00", "EUR", self._in_range()))
        self.ctx.manifest.add_dirty(kind, code)

    def invoiced(self, row: Row, lines: list[Row], kind: str | None) -> None:
        """Watch one written invoice: maybe credit it."""
        if kind is None and self._customer is None:
            self._customer = (str(row[1]), str(row[6]))
        self.credit_notes.consider(row, lines, kind)

    def finish(self) -> None:
        """Plant the kinds no invoice had room for, and the contract of an unknown plan."""
        self.credit_notes.finish()
        if self._dirty and self._customer is not None:
            self._unknown_plan_contract(*self._customer)

    def _unknown_plan_contract(self, cust_no: str, currency: str) -> None:
        """A clean customer's old contract on a retired plan code, untouched since before the
        first month: outside every generated month's load (the existing loads stay the same)."""
        ctx = self.ctx
        contract_no = "CTR-800000001"
        start = ctx.range_start - self.rng.randrange(400, 800)
        fee = money(round(catalog.PLANS[0].unit_cents * catalog.FX[currency] / 100) * 100)
        row = (contract_no, cust_no, "BASIC-2019-M", "ACTIVE", ctx.text.date(start), None, None)
        ctx.emit("contracts", (*row, currency, fee, self._stamp(start)))
        ctx.manifest.contracts_by_status["ACTIVE"] += 1
        ctx.manifest.add_dirty("contract_unknown_plan", contract_no)
