"""rate budgets shared by replicas: one row per tracker credential.

- ``rate_budget``: requests taken in the current window (``window_start``, ``used``) and until
  when the tracker asked everyone to wait (``blocked_until``, from a 429's Retry-After), so
  replicas sharing one token or site stay under its limit together. Times are Unix seconds.
  ``key`` is a hash of the credential, never the secret.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27 10:50:00

"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "rate_budget",
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("window_start", sa.Float(), nullable=False),
        sa.Column("used", sa.Integer(), nullable=False),
        sa.Column("blocked_until", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_rate_budget")),
    )


def downgrade() -> None:
    op.drop_table("rate_budget")
