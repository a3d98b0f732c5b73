from __future__ import annotations

import pytest

from fincome_airflow.month import BillingMonth
from fincome_airflow.params import RunOptions, dag_params

OCTOBER = BillingMonth(2026, 10)
#: Every resource, in the order they are loaded (written out: the test's own expectation).
LOAD_ORDER = ("products", "plans", "customers", "subscriptions", "invoices", "credit_notes")


def test_run_options_defaults_load_every_resource_in_order():
    options = RunOptions.from_params({}, OCTOBER)
    assert options.resources == LOAD_ORDER
    assert (options.dry_run, options.full_resync, options.max_reject_ratio) == (False, False, 0.05)


def test_run_options_keep_the_load_order_whatever_the_order_asked():
    options = RunOptions.from_params({"resources": ["invoices", "customers"]}, OCTOBER)
    assert options.resources == ("customers", "invoices")
    options = RunOptions.from_params({"resources": ["credit_notes", "plans"]}, OCTOBER)
    assert options.resources == ("plans", "credit_notes")


@pytest.mark.parametrize(
    ("params", "message"),
    [
        pytest.param({"resources": ["payments"]}, "unknown resources", id="unknown-resource"),
        pytest.param({"max_reject_ratio": 1.5}, "from 0 to 1", id="ratio-above-one"),
        pytest.param({"max_reject_ratio": -0.1}, "from 0 to 1", id="ratio-negative"),
        pytest.param({"max_reject_ratio": "0.1"}, "from 0 to 1", id="ratio-string"),
        pytest.param({"dry_run": "yes"}, "true or false", id="dry-run-string"),
    ],
)
def test_run_options_refuse_bad_trigger_input_with_a_clear_message(params, message):
    with pytest.raises(ValueError, match=message):
        RunOptions.from_params(params, OCTOBER)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        pytest.param("month", "2026-13", id="month-not-real"),
        pytest.param("resources", ["payments"], id="resource-unknown"),
        pytest.param("max_reject_ratio", 2, id="ratio-out-of-range"),
    ],
)
def test_param_schema_refuses_bad_trigger_input(name, value):
    from airflow.sdk.exceptions import ParamValidationError

    param = dag_params()[name]
    with pytest.raises(ParamValidationError):
        param.resolve(value)


def test_param_schema_accepts_the_defaults():
    resolved = {name: p.resolve() for name, p in dag_params().items()}
    assert resolved["month"] is None
    assert resolved["resources"] == list(LOAD_ORDER)
