"""What every use case shares: the config, the state DB, a tracker made on first use, a clock."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from planerka_sync.config import Config, MeetingSeries, Person
from planerka_sync.domain.cadence import MeetingSchedule, build_schedule
from planerka_sync.domain.texts import Locale
from planerka_sync.errors import PlanerkaError
from planerka_sync.messages import t
from planerka_sync.store import Store
from planerka_sync.store.memo import StoreMemo
from planerka_sync.trackers.base import Tracker

Clock = Callable[[], datetime]
# What a long step has done so far: (what, done, total or None when unknown). The CLI draws a
# bar from it on a terminal; everywhere else it is not set.
ProgressHook = Callable[[str, int, int | None], None]


def no_progress(_what: str, _done: int, _total: int | None) -> None:
    return None


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class App:
    """What a use case needs: config, state, a tracker (made on first use) and a clock."""

    config: Config
    store: Store
    tracker_factory: Callable[[], Tracker]
    config_dir: Path = Path(".")
    clock: Clock = utc_now
    progress: ProgressHook = no_progress
    _tracker: Tracker | None = field(default=None, repr=False)

    @property
    def tracker(self) -> Tracker:
        if self._tracker is None:
            self._tracker = self.tracker_factory()
            if hasattr(self._tracker, "memo"):  # adapters that remember facts between runs
                self._tracker.memo = StoreMemo(self.store)
        return self._tracker

    @property
    def locale(self) -> Locale:
        return self.config.locale

    def series(self, series_id: str | None) -> list[MeetingSeries]:
        if series_id is None:
            return list(self.config.meetings)
        for series in self.config.meetings:
            if series.id == series_id:
                return [series]
        known = ", ".join(m.id for m in self.config.meetings)
        raise PlanerkaError(t(f"no meeting series {series_id!r} in the config (series: {known})",
                              f"в конфиге нет серии встреч {series_id!r} (серии: {known})"))

    def account(self, person: Person) -> str | None:
        return person.trello if self.config.tracker.kind == "trello" else person.jira


def schedule_of(series: MeetingSeries, zone: str) -> MeetingSchedule:
    return build_schedule(
        series.cadence, at=series.time, zone=zone, duration_minutes=series.duration_minutes,
        weekday=series.weekday, day_of_month=series.day_of_month,
        skip_dates=frozenset(series.skip_dates),
        **({"anchor": series.first_date} if series.first_date else {}),
    )
