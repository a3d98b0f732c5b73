"""Invoices and their lines, their later status changes, and the invoice-level defects."""

from __future__ import annotations

from fincome_erp import catalog
from fincome_erp.context import Context, Contract, money

#: Payment terms in days (None: no due date, which the contract allows).
_TERMS = (30, 30, 30, 30, 30, 30, 14, 14, 45, 0, 60, None)
_SENT = ("ISSUED", "PAID", "OVERDUE")
_NEEDS_RECURRING = frozenset({"line_period_end_before_start", "line_recurring_without_period"})
_LONG_TEXT = ("Lorem ipsum dolor sit amet, consectetur adipiscing elit. " * 90)[:5000]


class Invoices:
    """Builds and emits the invoices of one contract slot, month by month."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self._schedule = ctx.schedules["invoices"]
        months = ctx.config.months
        self._offsets = [sum(ctx.config.invoice_counts[:i]) for i in range(len(months))]
        self._width = max(6, len(str(ctx.config.total_invoices)))
        self._labels = [m.start.strftime("%B %Y") for m in months]
        self._years = [m.year for m in months]
        self._month_text = [str(m) for m in months]
        # the last clean, sent invoice of each month: the original of the next duplicate
        self._last_clean: list[tuple[tuple, list[tuple]] | None] = [None] * len(months)
        # per currency, the two latest contracts of distinct customers
        self._recent: dict[str, list[Contract]] = {}

    def remember(self, contract: Contract) -> None:
        """Keep ``contract`` as a candidate for an invoice of another customer."""
        recent = self._recent.setdefault(contract.currency, [])
        if recent and recent[0].cust_no == contract.cust_no:
            recent[0] = contract
        else:
            recent.insert(0, contract)
            del recent[2:]

    def invoice(self, slot: int, month: int, ctr: Contract, *, unpaid: bool = False) -> None:
        """Emit the invoice of ``slot`` dated in ``month`` (index), clean or dirty."""
        seq = self._offsets[month] + slot + 1
        invoice_no = f"INV-{self._years[month]}-{seq:0{self._width}d}"
        kind = self._schedule.draw()
        if kind in ("invoice_duplicate_number", "invoice_duplicate_case_variant"):
            original = self._last_clean[month]
            if original is None:
                self._schedule.defer(kind)
            else:
                self._duplicate(kind, invoice_no, month, *original)
                return
            kind = None
        other = None
        if kind == "invoice_contract_of_other_customer":
            other = next(
                (c for c in self._recent.get(ctr.currency, ()) if c.cust_no != ctr.cust_no), None
            )
            if other is None:
                self._schedule.defer(kind)
                kind = None
        self._build(invoice_no, month, ctr, kind, other, unpaid)

    def _build(
        self,
        invoice_no: str,
        month: int,
        ctr: Contract,
        kind: str | None,
        other: Contract | None,
        unpaid: bool,
    ) -> None:
        ctx, rng, text = self.ctx, self.ctx.rng, self.ctx.text
        first, last = ctx.month_start[month], ctx.month_last[month]
        day = first + ctr.billing_day - 1
        terms = _TERMS[int(rng.random() * len(_TERMS))]
        due = None if terms is None else day + terms
        one_off_only = kind == "invoice_without_contract" or (
            kind not in _NEEDS_RECURRING and rng.random() < 0.06
        )
        # a line: [description, kind, service_from, service_to, quantity, cents]
        lines: list[list] = []
        edge_zero = False
        if one_off_only:
            lines.append(self._one_off())
        elif kind is None and rng.random() < ctx.config.edge_share / 4:
            edge_zero = True
            label = f"{ctr.plan_label} — {self._labels[month]} (100% discount)"
            lines.append([label, "RECURRING", first, last, "1", 0])
        else:
            label = f"{ctr.plan_label} — {self._labels[month]}"
            lines.append([label, "RECURRING", first, last, str(ctr.units), ctr.base_cents])
            if ctr.addon_label:
                addon = f"{ctr.addon_label} — {self._labels[month]}"
                lines.append([addon, "RECURRING", first, last, "1", ctr.addon_cents])
            if rng.random() < 0.06:
                lines.append(self._one_off())
        edge_text = kind is None and not edge_zero and rng.random() < ctx.config.edge_share
        if edge_text:
            lines[0][0] = catalog.HOSTILE_DESCRIPTIONS[
                int(rng.random() * len(catalog.HOSTILE_DESCRIPTIONS))
            ]
        cust_no, contract_no, currency, status = ctr.cust_no, ctr.contract_no, ctr.currency, None
        fault_line = None
        if kind == "line_period_end_before_start":
            lines[0][2], lines[0][3], fault_line = last, first, 1
        elif kind == "line_recurring_without_period":
            lines[0][2], lines[0][3], fault_line = None, None, 1
        elif kind == "line_one_off_with_period":
            if lines[-1][1] != "ONE_OFF":
                lines.append(self._one_off())
            lines[-1][2], lines[-1][3], fault_line = first, last, len(lines)
        elif kind == "line_zero_quantity":
            lines[0][4], fault_line = "0", 1
        elif kind == "line_description_too_long":
            lines[0][0], fault_line = _LONG_TEXT, 1
        elif kind == "invoice_negative_total":
            for line in lines:
                line[5] = -line[5]
        elif kind == "invoice_orphan_customer":
            cust_no = ctx.next_id("missing_customer")
        elif kind == "invoice_unknown_contract":
            contract_no = ctx.next_id("missing_contract")
        elif kind == "invoice_without_contract":
            contract_no = None
        elif kind == "invoice_contract_of_other_customer":
            contract_no = other.contract_no
        elif kind == "invoice_unknown_currency":
            currency = "BTC"
        elif kind == "invoice_due_before_issue":
            due = day - 5
        elif kind == "invoice_unknown_status":
            status = "VOID"
        net = sum(line[5] for line in lines)
        tax = 0 if net <= 0 else (net * ctr.tax_bp + 5000) // 10000
        if kind == "invoice_lines_do_not_add_up":
            net += rng.randrange(100, 5000)
        elif kind == "invoice_negative_tax":
            tax = -(tax or 100)
        # the status at the snapshot, and when the row last changed
        if kind in ("invoice_date_in_future", "invoice_date_out_of_range"):
            status, updated, due = "ISSUED", text.stamp(day, rng.randrange(86400)), None
        else:
            computed, updated = self._status(day, due, must_send=kind is not None, unpaid=unpaid)
            status = status or computed
        invoice_date = text.date(day)
        if kind == "invoice_date_in_future":
            invoice_date = text.date(ctx.as_of + rng.randrange(183, 366))
        elif kind == "invoice_date_out_of_range":
            invoice_date = f"{self._years[month] + 180}{invoice_date[4:]}"
        row = (
            invoice_no,
            cust_no,
            contract_no,
            invoice_date,
            None if due is None else text.date(due),
            status,
            currency,
            money(net),
            money(tax),
            updated,
        )
        line_rows = [
            (
                invoice_no,
                n,
                desc,
                line_kind,
                None if start is None else text.date(start),
                None if end is None else text.date(end),
                qty,
                money(cents),
            )
            for n, (desc, line_kind, start, end, qty, cents) in enumerate(lines, 1)
        ]
        self._emit(row, line_rows, month)
        if ctx.on_invoice is not None:
            ctx.on_invoice(row, line_rows, kind)
        manifest = ctx.manifest
        month_text = self._month_text[month]
        if kind is not None:
            extra = {"line_no": fault_line} if fault_line else {}
            manifest.add_dirty(kind, invoice_no, month=month_text, **extra)
        elif edge_zero:
            manifest.add_edge("invoice_zero_total", "invoices", invoice_no, month=month_text)
        elif edge_text:
            manifest.add_edge(
                "line_hostile_description", "invoices", invoice_no, month=month_text, line_no=1
            )
        elif status in _SENT:
            self._last_clean[month] = (row, line_rows)

    def _one_off(self) -> list:
        rng = self.ctx.rng
        label, cents, max_qty = catalog.ONE_OFFS[int(rng.random() * len(catalog.ONE_OFFS))]
        qty = 1 if max_qty == 1 else rng.randint(1, max_qty)
        return [label, "ONE_OFF", None, None, str(qty), cents * qty]

    def _status(
        self, day: int, due: int | None, *, must_send: bool, unpaid: bool
    ) -> tuple[str, str]:
        """Status at the snapshot and the ``updated_at`` of its last change.

        Never a draft or a cancellation when ``must_send`` (a dirty invoice must be sent);
        an ``unpaid`` invoice is never paid. A payment or reminder after the snapshot has not
        happened yet.
        """
        ctx, rng = self.ctx, self.ctx.rng
        as_of = ctx.as_of
        if not must_send:
            r = rng.random()
            if r < 0.015:
                return "DRAFT", ctx.stamp(day)
            if r < 0.025:
                cancelled = day + 1 + int(rng.random() * 44)
                if cancelled < as_of:
                    return "CANCELLED", ctx.stamp(cancelled)
        if not unpaid:
            r = rng.random()
            rnd = rng.random()
            delay = int(rnd * 45) if r < 0.75 else 45 + int(rnd * 55) if r < 0.9 else None
            if delay is not None and day + delay < as_of:
                return "PAID", ctx.stamp(day + delay)
        if due is not None and due + 1 < as_of:
            return "OVERDUE", ctx.stamp(due + 1)
        return "ISSUED", ctx.stamp(day)

    def _duplicate(
        self, kind: str, invoice_no: str, month: int, row: tuple, lines: list[tuple]
    ) -> None:
        original = row[0]
        copy_no = original.lower() if kind == "invoice_duplicate_case_variant" else invoice_no
        self._emit((copy_no, *row[1:]), [(copy_no, *line[1:]) for line in lines], month)
        self.ctx.manifest.add_dirty(
            kind, copy_no, month=self._month_text[month], duplicate_of=original
        )

    def _emit(self, row: tuple, lines: list[tuple], month: int) -> None:
        ctx = self.ctx
        ctx.emit("invoices", row)
        for line in lines:
            ctx.emit("invoice_lines", line)
        ctx.manifest.invoices_by_month[self._month_text[month]] += 1
        ctx.manifest.invoices_by_status[row[5]] += 1
