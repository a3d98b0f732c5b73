"""The deterministic demo-data generator: one seeded pass that streams rows to a writer.

The pass walks contract *slots*: each slot bills exactly one invoice per month (so every month
holds exactly the invoices asked for) through the contracts that occupy it over time. A slot
is steady (ACTIVE), churns (TERMINATED at the end of a month, then a new customer takes it),
was upgraded (an old TERMINATED contract, a new ACTIVE one) or is SUSPENDED after unpaid
invoices; some customers also start a TRIAL. Customers come in accounts (one customer with one
to three contracts, or a group: a parent and its subsidiaries). Memory stays flat: one slot at
a time, plus the manifest's list of dirty ids. Products, plans and credit notes come from a
random stream of their own (``billing``): the other rows do not depend on them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from fincome_erp.accounts import Accounts
from fincome_erp.billing import Billing
from fincome_erp.config import GeneratorConfig
from fincome_erp.context import Context, Customer
from fincome_erp.invoices import Invoices
from fincome_erp.manifest import Manifest
from fincome_erp.tables import Row, Table

AddRow = Callable[[Table, Row], None]


def generate(config: GeneratorConfig, add: AddRow) -> Manifest:
    """Generate every row of ``config``, passing each to ``add(table, row)``.

    :return: the manifest (counts and planted defects).
    """
    return _Generation(config, add).run()


class _Generation:
    def __init__(self, config: GeneratorConfig, add: AddRow) -> None:
        self.ctx = Context(config, add)
        self.accounts = Accounts(self.ctx)
        self.invoices = Invoices(self.ctx)
        self.billing = Billing(self.ctx)
        self.ctx.on_invoice = self.billing.invoiced

    def run(self) -> Manifest:
        counts = self.ctx.config.invoice_counts
        owners = self._owners()
        self.billing.start()
        for slot in range(max(counts)):
            self._slot(slot, next(owners), [i for i, n in enumerate(counts) if slot < n])
        self.billing.finish()
        return self.ctx.manifest

    def _owners(self) -> Iterator[Customer]:
        """Customers in the order they take slots: single accounts and groups."""
        rng, accounts = self.ctx.rng, self.accounts
        while True:
            created = accounts.past_day()
            if rng.random() < 0.06:
                parent = accounts.customer(created)
                if rng.random() < 0.5:
                    yield parent
                for _ in range(rng.randint(2, 4)):
                    child = accounts.customer(created + rng.randrange(0, 25), parent.cust_no)
                    yield from [child] * self._contracts_per_customer()
            else:
                yield from [accounts.customer(created)] * self._contracts_per_customer()

    def _contracts_per_customer(self) -> int:
        r = self.ctx.rng.random()
        return 1 if r < 0.8 else 2 if r < 0.95 else 3

    def _slot(self, slot: int, cust: Customer, months: list[int]) -> None:
        ctx, rng, accounts = self.ctx, self.ctx.rng, self.accounts
        if not months:
            return
        r = rng.random()
        start = rng.randrange(cust.created, ctx.range_start)
        if r < 0.07:  # churn: terminated at the end of a month, a new customer takes the slot
            churn = months[int(rng.random() * len(months))]
            last_day = ctx.month_last[churn]
            notice = rng.randrange(ctx.month_start[churn], last_day)
            ctr = accounts.contract(cust, start, "TERMINATED", notice, terminated_on=last_day)
            self._bill(slot, ctr, [m for m in months if m <= churn])
            later = [m for m in months if m > churn]
            if later:
                first = ctx.month_start[later[0]]
                newcomer = accounts.customer(first - rng.randrange(1, 10))
                ctr = accounts.contract(newcomer, first, "ACTIVE", first)
                self._bill(slot, ctr, later)
        elif r < 0.11:  # upgrade: the old contract ended before the months, a new one began
            ended = ctx.range_start - 1
            old_start = min(start, ended - 60)
            accounts.contract(cust, old_start, "TERMINATED", ended, terminated_on=ended)
            ctr = accounts.contract(cust, ctx.range_start, "ACTIVE", ctx.range_start)
            self._bill(slot, ctr, months)
        elif r < 0.16:  # suspended a few days before the snapshot, after unpaid invoices
            suspended = ctx.as_of - rng.randint(1, 5)
            ctr = accounts.contract(cust, start, "SUSPENDED", suspended)
            self._bill(slot, ctr, months, unpaid_from=months[-2:][0])
        else:
            end = None
            if rng.random() < 0.4:  # a committed end after the snapshot
                end = ctx.as_of + rng.randrange(30, 700)
            ctr = accounts.contract(cust, start, "ACTIVE", start, end_date=end)
            self._bill(slot, ctr, months)
        if rng.random() < 0.03:  # trialing a second product, nothing billed yet
            trial = ctx.as_of - rng.randint(1, 25)
            accounts.contract(cust, trial, "TRIAL", trial)

    def _bill(self, slot: int, ctr, months: list[int], unpaid_from: int | None = None) -> None:
        self.invoices.remember(ctr)
        for month in months:
            unpaid = unpaid_from is not None and month >= unpaid_from
            self.invoices.invoice(slot, month, ctr, unpaid=unpaid)
