"""OpenLineage datasets of the load: the ERP tables a resource's records come from, and the
Fincome resource they are written to, with record counts.

The ``apache-airflow-providers-openlineage`` provider is optional (extra ``[openlineage]``):
this module imports nothing of it until :func:`operator_lineage` runs, which the provider's
listener calls only when it is installed. Namespaces follow OpenLineage's naming
(``postgres://host:port``, ``mysql://host:port``) and never hold credentials.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from airflow.providers.openlineage.extractors import OperatorLineage
    from airflow.sdk import Connection

#: The ERP connection the extraction reads (the DAG's ``erp_db``).
DEFAULT_ERP_CONN_ID: Final = "erp_db"
#: The ERP tables each resource's records come from (the extraction SQL, ``extract/sql``; the
#: other tables it joins only choose which records are in the month).
ERP_TABLES: Final[Mapping[str, tuple[str, ...]]] = {
    "products": ("products",),
    "plans": ("plans",),
    "customers": ("customers",),
    "subscriptions": ("contracts",),
    "invoices": ("invoices", "invoice_lines"),
    "credit_notes": ("credit_notes", "credit_note_lines"),
}
#: The ERP's schema on PostgreSQL (the ERP engine's search path, ``engines.py``).
POSTGRES_ERP_SCHEMA: Final = "erp"
_DEFAULT_PORTS: Final = {"postgres": 5432, "mysql": 3306}
_SCHEMES: Final = {"postgresql": "postgres", "mariadb": "mysql"}


@dataclass(frozen=True)
class DatasetRef:
    """One OpenLineage dataset and how many records the task read from or wrote to it."""

    namespace: str
    name: str
    records: int | None = None


def database_location(conn: Connection) -> tuple[str, str]:
    """``(namespace, name prefix)`` of the tables of a database connection (no credentials).

    A ``sqlalchemy_url`` extra (see ``engines.py``) wins over the connection's fields.
    """
    from sqlalchemy.engine import make_url

    from fincome_airflow.engines import URL_EXTRA

    url = (conn.extra_dejson or {}).get(URL_EXTRA)
    if url:
        parsed = make_url(url)
        kind, host, port, database = (
            parsed.get_backend_name(),
            parsed.host,
            parsed.port,
            parsed.database,
        )
    else:
        kind, host, port, database = conn.conn_type, conn.host, conn.port, conn.schema
    kind = _SCHEMES.get(kind, kind)
    if kind == "sqlite":
        return f"sqlite://{database or host}", ""
    port = port or _DEFAULT_PORTS.get(kind)
    namespace = f"{kind}://{host}" + (f":{port}" if port else "")
    schema = f".{POSTGRES_ERP_SCHEMA}" if kind == "postgres" else ""
    return namespace, f"{database}{schema}." if database else ""


def erp_datasets(conn: Connection, resource: str, records: int | None) -> list[DatasetRef]:
    """The ERP tables ``resource`` comes from; ``records`` is counted on its first (main) table."""
    namespace, prefix = database_location(conn)
    return [
        DatasetRef(namespace, f"{prefix}{table}", records if i == 0 else None)
        for i, table in enumerate(ERP_TABLES[resource])
    ]


def fincome_namespace(base_url: str) -> str:
    """The Fincome API's namespace: its base URL without credentials, query or trailing ``/``."""
    parts = urlsplit(base_url)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return f"{parts.scheme}://{netloc}{parts.path.rstrip('/')}"


def operator_lineage(
    inputs: Iterable[DatasetRef], outputs: Iterable[DatasetRef]
) -> OperatorLineage:
    """The provider's ``OperatorLineage`` (imported here, so only when the provider runs it)."""
    from airflow.providers.openlineage.extractors import OperatorLineage
    from openlineage.client.event_v2 import InputDataset, OutputDataset
    from openlineage.client.facet_v2 import input_statistics_input_dataset as input_stats
    from openlineage.client.facet_v2 import output_statistics_output_dataset as output_stats

    def datasets(kind: str, refs: Iterable[DatasetRef]) -> list[Any]:
        dataset, facet, stats = {
            "input": (InputDataset, "inputFacets", input_stats.InputStatisticsInputDatasetFacet),
            "output": (
                OutputDataset,
                "outputFacets",
                output_stats.OutputStatisticsOutputDatasetFacet,
            ),
        }[kind]
        return [
            dataset(
                ref.namespace,
                ref.name,
                **{facet: {} if ref.records is None else {f"{kind}Statistics": stats(ref.records)}},
            )
            for ref in refs
        ]

    return OperatorLineage(inputs=datasets("input", inputs), outputs=datasets("output", outputs))


def extract_datasets(conn: Connection, report: Mapping[str, Any]) -> list[DatasetRef]:
    """The ERP tables the extraction read, with the records of each resource it extracted
    (the stage report's counts)."""
    counts = report.get("counts") or {}
    return [
        ref
        for resource in ERP_TABLES
        for ref in erp_datasets(conn, resource, (counts.get(resource) or {}).get("extracted"))
    ]


def attach_extract_lineage(task: Any, erp_conn_id: str, report: Mapping[str, Any]) -> None:
    """Give the running TaskFlow ``extract`` task the OpenLineage method operators have.

    A ``@task`` cannot define ``get_openlineage_facets_on_complete``; the provider's listener
    looks for it on this very instance once the task has succeeded. Without the provider the
    method is never called.
    """
    from airflow.sdk import BaseHook

    inputs = extract_datasets(BaseHook.get_connection(erp_conn_id), report)
    task.get_openlineage_facets_on_complete = lambda _ti: operator_lineage(inputs, [])
