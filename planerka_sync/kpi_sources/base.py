"""The one small interface every automatic KPI source implements, and the settings they share.

A source is configured under ``kpi_sources`` (its ``kind`` picks the module) and asked for the
values of one period: the days of a meeting cycle, as dates in the team's time zone (the
analytics APIs take dates, and count days in the zone of the counter / property / account, which
the setup guide asks to be the team's). It answers with a value or a failure per metric, never
an exception: one source down must not stop the others, nor the meeting's comment.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import date
from importlib import import_module
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from planerka_sync.kpi_sources.common import SourceFailure


class SourceSettings(BaseModel):
    """What every source's settings have; each source adds its own fields."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: str
    timeout: float = Field(30.0, gt=0, le=300, description="seconds for one request")

    def secrets(self) -> list[str]:
        """Every secret value in these settings (redacted from logs and errors)."""
        return [v.get_secret_value() for v in self.__dict__.values()
                if isinstance(v, SecretStr) and v.get_secret_value()]

    def label(self) -> str:
        """How messages name the source: its kind and the id a person recognises, no secret."""
        return self.kind


@dataclass(frozen=True)
class Window:
    """The days of one period, both included, in the team's time zone ``timezone``."""

    start: date
    end: date
    timezone: str


@dataclass
class Pulled:
    """A source's answer for a window: a value per metric it gave, a failure per metric it
    could not give (the same failure for all of them when the whole request failed), and notes
    a person should know (e.g. Metrica's sampling)."""

    values: dict[str, float] = field(default_factory=dict)
    failures: dict[str, SourceFailure] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @classmethod
    def failed(cls, metrics: Collection[str], failure: SourceFailure) -> Pulled:
        return cls(failures=dict.fromkeys(metrics, failure))


class KpiSource(Protocol):
    settings: Any

    def provides(self) -> dict[str, str]:
        """metric id -> what it is read from (for `kpi metrics` and `check`)."""
        ...

    def pull(self, window: Window, wanted: Collection[str]) -> Pulled:
        """The values of ``wanted`` (the metrics of the series' KPI set this source provides)
        over ``window``."""
        ...

    def probe(self) -> SourceFailure | None:
        """One cheap request that proves the credentials and ids: None, or why not."""
        ...


# kind -> module whose ``Source`` class serves it; imported on use (a client library such as
# google-analytics-data costs a second to import, and most teams use one source).
MODULES = {
    "http-json": "planerka_sync.kpi_sources.http_json",
    "yandex-metrica": "planerka_sync.kpi_sources.yandex_metrica",
    "google-analytics-4": "planerka_sync.kpi_sources.ga4",
    "yandex-direct": "planerka_sync.kpi_sources.yandex_direct",
    "sheet": "planerka_sync.kpi_sources.sheet",
}


def make_source(settings: SourceSettings) -> KpiSource:
    source: KpiSource = import_module(MODULES[settings.kind]).Source(settings)
    return source
