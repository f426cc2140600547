"""Yandex Metrica: the Reporting API (/stat/v1/data) for the traffic, conversion and SEO
blocks."""

from __future__ import annotations

from collections.abc import Collection
from typing import Literal

from pydantic import Field, SecretStr

from planerka_sync.kpi_sources.base import Pulled, SourceSettings, Window
from planerka_sync.kpi_sources.common import SourceFailure


class YandexMetricaSettings(SourceSettings):
    """A Metrica counter read with an OAuth token."""

    kind: Literal["yandex-metrica"]
    token: SecretStr = Field(
        description="OAuth token with metrika:read, e.g. ${YANDEX_METRICA_TOKEN}")
    counter: int = Field(gt=0, description="the counter's id")
    goals: list[int] = Field(default_factory=list,
                             description="goal ids whose reaches are conversions")
    url: str = Field("https://api-metrika.yandex.net",
                     description="API base (the sandbox's in tests)")

    def label(self) -> str:
        return f"yandex-metrica {self.counter}"


class Source:
    """Not built yet: every metric fails as 'unreadable'."""

    def __init__(self, settings: YandexMetricaSettings) -> None:
        self.settings = settings

    def provides(self) -> dict[str, str]:
        return {}

    def pull(self, window: Window, wanted: Collection[str]) -> Pulled:
        return Pulled.failed(wanted, SourceFailure("not implemented", "unreadable"))

    def probe(self) -> SourceFailure | None:
        return SourceFailure("not implemented", "unreadable")
