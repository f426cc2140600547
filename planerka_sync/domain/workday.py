"""When a task is due: the end of the team's working day on its due date, in the team's zone.

Decisions carry a due *date*. Jira keeps a date (``duedate``); Trello keeps a moment, which its
clients show in each reader's own zone. A date becomes the end of the working day on that date
where the team is (18:00 Moscow = 15:00Z by default), and a moment read back from the tracker
(a task's due, a check item's due a person set) becomes the date it falls on there, not in UTC:
23:00 in New York is already tomorrow in UTC.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

DEFAULT_TIMEZONE = "Europe/Moscow"
DEFAULT_WORKING_DAY_END = time(18, 0)
_STEP = timedelta(minutes=15)  # no day that exists is shorter


@dataclass(frozen=True)
class WorkingDay:
    zone: ZoneInfo
    end: time = DEFAULT_WORKING_DAY_END

    @classmethod
    def of(cls, zone: str = DEFAULT_TIMEZONE, end: time = DEFAULT_WORKING_DAY_END) -> WorkingDay:
        return cls(ZoneInfo(zone), end.replace(tzinfo=None))

    def due_at(self, day: date) -> datetime:
        """The moment (in UTC) a task due on ``day`` is due: ``end`` on that day in the zone.

        On a day whose clock skips over ``end`` (a daylight-saving gap) it is the moment the
        wall clock would have read it, which still falls on ``day``; the day of the moment is
        ``day`` whenever that day exists in the zone at all (Samoa skipped 30 Dec 2011)."""
        wanted = datetime.combine(day, self.end, tzinfo=self.zone)
        for fold in (0, 1):  # a gap: the offset before it, else the one after it
            moment = wanted.replace(fold=fold).astimezone(UTC)
            if self.day_of(moment) == day:
                return moment
        # The gap runs past midnight: the last quarter hour of the day that exists.
        moment = wanted.astimezone(UTC)
        for _ in range(4 * 48):
            moment -= _STEP
            if self.day_of(moment) == day:
                return moment
        return wanted.astimezone(UTC)  # the day does not exist here

    def day_of(self, moment: datetime) -> date:
        """The team's date at ``moment`` (an aware datetime)."""
        return moment.astimezone(self.zone).date()
