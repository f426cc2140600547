"""More than half of each ``decisions`` page free on PostgreSQL (fillfactor 45, was 70).

The first status pull rewrites every decision's status columns. At fillfactor 70 a page of
decisions had room for the new versions of only some of its rows (425 of 1,000 in
tests/store/test_postgres_store.py), so the others left their page and touched the table's
five indexes; at 45 every new version fits beside the old one (a HOT update; 50 still left one
row in ten out). bench/pull_pg.py, the UPDATE of 1,000 decisions: 17.1 ms at 70, 8.5 ms at 45.
The table holds a row per decision, so about twice its packed size costs little. SQLite has
no such setting: nothing changes there. Like 0006 it applies to the pages written from now on.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27 21:30:00

"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE decisions SET (fillfactor = 45)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE decisions SET (fillfactor = 70)")
