"""Google Analytics 4: the Data API's runReport, through the official google-analytics-data
client."""

from __future__ import annotations

from collections.abc import Collection
from typing import Literal

from pydantic import Field, SecretStr

from planerka_sync.kpi_sources.base import Pulled, SourceSettings, Window
from planerka_sync.kpi_sources.common import SourceFailure


class Ga4Settings(SourceSettings):
    """A GA4 property read with a service account."""

    kind: Literal["google-analytics-4"]
    property: str = Field(description="the property id, e.g. 123456789")
    credentials: SecretStr | None = Field(
        None, description="the service account's JSON key itself, e.g. ${GA4_CREDENTIALS_JSON}; "
                          "default: Application Default Credentials")
    key_events: list[str] = Field(
        default_factory=list,
        description="event names counted as conversions (default: every key event)")
    endpoint: str | None = Field(
        None, description="API endpoint, e.g. the sandbox's http://127.0.0.1:PORT")

    def label(self) -> str:
        return f"google-analytics-4 {self.property}"


class Source:
    """Not built yet: every metric fails as 'unreadable'."""

    def __init__(self, settings: Ga4Settings) -> None:
        self.settings = settings

    def provides(self) -> dict[str, str]:
        return {}

    def pull(self, window: Window, wanted: Collection[str]) -> Pulled:
        return Pulled.failed(wanted, SourceFailure("not implemented", "unreadable"))

    def probe(self) -> SourceFailure | None:
        return SourceFailure("not implemented", "unreadable")
