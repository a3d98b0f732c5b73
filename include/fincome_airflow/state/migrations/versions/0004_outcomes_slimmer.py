"""Outcomes lose what nothing reads: the sent payload's hash and the (run_key, outcome) index.

The ledger keeps the hash of what Fincome last confirmed (change detection needs nothing more);
the primary key (run_key, resource, record_id) serves every per-run query of the outcomes.
Together they were about 40% of ``fincome_outcomes``, the largest table after a year of loads.
The downgrade restores the column (filled from the ledger where the run is the one that
confirmed the record) and the index.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_INDEX = "ix_fincome_outcomes_outcome"


def upgrade() -> None:
    op.drop_index(_INDEX, table_name="fincome_outcomes")
    with op.batch_alter_table("fincome_outcomes") as batch:
        batch.drop_column("payload_hash")


def downgrade() -> None:
    with op.batch_alter_table("fincome_outcomes") as batch:
        batch.add_column(sa.Column("payload_hash", sa.String(64)))
    op.execute(
        "UPDATE fincome_outcomes SET payload_hash = (SELECT l.payload_hash FROM fincome_ledger l "
        "WHERE l.resource = fincome_outcomes.resource AND l.record_id = fincome_outcomes.record_id "
        "AND l.run_key = fincome_outcomes.run_key)"
    )
    op.create_index(_INDEX, "fincome_outcomes", ["run_key", "outcome"])
