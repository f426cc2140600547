"""Use cases. Each plans from the config, the state DB and what the tracker holds, then executes
step by step, recording every step in the state DB before and after the tracker write.

The names below are imported on first use (PEP 562): ``sync`` needs neither ``prepare`` (and its
calendar invite) nor ``check``, and a command pays only for the use cases it runs.
"""

from __future__ import annotations

import sys
from importlib import import_module
from types import ModuleType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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

_HOME = {
    "App": "app", "schedule_of": "app", "utc_now": "app",
    "check": "doctor",
    "PrepareOutcome": "prepare", "PreparePlan": "prepare", "execute": "prepare",
    "plan_prepare": "prepare", "prepare": "prepare",
}


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:  # a submodule not imported yet: the import system then imports it
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f"{__name__}.{home}"), name)
    globals()[name] = value
    return value


class _Package(ModuleType):
    """``service.prepare`` is the use case, as it always was, also once the submodule of that
    name has been imported (the import system binds a submodule to its package's attribute)."""

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "prepare" and isinstance(value, ModuleType):
            value = value.prepare
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
