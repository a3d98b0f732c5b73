import pytest

from fincome_airflow.money import add_amounts, format_amount, format_amounts, subtract_amounts


@pytest.mark.parametrize(
    ("currency", "amount", "expected"),
    [
        pytest.param("CHF", "6707", "CHF 6,707.00", id="grouped-two-decimals"),
        pytest.param("EUR", "0.5", "EUR 0.50", id="cents"),
        pytest.param("USD", "-1234567.891", "USD -1,234,567.89", id="negative-rounded"),
        pytest.param("GBP", None, "GBP 0.00", id="missing-is-zero"),
    ],
)
def test_format_amount_writes_currency_then_grouped_amount(currency, amount, expected):
    assert format_amount(currency, amount) == expected


def test_format_amounts_sorts_currencies_and_says_none_when_empty():
    assert format_amounts({"EUR": "1", "CHF": "2"}) == "CHF 2.00 · EUR 1.00"
    assert format_amounts({}) == "none"


def test_add_amounts_sums_per_currency():
    assert add_amounts({"CHF": "1.10"}, None, {"CHF": "2", "EUR": "3"}) == {
        "CHF": "3.10",
        "EUR": "3.00",
    }


def test_subtract_amounts_keeps_every_currency_of_either_side_to_the_cent():
    gross = {"CHF": "100.10", "EUR": "5"}
    credited = {"CHF": "0.15", "USD": "1.00"}
    assert subtract_amounts(gross, credited) == {"CHF": "99.95", "EUR": "5.00", "USD": "-1.00"}
    assert subtract_amounts(gross, None) == {"CHF": "100.10", "EUR": "5.00"}
