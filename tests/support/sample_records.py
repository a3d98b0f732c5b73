"""Records the sandbox accepts, shared by its contract tests."""

from __future__ import annotations

#: A paid invoice of ``cus_1`` under ``sub_1``: a subscription line and a one-off line.
INVOICE = {
    "id": "inv_1",
    "customer_id": "cus_1",
    "subscription_id": "sub_1",
    "issue_date": "2024-01-31",
    "status": "paid",
    "currency": "EUR",
    "net_amount": "150.00",
    "lines": [
        {
            "id": "l1",
            "type": "subscription",
            "net_amount": "100.00",
            "period_start": "2024-01-01",
            "period_end": "2024-02-01",
        },
        {"id": "l2", "type": "one_off", "net_amount": "50.00"},
    ],
}
