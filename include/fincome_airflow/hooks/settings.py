"""The hook's settings, read from the ``fincome`` connection's extras.

Defaults come from the connection form's declaration (:data:`provider_info.CONN_FIELDS`), so
that the form and the hook can never disagree. The shared budget's store may instead come from
the workers' environment (:data:`BUDGET_STORE_ENV`), where a URL with a password belongs.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from fincome_airflow.exceptions import FincomeConfigError
from fincome_airflow.hooks.redact import register_with_airflow
from fincome_airflow.provider_info import CONN_FIELDS

#: Earlier name of ``key_header``, still read (Airflow masks its value: see provider_info).
LEGACY_KEY_HEADER: Final = "api_key_header"
#: Extras that configure the hook; they are never sent as HTTP headers.
SETTING_KEYS: Final = frozenset(CONN_FIELDS) | {LEGACY_KEY_HEADER}
#: The shared budget's store when the connection's ``budget_store`` extra is empty.
BUDGET_STORE_ENV: Final = "FINCOME_BUDGET_STORE"
#: URL schemes of a shared budget store (Redis).
BUDGET_STORE_SCHEMES: Final = ("redis://", "rediss://", "unix://")


def _default(key: str) -> Any:
    return CONN_FIELDS[key]["schema"]["default"]


@dataclass(frozen=True, slots=True)
class FincomeSettings:
    key_header: str = _default("key_header")
    requests_per_second: float = float(_default("requests_per_second"))
    max_concurrency: int = int(_default("max_concurrency"))
    timeout: float = float(_default("timeout"))
    retry_budget: float = float(_default("retry_budget"))
    #: Redis URL of the budget shared by every worker; empty: the in-process budget.
    budget_store: str = ""

    @classmethod
    def from_extra(cls, extra: Mapping[str, Any]) -> FincomeSettings:
        """Read the settings; empty values take the default.

        :raise ValueError: when a value has the wrong type or is out of range.
        """

        def pick(key: str, cast: type) -> Any:
            value = extra.get(key)
            if value is None or value == "":
                return cast(_default(key))
            try:
                return cast(value)
            except (TypeError, ValueError) as e:
                raise ValueError(f"connection extra {key!r} must be a {cast.__name__}") from e

        if not extra.get("key_header") and extra.get(LEGACY_KEY_HEADER):
            extra = {**extra, "key_header": extra[LEGACY_KEY_HEADER]}
        settings = cls(
            key_header=str(pick("key_header", str)).strip(),
            requests_per_second=pick("requests_per_second", float),
            max_concurrency=pick("max_concurrency", int),
            timeout=pick("timeout", float),
            retry_budget=pick("retry_budget", float),
            budget_store=_budget_store(extra),
        )
        for key in ("requests_per_second", "max_concurrency", "timeout", "retry_budget"):
            schema = CONN_FIELDS[key]["schema"]
            value = getattr(settings, key)
            if value < schema.get("minimum", 0) or value > schema.get("maximum", float("inf")):
                raise ValueError(f"connection extra {key!r} is out of range: {value}")
        if not settings.key_header:
            raise ValueError("connection extra 'key_header' must not be empty")
        return settings


def connection_settings(conn_id: str, connection: Any) -> FincomeSettings:
    """The settings of the ``fincome`` connection ``connection`` (its key masked in task logs).

    :raise FincomeConfigError: it has no API key, or an extra is wrong.
    """
    register_with_airflow(connection.password)
    if not connection.password:
        raise FincomeConfigError(f"Connection {conn_id!r} has no API key.")
    try:
        return FincomeSettings.from_extra(connection.extra_dejson)
    except ValueError as e:
        raise FincomeConfigError(f"Connection {conn_id!r}: {e}") from e


def read_settings(conn_id: str) -> FincomeSettings:
    """:func:`connection_settings` of a connection id, without the hook: the chunk planning
    tasks need the rate only, not the HTTP stack (~0.12 s of CPU to import)."""
    from airflow.sdk import BaseHook

    return connection_settings(conn_id, BaseHook.get_connection(conn_id))


def _budget_store(extra: Mapping[str, Any]) -> str:
    """The ``budget_store`` extra, else :data:`BUDGET_STORE_ENV`, else empty (in-process).

    :raise ValueError: when it is not a Redis URL (the message never shows the URL: it may
        hold a password).
    """
    store = str(extra.get("budget_store") or os.environ.get(BUDGET_STORE_ENV) or "").strip()
    if store and not store.startswith(BUDGET_STORE_SCHEMES):
        raise ValueError(
            f"the shared budget store (extra 'budget_store' or {BUDGET_STORE_ENV}) must be a "
            f"URL starting with {', '.join(BUDGET_STORE_SCHEMES)}"
        )
    return store
