"""Runs record when and why their staged payloads were removed (state/retention.py).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("fincome_runs") as batch:
        batch.add_column(sa.Column("staged_removed_at", sa.DateTime(timezone=True)))
        batch.add_column(sa.Column("staged_removed_why", sa.String(16)))


def downgrade() -> None:
    with op.batch_alter_table("fincome_runs") as batch:
        batch.drop_column("staged_removed_why")
        batch.drop_column("staged_removed_at")
