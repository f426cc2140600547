"""Tracker adapters, looked up by the config's ``tracker.kind``.

Built-ins are ``trello`` and ``jira``; a third-party adapter registers a factory
``(tracker_config, session) -> Tracker`` in the ``planerka_sync.trackers`` entry-point group.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib.metadata import entry_points
from typing import Any

from planerka_sync.config import Config
from planerka_sync.errors import ConfigError
from planerka_sync.trackers.base import Tracker
from planerka_sync.trackers.http import RetryPolicy, TrackerSession

Factory = Callable[[Any, TrackerSession], Tracker]


def _builtin(kind: str) -> Factory | None:
    if kind == "trello":
        from planerka_sync.trackers.trello import TrelloAdapter

        return TrelloAdapter
    if kind == "jira":
        from planerka_sync.trackers.jira import JiraAdapter

        return JiraAdapter
    return None


def make_tracker(config: Config, policy: RetryPolicy | None = None) -> Tracker:
    kind = config.tracker.kind
    factory = _builtin(kind) or _plugin(kind)
    if factory is None:
        raise ConfigError([f"tracker.kind: no tracker adapter named {kind!r}"])
    name = "Trello" if kind == "trello" else "Jira"
    return factory(config.tracker, TrackerSession(name, policy=policy))


def _plugin(kind: str) -> Factory | None:
    for entry in entry_points(group="planerka_sync.trackers"):
        if entry.name == kind:
            factory: Factory = entry.load()
            return factory
    return None
