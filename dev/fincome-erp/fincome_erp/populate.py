"""Fill an ERP database: install the schema, generate, write, and check the counts."""

from __future__ import annotations

from sqlalchemy.engine import Engine, make_url

from fincome_erp.config import GeneratorConfig
from fincome_erp.ddl import clear_tables, install_schema, row_counts
from fincome_erp.generator import generate
from fincome_erp.manifest import Manifest
from fincome_erp.writers import writer_for


class ErpNotEmptyError(RuntimeError):
    """The ERP already holds rows and ``replace`` was not asked for."""


def populate(engine: Engine, config: GeneratorConfig, *, replace: bool = False) -> Manifest:
    """Install the schema and write the generated rows in one transaction.

    :param engine: an ERP engine (:func:`fincome_airflow.engines.erp_engine`).
    :param replace: empty the ERP tables first; without it a non-empty ERP is an error.
    :raise ErpNotEmptyError: when the ERP holds rows and ``replace`` is false.
    """
    install_schema(engine)
    if replace:
        clear_tables(engine)
    elif any(row_counts(engine).values()):
        url = make_url(engine.url).render_as_string(hide_password=True)
        raise ErpNotEmptyError(f"the ERP at {url} already holds rows; pass replace/--replace")
    with writer_for(engine) as writer:
        manifest = generate(config, writer.add)
    return manifest
