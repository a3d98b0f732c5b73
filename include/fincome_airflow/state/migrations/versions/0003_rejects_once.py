"""Each distinct refusal stored once; ``fincome_rejects`` becomes a view (state/rejects.py).

The rows of the table ``fincome_rejects`` are copied: one ``fincome_reject_details`` row per
distinct refusal, and per run the ids of its refusals in ``fincome_run_rejects``. The view of
the same name gives readers the table's columns back. The downgrade rebuilds the table.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from alembic import op

from fincome_airflow.state.rejects import CREATE_VIEW, DETAIL_COLUMNS, digest

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_ID = sa.String(255)
_RES = sa.String(16)
_RUN = sa.String(250)
#: Rows copied per insert.
_BATCH = 5000


def _refusal_columns(*, keyed: bool = False) -> list[sa.Column]:
    """The refusal's columns; ``keyed``: with the first release's per-run primary key."""
    return [
        sa.Column("resource", _RES, nullable=False, primary_key=keyed),
        sa.Column("record_id", _ID, nullable=False, primary_key=keyed),
        sa.Column("seq", sa.Integer, nullable=False, primary_key=keyed),
        sa.Column("outcome", sa.String(8), nullable=False),
        sa.Column("reason_code", sa.String(64), nullable=False),
        sa.Column("field", sa.String(128)),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("blocked_by", sa.String(300)),
    ]


def upgrade() -> None:
    details = op.create_table(
        "fincome_reject_details",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("digest", sa.String(64), nullable=False, unique=True),
        *_refusal_columns(),
    )
    links = op.create_table(
        "fincome_run_rejects",
        sa.Column("run_key", _RUN, primary_key=True),
        sa.Column("batch", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("detail_ids", sa.Text, nullable=False),
    )
    old = sa.table("fincome_rejects", sa.column("run_key"), *map(sa.column, DETAIL_COLUMNS))
    conn = op.get_bind()
    _copy(conn, old, details, links)
    op.drop_table("fincome_rejects")
    op.execute(CREATE_VIEW[conn.dialect.name])


def _copy(conn: sa.Connection, old: Any, details: sa.Table, links: sa.Table) -> None:
    """Copy the old rows in batches, numbering the distinct refusals from 1."""
    ids: dict[str, int] = {}
    batches: dict[str, int] = {}
    result = conn.execute(sa.select(old), execution_options={"yield_per": _BATCH})
    for rows in result.mappings().partitions():
        new_details: list[dict[str, Any]] = []
        listed: dict[str, list[int]] = {}
        for row in rows:
            key = digest(row)
            if key not in ids:
                ids[key] = len(ids) + 1
                refusal = {c: row[c] for c in DETAIL_COLUMNS}
                new_details.append({"id": ids[key], "digest": key, **refusal})
            listed.setdefault(row["run_key"], []).append(ids[key])
        if new_details:
            conn.execute(details.insert(), new_details)
        for run_key, run_ids in listed.items():
            batches[run_key] = batches.get(run_key, 0) + 1
            row = {"run_key": run_key, "batch": batches[run_key], "detail_ids": json.dumps(run_ids)}
            conn.execute(links.insert(), row)
    if ids and conn.dialect.name == "postgresql":
        # Ids were given explicitly: move the sequence past them.
        conn.execute(
            sa.text("SELECT setval(pg_get_serial_sequence('fincome_reject_details', 'id'), :last)"),
            {"last": len(ids)},
        )


def downgrade() -> None:
    op.execute(
        "CREATE TABLE fincome_rejects_restored AS SELECT run_key, resource, record_id, seq, "
        "outcome, reason_code, field, message, blocked_by FROM fincome_rejects"
    )
    op.execute("DROP VIEW fincome_rejects")
    op.create_table(
        "fincome_rejects",
        sa.Column("run_key", _RUN, primary_key=True),
        *_refusal_columns(keyed=True),
    )
    op.execute("INSERT INTO fincome_rejects SELECT * FROM fincome_rejects_restored")
    op.drop_table("fincome_rejects_restored")
    op.drop_table("fincome_run_rejects")
    op.drop_table("fincome_reject_details")
