"""``fincome_dev.schema_checks``: the fork server's children check a Param schema against its
metaschema once, with the outcomes of ``jsonschema`` and Airflow's ``Param`` unchanged."""

from __future__ import annotations

import jsonschema
import pytest
from airflow.sdk import Param
from airflow.sdk.definitions.param import ParamValidationError

from fincome_dev.schema_checks import DRAFTS, check_each_schema_once

MONTH = {"type": "string", "pattern": r"^\d{4}-\d{2}$"}


@pytest.fixture
def checked_once(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """The memo installed for this test only; the schemas the metaschema validator was asked
    about (a spy on the real ``iter_errors``, which still runs)."""
    for draft in DRAFTS:
        monkeypatch.setattr(draft, "check_schema", draft.__dict__["check_schema"])
    asked: list[object] = []
    real = jsonschema.Draft202012Validator.iter_errors

    def iter_errors(self, instance, *args, **kwargs):
        if self.schema is jsonschema.Draft202012Validator.META_SCHEMA:
            asked.append(instance)
        return real(self, instance, *args, **kwargs)

    monkeypatch.setattr(jsonschema.Draft202012Validator, "iter_errors", iter_errors)
    check_each_schema_once()
    check_each_schema_once()  # idempotent: one memo, not two
    return asked


def test_a_schema_that_passed_is_not_checked_against_the_metaschema_again(checked_once):
    param = Param("2026-10", schema=MONTH)
    for _ in range(5):
        assert param.resolve() == "2026-10"
    assert checked_once == [MONTH]


def test_a_value_is_still_validated_on_every_resolve(checked_once):
    param = Param("2026-10", schema=MONTH)
    param.resolve()
    for _ in range(2):
        with pytest.raises(ParamValidationError, match="does not match"):
            param.resolve("October")
    assert checked_once == [MONTH]


def test_an_invalid_schema_raises_every_time(checked_once):
    broken = {"type": 12}
    for _ in range(2):
        with pytest.raises(jsonschema.SchemaError):
            jsonschema.validate("2026-10", broken)
    assert checked_once == [broken, broken]


def test_equal_schemas_share_their_check_and_other_drafts_keep_theirs(checked_once):
    jsonschema.validate("2026-10", dict(MONTH))
    jsonschema.validate("2026-10", {"pattern": MONTH["pattern"], "type": "string"})
    jsonschema.Draft7Validator.check_schema(MONTH)
    with pytest.raises(jsonschema.SchemaError):
        jsonschema.Draft4Validator.check_schema({"minimum": 1, "exclusiveMinimum": 2})
    assert checked_once == [MONTH]
