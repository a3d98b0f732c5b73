"""Runs record their kind: ``monthly`` (the close of a month) or ``intraday`` (the hourly sync).

Each kind reads its own change watermark (``StateStore.last_watermark``): the intraday sync
never moves the monthly one. Runs before this revision were all monthly.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("fincome_runs") as batch:
        batch.add_column(sa.Column("kind", sa.String(16), nullable=False, server_default="monthly"))


def downgrade() -> None:
    with op.batch_alter_table("fincome_runs") as batch:
        batch.drop_column("kind")
