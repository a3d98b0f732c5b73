"""Pending records say when an intraday sync must read them again.

``reread`` (``always`` or ``on_change``), ``watch`` (the records, ``resource/id``, whose change
or confirmation can change the refusal) and ``refused_at`` (when it was last refused): an
intraday sync reads again only the refusals that can have changed (``extract/rereads.py``).
Rows written before this revision read ``always``: every sync reads them, as before.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("fincome_pending") as batch:
        batch.add_column(
            sa.Column("reread", sa.String(16), nullable=False, server_default="always")
        )
        batch.add_column(sa.Column("watch", sa.Text()))
        batch.add_column(sa.Column("refused_at", sa.DateTime(timezone=True)))


def downgrade() -> None:
    with op.batch_alter_table("fincome_pending") as batch:
        batch.drop_column("refused_at")
        batch.drop_column("watch")
        batch.drop_column("reread")
