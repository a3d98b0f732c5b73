"""Tables of the sync-state database (connection ``fincome_state``), as the code uses them.

Made by the Alembic migrations in ``migrations/versions/`` (applied on first use by
:meth:`fincome_airflow.state.store.StateStore.ensure_schema`, or by ``python -m
fincome_airflow.state migrate``): a change here needs a new migration, and
``tests/integration/test_state_migrations.py`` fails until the head revision matches.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
)

metadata = MetaData()

_ID = String(255)
_RES = String(16)
_RUN = String(250)

#: The first release's version marker (holds 1); Alembic's ``fincome_alembic_version`` took over.
schema_version = Table(
    "fincome_schema_version",
    metadata,
    Column("version", Integer, primary_key=True),
)

#: One row per load run: month, status and the audit summary (JSON text).
runs = Table(
    "fincome_runs",
    metadata,
    Column("run_key", _RUN, primary_key=True),
    Column("month", String(7), nullable=False, index=True),
    Column("status", String(16), nullable=False),
    # ``monthly`` or ``intraday`` (fincome_airflow/kinds.py): each kind has its own watermark.
    Column("kind", String(16), nullable=False, server_default="monthly"),
    Column("dry_run", Boolean, nullable=False, default=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True)),
    Column("max_updated_at", DateTime),
    # The extract task's report (JSON), kept even when the run stops at the reject gate.
    Column("stage_report", Text),
    Column("summary", Text),
    # When and why the run's staged payloads were removed (state/retention.py): it can no
    # longer resume.
    Column("staged_removed_at", DateTime(timezone=True)),
    Column("staged_removed_why", String(16)),
)

#: The records a run validated, ready to send (``action`` upsert) or to delete (``delete``).
staged = Table(
    "fincome_staged",
    metadata,
    Column("run_key", _RUN, primary_key=True),
    Column("resource", _RES, primary_key=True),
    Column("record_id", _ID, primary_key=True),
    Column("action", String(8), nullable=False),
    Column("payload", Text),
    Column("payload_hash", String(64)),
    # Denormalized from the payload, so that audits sum amounts per currency in SQL.
    Column("currency", String(3)),
    Column("net_amount", Numeric(20, 2)),
)

#: Each distinct refusal once (state/rejects.py): a record refused again by later runs with the
#: same reason, field, message and blocker keeps its one row; ``digest`` is their SHA-256.
reject_details = Table(
    "fincome_reject_details",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("digest", String(64), nullable=False, unique=True),
    Column("resource", _RES, nullable=False),
    Column("record_id", _ID, nullable=False),
    Column("seq", Integer, nullable=False),
    Column("outcome", String(8), nullable=False),
    Column("reason_code", String(64), nullable=False),
    Column("field", String(128)),
    Column("message", Text, nullable=False),
    Column("blocked_by", String(300)),
)

#: Which refusals each run made: per run and write batch, the refusals' ids as a JSON array
#: (a few bytes per refusal, however many runs list it again).
run_rejects = Table(
    "fincome_run_rejects",
    metadata,
    Column("run_key", _RUN, primary_key=True),
    Column("batch", Integer, primary_key=True, autoincrement=False),
    Column("detail_ids", Text, nullable=False),
)

#: Views over the tables above, made by the migrations; readers query them like tables.
views = MetaData()

#: Records a run refused: ``rejected`` (own defect) or ``blocked`` (a parent was refused);
#: the view joining ``fincome_run_rejects`` to ``fincome_reject_details``, one row per run and
#: refusal. Write through :func:`fincome_airflow.state.rejects.record_rejects`.
rejects = Table(
    "fincome_rejects",
    views,
    Column("run_key", _RUN),
    Column("detail_id", Integer),
    Column("resource", _RES),
    Column("record_id", _ID),
    Column("seq", Integer),
    Column("outcome", String(8)),
    Column("reason_code", String(64)),
    Column("field", String(128)),
    Column("message", Text),
    Column("blocked_by", String(300)),
)

#: What Fincome confirmed, per record: the hash of the last accepted payload.
ledger = Table(
    "fincome_ledger",
    metadata,
    Column("resource", _RES, primary_key=True),
    Column("record_id", _ID, primary_key=True),
    Column("payload_hash", String(64)),
    Column("deleted", Boolean, nullable=False, default=False),
    Column("run_key", _RUN),
    Column("confirmed_at", DateTime(timezone=True), nullable=False),
)

#: Per-record outcome of each run's sends (created, updated, rejected, failed, deleted, ...).
outcomes = Table(
    "fincome_outcomes",
    metadata,
    Column("run_key", _RUN, primary_key=True),
    Column("resource", _RES, primary_key=True),
    Column("record_id", _ID, primary_key=True),
    Column("outcome", String(16), nullable=False),
    Column("http_status", Integer),
    Column("reason", Text),
    Column("at", DateTime(timezone=True), nullable=False),
)

#: Records refused in some run and not yet confirmed: later runs extract them again, so that a
#: blocked record goes out once its parent passes. A monthly run reads them all again; an
#: intraday sync only when their refusal can have changed (``extract/rereads.py``): ``reread``
#: ``always`` (failed sends, refusals that depend on the clock or the rest of the load) or
#: ``on_change`` (when the row itself or a record of ``watch``, space-separated
#: ``resource/id``, changed in the ERP or was confirmed after ``refused_at``).
pending = Table(
    "fincome_pending",
    metadata,
    Column("resource", _RES, primary_key=True),
    Column("record_id", _ID, primary_key=True),
    Column("since_run_key", _RUN, nullable=False),
    Column("reread", String(16), nullable=False, server_default="always"),
    Column("watch", Text),
    Column("refused_at", DateTime(timezone=True)),
)

#: One lock per month: two runs of the same month cannot send at once.
month_locks = Table(
    "fincome_month_locks",
    metadata,
    Column("month", String(7), primary_key=True),
    Column("run_key", _RUN, nullable=False),
    Column("acquired_at", DateTime(timezone=True), nullable=False),
)

#: The reconciliation of a run: its verdict (JSON text) and the file listing the differences.
reconciliations = Table(
    "fincome_reconciliations",
    metadata,
    Column("run_key", _RUN, primary_key=True),
    Column("month", String(7), nullable=False),
    Column("verdict", Text, nullable=False),
    Column("file", Text),
    Column("at", DateTime(timezone=True), nullable=False),
)

#: Each difference a reconciliation found.
differences = Table(
    "fincome_differences",
    metadata,
    Column("run_key", _RUN, primary_key=True),
    Column("resource", _RES, primary_key=True),
    Column("record_id", _ID, primary_key=True),
    Column("kind", String(8), nullable=False),
    Column("currency", String(3)),
    Column("amount_at_stake", Numeric(20, 2)),
    Column("fields", Text),
    Column("detail", Text),
)
