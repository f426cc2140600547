"""Use cases. Each plans from the config, the state DB and what the tracker holds, then executes
step by step, recording every step in the state DB before and after the tracker write."""

from planerka_sync.service.app import App, schedule_of, utc_now
from planerka_sync.service.doctor import check
from planerka_sync.service.prepare import (
    PrepareOutcome,
    PreparePlan,
    execute,
    plan_prepare,
    prepare,
)

__all__ = [
    "App",
    "PrepareOutcome",
    "PreparePlan",
    "check",
    "execute",
    "plan_prepare",
    "prepare",
    "schedule_of",
    "utc_now",
]
