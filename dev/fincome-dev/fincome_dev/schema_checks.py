"""Each JSON schema checked against its metaschema once per process, in the Airflow commands and
components of a local runtime (tests and tools only, never the product).

Airflow resolves a DAG's Params with ``jsonschema.validate``, which checks the Param's *schema*
against the JSON Schema metaschema before it checks the value, on every resolve. A ``dags test``
of the monthly DAG resolves its Params 1,330 times (each task's context, each serialization of the
DAG): the metaschema check was a quarter of the run's CPU (6.4 of 27.5 s, cProfile). Its outcome
depends on the schema alone, so a schema that passed once is not checked again; one that fails
is checked, and raises, every time. The value is still validated on every resolve.
"""

from __future__ import annotations

import json
from typing import Any

import jsonschema

#: The validator classes ``jsonschema.validate`` may pick by a schema's ``$schema``.
DRAFTS: tuple[type, ...] = (
    jsonschema.Draft3Validator,
    jsonschema.Draft4Validator,
    jsonschema.Draft6Validator,
    jsonschema.Draft7Validator,
    jsonschema.Draft201909Validator,
    jsonschema.Draft202012Validator,
)
_MARK = "__fincome_checked_once__"


def check_each_schema_once() -> None:
    """Make each of :data:`DRAFTS`' ``check_schema`` skip a schema it has passed before (with the
    default format checker; a call with its own checker always checks). Idempotent."""
    for draft in DRAFTS:
        if getattr(draft.check_schema, _MARK, False):
            continue
        draft.check_schema = _checked_once(draft.check_schema)


def _checked_once(check: Any) -> classmethod:
    passed: set[tuple[type, str]] = set()

    def check_schema(cls: type, schema: Any, *args: Any, **kwargs: Any) -> None:
        if args or kwargs:
            return check.__func__(cls, schema, *args, **kwargs)
        key = (cls, json.dumps(schema, sort_keys=True, default=repr))
        if key not in passed:
            check.__func__(cls, schema)
            passed.add(key)
        return None

    setattr(check_schema, _MARK, True)
    return classmethod(check_schema)
