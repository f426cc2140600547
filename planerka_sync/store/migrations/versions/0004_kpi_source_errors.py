"""KPI source errors kept with the period they were for.

- ``kpi_values.error``: when a source could not give a metric's value for a period, the kind of
  failure (``unreachable``, ``http:503``, ... see ``kpi_sources.common.SourceFailure``) is kept
  on a row whose ``value`` is NULL, so every surface that reads the DB (``kpi show``, the report,
  the Power-Up) says why the period has no value, not only the run that asked the source.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27 13:00:00

"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("kpi_values") as batch:
        batch.add_column(sa.Column("error", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("kpi_values") as batch:
        batch.drop_column("error")
