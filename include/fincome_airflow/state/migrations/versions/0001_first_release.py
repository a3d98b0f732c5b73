"""The first release's schema.

What ``StateStore.ensure_schema`` created before there were migrations, frozen: the tables are
written out here, not imported from ``schema.py``, which moves on. A database the first release
made (these tables and ``fincome_schema_version`` = 1, no version table) is stamped at this
revision instead of running it.

Revision ID: 0001
Revises:
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_ID = sa.String(255)
_RES = sa.String(16)
_RUN = sa.String(250)
_TZ = sa.DateTime(timezone=True)
_MONEY = sa.Numeric(20, 2)

#: Every table, in creation order (the downgrade drops them in reverse; the first release's
#: databases are recognised by them).
TABLES = (
    "fincome_schema_version",
    "fincome_runs",
    "fincome_staged",
    "fincome_rejects",
    "fincome_ledger",
    "fincome_outcomes",
    "fincome_pending",
    "fincome_month_locks",
    "fincome_reconciliations",
    "fincome_differences",
)


def _run_record_key() -> list[sa.Column]:
    """The primary key of the tables holding one row per run and record."""
    return [
        sa.Column("run_key", _RUN, primary_key=True),
        sa.Column("resource", _RES, primary_key=True),
        sa.Column("record_id", _ID, primary_key=True),
    ]


def upgrade() -> None:
    version = op.create_table(
        "fincome_schema_version",
        sa.Column("version", sa.Integer, primary_key=True),
    )
    op.bulk_insert(version, [{"version": 1}])
    op.create_table(
        "fincome_runs",
        sa.Column("run_key", _RUN, primary_key=True),
        sa.Column("month", sa.String(7), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("dry_run", sa.Boolean, nullable=False),
        sa.Column("created_at", _TZ, nullable=False),
        sa.Column("finished_at", _TZ),
        sa.Column("max_updated_at", sa.DateTime),
        sa.Column("stage_report", sa.Text),
        sa.Column("summary", sa.Text),
    )
    op.create_index("ix_fincome_runs_month", "fincome_runs", ["month"])
    op.create_table(
        "fincome_staged",
        *_run_record_key(),
        sa.Column("action", sa.String(8), nullable=False),
        sa.Column("payload", sa.Text),
        sa.Column("payload_hash", sa.String(64)),
        sa.Column("currency", sa.String(3)),
        sa.Column("net_amount", _MONEY),
    )
    op.create_table(
        "fincome_rejects",
        *_run_record_key(),
        sa.Column("seq", sa.Integer, primary_key=True),
        sa.Column("outcome", sa.String(8), nullable=False),
        sa.Column("reason_code", sa.String(64), nullable=False),
        sa.Column("field", sa.String(128)),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("blocked_by", sa.String(300)),
    )
    op.create_table(
        "fincome_ledger",
        sa.Column("resource", _RES, primary_key=True),
        sa.Column("record_id", _ID, primary_key=True),
        sa.Column("payload_hash", sa.String(64)),
        sa.Column("deleted", sa.Boolean, nullable=False),
        sa.Column("run_key", _RUN),
        sa.Column("confirmed_at", _TZ, nullable=False),
    )
    op.create_table(
        "fincome_outcomes",
        *_run_record_key(),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("http_status", sa.Integer),
        sa.Column("reason", sa.Text),
        sa.Column("payload_hash", sa.String(64)),
        sa.Column("at", _TZ, nullable=False),
    )
    op.create_index("ix_fincome_outcomes_outcome", "fincome_outcomes", ["run_key", "outcome"])
    op.create_table(
        "fincome_pending",
        sa.Column("resource", _RES, primary_key=True),
        sa.Column("record_id", _ID, primary_key=True),
        sa.Column("since_run_key", _RUN, nullable=False),
    )
    op.create_table(
        "fincome_month_locks",
        sa.Column("month", sa.String(7), primary_key=True),
        sa.Column("run_key", _RUN, nullable=False),
        sa.Column("acquired_at", _TZ, nullable=False),
    )
    op.create_table(
        "fincome_reconciliations",
        sa.Column("run_key", _RUN, primary_key=True),
        sa.Column("month", sa.String(7), nullable=False),
        sa.Column("verdict", sa.Text, nullable=False),
        sa.Column("file", sa.Text),
        sa.Column("at", _TZ, nullable=False),
    )
    op.create_table(
        "fincome_differences",
        *_run_record_key(),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("currency", sa.String(3)),
        sa.Column("amount_at_stake", _MONEY),
        sa.Column("fields", sa.Text),
        sa.Column("detail", sa.Text),
    )


def downgrade() -> None:
    for name in reversed(TABLES):
        op.drop_table(name)
