"""Loopback emulators of the Jira Cloud, Jira Data Center and Trello REST APIs."""

from __future__ import annotations

from typing import Any

from planerka_sync.sandbox.core import Emulator

FLAVOURS = ("trello", "jira-cloud", "jira-dc")


def make_emulator(
    flavour: str, seed: Any | None = None, options: dict[str, Any] | None = None
) -> Emulator:
    """The emulator for one flavour; imports lazily so each stays independent."""
    if flavour == "trello":
        from planerka_sync.sandbox.trello import TrelloEmulator

        return TrelloEmulator(seed, options)
    if flavour == "jira-cloud":
        from planerka_sync.sandbox.jira import JiraCloudEmulator

        return JiraCloudEmulator(seed, options)
    if flavour == "jira-dc":
        from planerka_sync.sandbox.jira import JiraDCEmulator

        return JiraDCEmulator(seed, options)
    raise ValueError(f"unknown sandbox flavour {flavour!r}; expected one of {', '.join(FLAVOURS)}")
