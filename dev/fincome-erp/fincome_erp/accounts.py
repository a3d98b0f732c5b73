"""Customers (with group hierarchies) and contracts, clean or carrying one defect."""

from __future__ import annotations

import datetime as dt

from fincome_erp import catalog
from fincome_erp.context import HISTORY_DAYS, Context, Contract, Customer, money
from fincome_erp.dirty import DIRTY_KINDS

_COUNTRY_POOL = tuple(c for c in catalog.COUNTRIES for _ in range(c.weight))
_PLAN_POOL = tuple(
    p for p, w in zip(catalog.PLANS, catalog.PLAN_WEIGHTS, strict=True) for _ in range(w)
)
_LETTERS = "ABCDEFGHJKLMNPRSTUVWXYZ"
_SLUGS = {
    (a, b): f"{a.lower().replace(' ', '')}-{b.lower()}.example"
    for a in catalog.NAME_STARTS
    for b in catalog.NAME_MIDDLES
}


class Accounts:
    """Builds and emits customers and contracts."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self._customers = ctx.schedules["customers"]
        self._contracts = ctx.schedules["subscriptions"]

    # customers

    def customer(self, created: int, parent: str | None = None) -> Customer:
        """Emit a customer usable by contracts: clean, or with a ``normalized`` defect.

        Draws that fall on a rejected kind emit a standalone dirty customer and draw again.
        """
        ctx, rng = self.ctx, self.ctx.rng
        while True:
            kind = self._customers.draw()
            country = _COUNTRY_POOL[int(rng.random() * len(_COUNTRY_POOL))]
            cust_no = ctx.next_id("customer")
            start = catalog.NAME_STARTS[int(rng.random() * len(catalog.NAME_STARTS))]
            middle = catalog.NAME_MIDDLES[int(rng.random() * len(catalog.NAME_MIDDLES))]
            suffixes = catalog.SUFFIX_BY_COUNTRY[country.code]
            name = f"{start} {middle} {suffixes[int(rng.random() * len(suffixes))]}"
            email = f"billing.{cust_no[5:]}@{_SLUGS[start, middle]}"
            row = [cust_no, name, email, country.code, self._postal(country.postal), parent]
            if kind is not None and DIRTY_KINDS[kind].outcome == "rejected":
                self._reject_customer(kind, row)
                continue
            if rng.random() < 0.05:
                updated = ctx.stamp_in_range(after=created)[1]
            else:
                updated = ctx.stamp(created)
            if kind == "customer_country_lowercase":
                row[3] = country.code.lower()
            elif kind == "customer_country_blank":
                row[3] = ""
            elif rng.random() < ctx.config.edge_share:
                row[1] = catalog.HOSTILE_NAMES[int(rng.random() * len(catalog.HOSTILE_NAMES))]
                ctx.manifest.add_edge("customer_hostile_name", "customers", cust_no)
            if kind is not None:
                ctx.manifest.add_dirty(kind, cust_no)
            ctx.emit("customers", (*row, updated))
            return Customer(cust_no, country.currency, country.tax_bp, created)

    def _reject_customer(self, kind: str, row: list) -> None:
        """Emit a standalone customer carrying a rejected defect, updated in the months."""
        cust_no = row[0]
        row[5] = None  # never a child: a group's subsidiaries reference clean parents only
        if kind == "customer_country_unknown":
            row[3] = "UK"
        elif kind == "customer_blank_name":
            row[1] = ""
        elif kind == "customer_name_control_chars":
            row[1] = row[1].replace(" ", "\t", 1) + "\n\x1b[31m"
        elif kind == "customer_missing_parent":
            row[5] = self.ctx.next_id("missing_customer")
        elif kind == "customer_own_parent":
            row[5] = cust_no
        self.ctx.manifest.add_dirty(kind, cust_no)
        self.ctx.emit("customers", (*row, self.ctx.stamp_in_range()[1]))

    def _postal(self, pattern: str) -> str:
        rng = self.ctx.rng
        out = []
        for ch in pattern:
            if ch == "9":
                out.append("0123456789"[int(rng.random() * 10)])
            elif ch == "A":
                out.append(_LETTERS[int(rng.random() * len(_LETTERS))])
            else:
                out.append(ch)
        return "".join(out)

    def past_day(self) -> int:
        """A day in the years before the first month."""
        return self.ctx.range_start - self.ctx.rng.randrange(30, HISTORY_DAYS - 60)

    # contracts

    def contract(
        self,
        cust: Customer,
        start: int,
        status: str,
        updated: int,
        *,
        terminated_on: int | None = None,
        end_date: int | None = None,
    ) -> Contract:
        """Emit a clean contract; draws that fall on a defect emit a standalone dirty one first."""
        ctx, rng = self.ctx, self.ctx.rng
        while (kind := self._contracts.draw()) is not None:
            self._reject_contract(kind, cust)
        plan = _PLAN_POOL[int(rng.random() * len(_PLAN_POOL))]
        units = 1 if plan.max_units == 1 else rng.randint(2, plan.max_units)
        unit_cents = round(plan.unit_cents * catalog.FX[cust.currency] / 100) * 100
        addon_label, addon_cents = None, 0
        if rng.random() < 0.3:
            addon_label, list_cents = catalog.ADDONS[int(rng.random() * len(catalog.ADDONS))]
            addon_cents = round(list_cents * catalog.FX[cust.currency] / 100) * 100
        contract_no = ctx.next_id("contract")
        text = ctx.text
        ctx.emit(
            "contracts",
            (
                contract_no,
                cust.cust_no,
                plan.code,
                status,
                text.date(start),
                None if end_date is None else text.date(end_date),
                None if terminated_on is None else text.date(terminated_on),
                cust.currency,
                money(unit_cents * units + addon_cents),
                ctx.stamp(updated),
            ),
        )
        ctx.manifest.contracts_by_status[status] += 1
        day = min(dt.date.fromordinal(start).day, 28)
        return Contract(
            contract_no,
            cust.cust_no,
            cust.currency,
            cust.tax_bp,
            plan.label,
            units,
            unit_cents * units,
            addon_label,
            addon_cents,
            day,
        )

    def _reject_contract(self, kind: str, cust: Customer) -> None:
        """Emit a standalone contract carrying ``kind``, updated in the months."""
        ctx, rng = self.ctx, self.ctx.rng
        contract_no = ctx.next_id("contract")
        start = rng.randrange(cust.created, max(cust.created + 1, ctx.range_start))
        status, end, terminated = "ACTIVE", None, None
        cust_no, currency = cust.cust_no, cust.currency
        fee = round(catalog.PLANS[0].unit_cents * catalog.FX[currency] / 100) * 100
        if kind == "contract_terminated_without_date":
            status = "TERMINATED"
        elif kind == "contract_end_before_start":
            end = start - 30
        elif kind == "contract_terminated_before_start":
            status, terminated = "TERMINATED", start - 10
        elif kind == "contract_unknown_currency":
            currency = "RMB"
        elif kind == "contract_unknown_status":
            status = "CLOSED"
        elif kind == "contract_orphan_customer":
            cust_no = ctx.next_id("missing_customer")
        elif kind == "contract_negative_fee":
            fee = -fee
        text = ctx.text
        ctx.emit(
            "contracts",
            (
                contract_no,
                cust_no,
                catalog.PLANS[0].code,
                status,
                text.date(start),
                None if end is None else text.date(end),
                None if terminated is None else text.date(terminated),
                currency,
                money(fee),
                ctx.stamp_in_range(after=start)[1],
            ),
        )
        ctx.manifest.contracts_by_status[status] += 1
        ctx.manifest.add_dirty(kind, contract_no)
