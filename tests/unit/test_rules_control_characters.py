"""Identifiers and texts are refused for a control character, and only for one, whatever the
character (every one of the Basic Multilingual Plane): the rules ask ``str.isprintable``
before searching for one."""

from __future__ import annotations

import re

import pytest
from pydantic_core import PydanticCustomError

from fincome_airflow.models import rules

CONTROL = re.compile("[\x00-\x1f\x7f]")


def _refused(rule, value: str) -> str | None:
    try:
        rule(value)
    except PydanticCustomError as error:
        return error.type
    return None


@pytest.mark.parametrize(
    ("rule", "code"), [(rules.identifier, "invalid_identifier"), (rules.text, "invalid_text")]
)
def test_a_text_is_refused_for_a_control_character_and_for_no_other_character(rule, code) -> None:
    refused = {c: _refused(rule, f"a{c}b") for c in map(chr, range(0x10000))}
    assert {c for c, why in refused.items() if why} == {c for c in refused if CONTROL.search(c)}
    assert set(refused.values()) == {None, code}
    # unprintable, but not control characters
    assert _refused(rule, "\U0001f600 \u2028\xa0été") is None
