"""A spreadsheet: a published Google Sheets CSV link, any CSV URL or a local file, with
columns metric, period_end, value."""

from __future__ import annotations

from collections.abc import Collection
from typing import Literal

from pydantic import Field

from planerka_sync.kpi_sources.base import Pulled, SourceSettings, Window
from planerka_sync.kpi_sources.common import SourceFailure


class SheetSettings(SourceSettings):
    """A CSV at a URL or a path; cached with its ETag."""

    kind: Literal["sheet"]
    url: str = Field(description="https URL of the CSV (Google Sheets: Publish to web, CSV), "
                                 "or a file path")

    def label(self) -> str:
        return "sheet"


class Source:
    """Not built yet: every metric fails as 'unreadable'."""

    def __init__(self, settings: SheetSettings) -> None:
        self.settings = settings

    def provides(self) -> dict[str, str]:
        return {}

    def pull(self, window: Window, wanted: Collection[str]) -> Pulled:
        return Pulled.failed(wanted, SourceFailure("not implemented", "unreadable"))

    def probe(self) -> SourceFailure | None:
        return SourceFailure("not implemented", "unreadable")
