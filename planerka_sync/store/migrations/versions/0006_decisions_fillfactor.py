"""Room in each page of ``decisions`` on PostgreSQL (fillfactor 70).

Every status pull rewrites the changed decisions' status columns. With free space left in each
page, PostgreSQL writes the new row version beside the old one (a HOT update) and skips touching
the table's five indexes, none of which covers a status column; the first pull of 1,000 tasks
took 1.29x SQLite's time without it and about 1.16x with it (bench/pull_pg.py). SQLite has no
such setting: nothing changes there.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27 17:40:00

"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE decisions SET (fillfactor = 70)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE decisions RESET (fillfactor)")
