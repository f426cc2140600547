"""Indexes for the webhook path's lookups.

A delivery names a card or issue by its tracker id (Trello, Jira) or key (Jira); serve finds the
meeting made as that item (``meetings.item_id`` / ``item_key``) or the decision whose task it is
(``decisions.task_id`` was indexed already; ``task_key`` now too) without a full table scan.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27 17:00:00

"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("meetings") as batch:
        batch.create_index(batch.f("ix_meetings_item_id"), ["item_id"], unique=False)
        batch.create_index(batch.f("ix_meetings_item_key"), ["item_key"], unique=False)
    with op.batch_alter_table("decisions") as batch:
        batch.create_index(batch.f("ix_decisions_task_key"), ["task_key"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("decisions") as batch:
        batch.drop_index(batch.f("ix_decisions_task_key"))
    with op.batch_alter_table("meetings") as batch:
        batch.drop_index(batch.f("ix_meetings_item_key"))
        batch.drop_index(batch.f("ix_meetings_item_id"))
