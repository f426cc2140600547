"""Yandex Direct: the Reports API for the ad-budget block's spend, clicks, conversions and
revenue per channel."""

from __future__ import annotations

from collections.abc import Collection
from typing import Literal

from pydantic import Field, SecretStr

from planerka_sync.kpi_sources.base import Pulled, SourceSettings, Window
from planerka_sync.kpi_sources.common import SourceFailure


class YandexDirectSettings(SourceSettings):
    """A Direct account read with an OAuth token."""

    kind: Literal["yandex-direct"]
    token: SecretStr = Field(description="OAuth token with direct:api, e.g. ${YANDEX_DIRECT_TOKEN}")
    client_login: str | None = Field(None, description="the advertiser's login (agencies)")
    goals: list[int] = Field(default_factory=list,
                             description="Metrica goal ids counted as conversions")
    url: str = Field("https://api.direct.yandex.com",
                     description="API base (the sandbox's in tests)")

    def label(self) -> str:
        return "yandex-direct" + (f" {self.client_login}" if self.client_login else "")


class Source:
    """Not built yet: every metric fails as 'unreadable'."""

    def __init__(self, settings: YandexDirectSettings) -> None:
        self.settings = settings

    def provides(self) -> dict[str, str]:
        return {}

    def pull(self, window: Window, wanted: Collection[str]) -> Pulled:
        return Pulled.failed(wanted, SourceFailure("not implemented", "unreadable"))

    def probe(self) -> SourceFailure | None:
        return SourceFailure("not implemented", "unreadable")
