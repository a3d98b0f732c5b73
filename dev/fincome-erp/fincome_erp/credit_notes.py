"""Credit notes of written invoices: full and partial credits, refunds, later months, defects.

Each clean invoice sent to the customer is credited with probability :data:`CREDIT_SHARE`: in
full (every line) or in part (days of a service period, or a goodwill amount), on its date or up
to 75 days later (so in a later month too), issued, refunded, a draft or cancelled. A
:class:`~fincome_erp.dirty.DirtySchedule` over the credit notes plants the kinds of
:data:`~fincome_erp.dirty.CREDIT_NOTE_KINDS`; a kind no invoice had room for is planted at the
end, so each appears at least once when the dirty share is not zero.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import deque
from decimal import Decimal

from fincome_erp import catalog
from fincome_erp.context import Context, money
from fincome_erp.dirty import CREDIT_NOTE_KINDS, DirtySchedule
from fincome_erp.tables import Row

CREDIT_SHARE = 0.04
_FULL_SHARE = 0.35
_LATEST_DAYS = 75
_SENT = frozenset({"ISSUED", "PAID", "OVERDUE"})
#: Rejected invoice kinds whose invoice is otherwise fit to credit (real customer, valid
#: currency, a positive total and tax, dated in the months): a credit note of one is only
#: blocked.
_CREDITABLE_REJECTS = frozenset(
    {
        "invoice_due_before_issue",
        "invoice_unknown_status",
        "invoice_unknown_contract",
        "line_zero_quantity",
        "line_description_too_long",
    }
)
# a credit line: [invoice_line_no, description, service_from, service_to, cents]
Line = list


def _cents(amount: str | int | None) -> int:
    return int(Decimal(str(amount)) * 100)


def _ordinal(text: str | int | None) -> int:
    return dt.date.fromisoformat(str(text)).toordinal()


class CreditNotes:
    """Builds and emits the credit notes, from the billing random stream."""

    def __init__(self, ctx: Context, rng: random.Random) -> None:
        self.ctx = ctx
        self.rng = rng
        self.schedule = DirtySchedule(CREDIT_NOTE_KINDS, ctx.config.dirty_share, rng)
        self._width = max(6, len(str(ctx.config.total_invoices)))
        self._seq = 0
        self._planted: set[str] = set()
        # the latest creditable invoices left uncredited: one per kind planted at the end
        self._spare: deque[tuple[Row, list[Row]]] = deque(maxlen=len(CREDIT_NOTE_KINDS))
        self._refused: tuple[Row, list[Row]] | None = None

    def consider(self, row: Row, lines: list[Row], kind: str | None) -> None:
        """Maybe credit a just-written invoice (``kind``: its defect, if any)."""
        if kind in _CREDITABLE_REJECTS:
            self._refused = (row, lines)
        if kind is not None or row[5] not in _SENT or _cents(row[7]) <= 0:
            return
        if self.rng.random() < CREDIT_SHARE:
            self._credit(row, lines, self.schedule.draw())
        else:
            self._spare.append((row, lines))

    def finish(self) -> None:
        """Plant each kind not planted yet, on one of the latest uncredited invoices."""
        if not self.schedule.block:
            return
        for kind in CREDIT_NOTE_KINDS:
            if kind not in self._planted and self._spare:
                self._credit(*self._spare.pop(), kind, last_chance=True)

    def _credit(
        self, row: Row, lines: list[Row], kind: str | None, *, last_chance: bool = False
    ) -> None:
        if kind == "credit_note_of_refused_invoice":
            if self._refused is None:
                if not last_chance:
                    self.schedule.defer(kind)
                    self._emit(row, self._shape(row, lines), None)
                return
            row, lines = self._refused
            self._refused = None  # one credit note per refused invoice
        full = kind == "credit_note_over_credit"
        part = kind == "credit_note_lines_do_not_add_up"  # room left to add
        self._emit(row, self._shape(row, lines, full=full, part=part), kind)

    def _shape(
        self, row: Row, lines: list[Row], *, full: bool = False, part: bool = False
    ) -> list[Line]:
        """The credited lines: every invoice line, or part of one (less than the invoice)."""
        rng = self.rng
        if full or (not part and rng.random() < _FULL_SHARE):
            return [
                [line[1], f"Credit of {row[0]} line {line[1]}", line[4], line[5], _cents(line[7])]
                for line in lines
                if _cents(line[7]) > 0
            ]
        recurring = next((line for line in lines if line[3] == "RECURRING" and line[4]), None)
        if recurring is not None and _cents(recurring[7]) > 1:
            first, last = _ordinal(recurring[4]), _ordinal(recurring[5])
            days = last - first + 1
            if days > 1:
                credited = rng.randint(1, days - 1)
                cents = max(1, _cents(recurring[7]) * credited // days)
                start = self.ctx.text.date(last - credited + 1)
                label = f"Credit of {row[0]} line {recurring[1]}: {credited} days of service"
                return [[recurring[1], label, start, recurring[5], cents]]
        cents = max(1, _cents(row[7]) * rng.randint(5, 30) // 100)
        return [[None, "Goodwill credit", None, None, cents]]

    def _emit(self, row: Row, lines: list[Line], kind: str | None) -> None:
        ctx, rng, text = self.ctx, self.rng, self.ctx.text
        invoice_no, cust_no, currency = str(row[0]), row[1], str(row[6])
        invoice_day, net, tax = _ordinal(row[3]), _cents(row[7]), _cents(row[8])
        issued = invoice_day + rng.randrange(min(_LATEST_DAYS, ctx.as_of - invoice_day))
        total = sum(line[4] for line in lines)
        if kind == "credit_note_over_credit":
            extra = rng.randrange(100, 5000)
            lines.append([None, "Goodwill credit", None, None, extra])
            total += extra
        elif kind == "credit_note_lines_do_not_add_up":
            total += min(rng.randrange(100, 5000), net - total)
        elif kind == "credit_note_currency_mismatch":
            currency = "USD" if currency != "USD" else "EUR"
        elif kind == "credit_note_unknown_invoice":
            invoice_no = f"{invoice_no[:9]}9{self._seq + 1:08d}"
            lines = [[None, *line[1:]] for line in lines]
        elif kind == "credit_note_before_invoice":
            issued = invoice_day - rng.randint(1, 20)
        status, updated = self._status(issued, must_send=kind is not None)
        if kind == "credit_note_before_invoice":
            updated = max(updated, invoice_day)
        self._seq += 1
        number = f"CN-{text.date(issued)[:4]}-{self._seq:0{self._width}d}"
        ctx.emit(
            "credit_notes",
            (
                number,
                invoice_no,
                cust_no,
                text.date(issued),
                status,
                currency,
                money(total),
                money((tax * total + net // 2) // net),
                catalog.CREDIT_REASONS[int(rng.random() * len(catalog.CREDIT_REASONS))],
                text.stamp(updated, int(rng.random() * 86400)),
            ),
        )
        for n, (line_no, description, start, end, cents) in enumerate(lines, 1):
            ctx.emit(
                "credit_note_lines", (number, n, line_no, description, start, end, money(cents))
            )
        ctx.manifest.credit_notes_by_status[status] += 1
        if kind is not None:
            self._planted.add(kind)
            extra = {"month": text.date(issued)[:7], "invoice_no": invoice_no}
            if kind == "credit_note_of_refused_invoice":
                extra["blocked_by"] = f"invoices/{invoice_no}"
            ctx.manifest.add_dirty(kind, number, **extra)

    def _status(self, issued: int, *, must_send: bool) -> tuple[str, int]:
        """Status at the snapshot and the day of its last change (a refund comes later)."""
        rng, as_of = self.rng, self.ctx.as_of
        r = rng.random()
        if not must_send and r < 0.05:
            return "DRAFT", issued
        if not must_send and r < 0.10:
            return "CANCELLED", min(as_of - 1, issued + rng.randint(1, 10))
        if r < 0.55:
            return "ISSUED", issued
        return "REFUNDED", min(as_of - 1, max(issued, issued + rng.randint(0, 14)))
