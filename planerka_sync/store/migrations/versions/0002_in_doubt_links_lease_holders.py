"""in-doubt creates and back-link steps on decisions; lease holders named by host and pid.

- ``decisions.sent_at``: when the last create was sent. A row left ``creating`` (its answer was
  lost, or the tracker answered 5xx) stays in doubt until the tracker shows the task or the
  settle time since ``sent_at`` has passed.
- ``meetings.sent_at``: the same for the create of a meeting item.
- ``decisions.linked_at`` / ``decisions.link_attempts``: the link back to the meeting is its own
  idempotent step after the create; NULL means not yet done. Tasks created before this revision
  got their link in the same step as the create, so they count as linked.
- ``leases.host`` / ``leases.pid``: who holds a lease, so a CLI on the same host can take over
  at once from a holder whose process is gone, and Busy can name the holder.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 09:50:00

"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("decisions") as batch:
        batch.add_column(sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("linked_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("link_attempts", sa.Integer(), nullable=False,
                                   server_default="0"))
    op.execute("UPDATE decisions SET linked_at = updated_at WHERE task_id IS NOT NULL")
    with op.batch_alter_table("meetings") as batch:
        batch.add_column(sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("leases") as batch:
        batch.add_column(sa.Column("host", sa.String(length=255), nullable=True))
        batch.add_column(sa.Column("pid", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("meetings") as batch:
        batch.drop_column("sent_at")
    with op.batch_alter_table("leases") as batch:
        batch.drop_column("pid")
        batch.drop_column("host")
    with op.batch_alter_table("decisions") as batch:
        batch.drop_column("link_attempts")
        batch.drop_column("linked_at")
        batch.drop_column("sent_at")
