"""Loopback emulators of the Jira Cloud, Jira Data Center and Trello REST APIs, and of the
analytics services KPI sources read (Yandex Metrica, Google Analytics 4, Yandex Direct, a
published spreadsheet)."""

from __future__ import annotations

from importlib import import_module
from typing import Any

from planerka_sync.sandbox.core import Emulator

FLAVOURS = ("trello", "jira-cloud", "jira-dc")
# A KPI source's kind -> the module whose ServiceEmulator answers like that service.
SERVICES = {
    "yandex-metrica": "planerka_sync.sandbox.yandex_metrica",
    "google-analytics-4": "planerka_sync.sandbox.ga4",
    "yandex-direct": "planerka_sync.sandbox.yandex_direct",
    "sheet": "planerka_sync.sandbox.sheet",
}


def make_emulator(
    flavour: str, seed: Any | None = None, options: dict[str, Any] | None = None
) -> Emulator:
    """The emulator for one flavour (a tracker, or an analytics service by its KPI source
    kind); imports lazily so each stays independent."""
    if flavour in SERVICES:
        emulator: Emulator = import_module(SERVICES[flavour]).ServiceEmulator(seed, options)
        return emulator
    if flavour == "trello":
        from planerka_sync.sandbox.trello import TrelloEmulator

        return TrelloEmulator(seed, options)
    if flavour == "jira-cloud":
        from planerka_sync.sandbox.jira import JiraCloudEmulator

        return JiraCloudEmulator(seed, options)
    if flavour == "jira-dc":
        from planerka_sync.sandbox.jira import JiraDCEmulator

        return JiraDCEmulator(seed, options)
    known = ", ".join((*FLAVOURS, *SERVICES))
    raise ValueError(f"unknown sandbox flavour {flavour!r}; expected one of {known}")
