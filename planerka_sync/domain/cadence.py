"""When the meetings happen: RFC 5545 recurrence via dateutil, in the team's IANA time zone.

The rule is evaluated in *local wall-clock time* with a zone-aware ``dtstart``: dateutil keeps the
wall-clock fields and zoneinfo supplies the offset of each date, so a 10:00 meeting stays at 10:00
across a daylight-saving change (its UTC time moves instead).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from dateutil import rrule

# Biweekly meetings need a fixed phase, and the round table needs an occurrence number: both
# count from this anchor unless the series names its own first date. It is a Monday.
DEFAULT_ANCHOR = date(2024, 1, 1)

_WEEKDAYS = {"MO": rrule.MO, "TU": rrule.TU, "WE": rrule.WE, "TH": rrule.TH, "FR": rrule.FR,
             "SA": rrule.SA, "SU": rrule.SU}
_NTH_WEEKDAY = re.compile(r"^([+-]?[1-5])?(MO|TU|WE|TH|FR|SA|SU)$")


class CadenceError(ValueError):
    """The cadence settings do not describe a recurrence. ``option`` names the setting at fault
    (``cadence``, ``weekday``), so the config can point at the line to fix."""

    def __init__(self, message: str, *, option: str = "cadence") -> None:
        super().__init__(message)
        self.option = option


@dataclass(frozen=True)
class Occurrence:
    """One meeting of a series. ``number`` counts occurrences from the anchor (0-based)."""

    starts_at: datetime
    ends_at: datetime
    number: int

    @property
    def local_date(self) -> date:
        return self.starts_at.date()


@dataclass(frozen=True)
class MeetingSchedule:
    rule: rrule.rrule
    duration: timedelta
    zone: ZoneInfo
    skip_dates: frozenset[date] = field(default_factory=frozenset)

    def after(self, moment: datetime, *, inclusive: bool = False) -> Occurrence | None:
        """The first occurrence starting after ``moment`` (or at it, if inclusive)."""
        candidate = self.rule.after(moment.astimezone(self.zone), inc=inclusive)
        while candidate is not None and candidate.date() in self.skip_dates:
            candidate = self.rule.after(candidate, inc=False)
        return self._occurrence(candidate) if candidate else None

    def before(self, moment: datetime) -> Occurrence | None:
        """The last occurrence starting strictly before ``moment``."""
        candidate = self.rule.before(moment.astimezone(self.zone), inc=False)
        while candidate is not None and candidate.date() in self.skip_dates:
            candidate = self.rule.before(candidate, inc=False)
        return self._occurrence(candidate) if candidate else None

    def upcoming(self, moment: datetime, count: int) -> list[Occurrence]:
        found: list[Occurrence] = []
        current = self.after(moment, inclusive=True)
        while current is not None and len(found) < count:
            found.append(current)
            current = self.after(current.starts_at)
        return found

    def on(self, day: date) -> Occurrence | None:
        """The occurrence on a given local date, if the series meets that day."""
        start_of_day = datetime.combine(day, time.min, tzinfo=self.zone)
        found = self.after(start_of_day, inclusive=True)
        return found if found is not None and found.local_date == day else None

    def _occurrence(self, start: datetime) -> Occurrence:
        start = _normalise(start, self.zone)
        return Occurrence(start, start + self.duration, self._number(start))

    def _number(self, start: datetime) -> int:
        # Skipped dates still count, so a holiday does not shift everyone's round-table turn.
        return max(len(self.rule.between(self.rule[0], start, inc=True)) - 1, 0)


def _normalise(moment: datetime, zone: ZoneInfo) -> datetime:
    """Resolve a wall-clock time that a DST change skipped (e.g. 02:30) to the real instant."""
    return moment.astimezone(ZoneInfo("UTC")).astimezone(zone)


def build_schedule(
    cadence: str,
    *,
    at: time,
    zone: str,
    duration_minutes: int = 60,
    weekday: str | None = "MO",
    day_of_month: int | None = None,
    skip_dates: frozenset[date] | set[date] | list[date] = frozenset(),
    anchor: date = DEFAULT_ANCHOR,
) -> MeetingSchedule:
    """A schedule from the config's words: weekly/biweekly/monthly or an RRULE."""
    tz = ZoneInfo(zone)
    dtstart = datetime.combine(anchor, at, tzinfo=tz)
    rule = _rule(cadence, dtstart, weekday, day_of_month)
    return MeetingSchedule(rule, timedelta(minutes=duration_minutes), tz, frozenset(skip_dates))


def _rule(cadence: str, dtstart: datetime, weekday: str | None, day: int | None) -> rrule.rrule:
    kind = cadence.strip().lower()
    if kind in ("weekly", "biweekly"):
        wd = _weekday(weekday or "MO")
        if wd.n:
            raise CadenceError(
                f"{weekday!r} names a numbered weekday, which only makes sense for "
                f"cadence: monthly; use a plain day like {rrule.weekday(wd.weekday)}",
                option="weekday")
        return rrule.rrule(rrule.WEEKLY, interval=2 if kind == "biweekly" else 1,
                           byweekday=wd, dtstart=dtstart)
    if kind == "monthly":
        if day is not None:
            return rrule.rrule(rrule.MONTHLY, bymonthday=day, dtstart=dtstart)
        wd = _weekday(weekday or "1MO")
        return rrule.rrule(rrule.MONTHLY, byweekday=wd if wd.n else wd(+1), dtstart=dtstart)
    if kind.startswith("rrule:"):
        return _parse_rrule(cadence, dtstart)
    raise CadenceError(f"unknown cadence {cadence!r}: use weekly, biweekly, monthly or RRULE:...")


def _weekday(text: str) -> rrule.weekday:
    match = _NTH_WEEKDAY.match(text.strip().upper())
    if not match:
        raise CadenceError(f"unknown weekday {text!r}: use MO..SU, or e.g. 1MO for monthly",
                           option="weekday")
    base = _WEEKDAYS[match.group(2)]
    return base(int(match.group(1))) if match.group(1) else base


# dateutil words its refusals for programmers: each message about a rule shows one that works.
_RULE_EXAMPLE = "e.g. RRULE:FREQ=WEEKLY;BYDAY=MO,TH"
# A planning meeting meets at most once a day, at the series' time. Finer rules (FREQ=SECONDLY,
# BYMINUTE=0,1,...) would also make every occurrence count from the anchor take minutes.
_DAY_OR_LONGER = frozenset({"DAILY", "WEEKLY", "MONTHLY", "YEARLY"})
_TIME_OF_DAY_PARTS = ("BYHOUR", "BYMINUTE", "BYSECOND")


def _parse_rrule(text: str, dtstart: datetime) -> rrule.rrule:
    parts = _rule_parts(text)
    # dateutil reads the rule as rebuilt from its parts: "RRULE: FREQ=WEEKLY;" is what was meant.
    canonical = "RRULE:" + ";".join(f"{name}={value}" for name, value in parts.items())
    try:
        parsed = rrule.rrulestr(canonical, dtstart=dtstart, forceset=False)
    except (ValueError, TypeError, OverflowError) as exc:
        raise CadenceError(
            f"cannot read the rule {text.strip()!r}: {exc}; {_RULE_EXAMPLE}") from exc
    if not isinstance(parsed, rrule.rrule):
        raise CadenceError(f"{text!r}: give a single RRULE, {_RULE_EXAMPLE}")
    _check_rule_parts(parts)
    return parsed


def _rule_parts(text: str) -> dict[str, str]:
    """NAME -> VALUE of an "RRULE:NAME=VALUE;..." line. dateutil's own complaint about a part
    without "=" is a Python unpacking error, so the shape is checked here first."""
    body = text.strip()[len("RRULE:"):].strip()
    if not body:
        raise CadenceError(f"the rule {text.strip()!r} is empty: {_RULE_EXAMPLE}")
    if "\n" in body or "\r" in body:
        raise CadenceError(f"{text.strip()!r}: give a single RRULE line, {_RULE_EXAMPLE}")
    parts: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in body.split(";"))):
        name, equals, value = part.partition("=")
        if not equals or not name.strip() or not value.strip():
            raise CadenceError(f"cannot read {part!r} in the rule: each part is NAME=VALUE, "
                               f"separated by ';', {_RULE_EXAMPLE}")
        parts[name.strip().upper()] = value.strip().upper()
    if "FREQ" not in parts:
        raise CadenceError(f"the rule {text.strip()!r} has no FREQ: {_RULE_EXAMPLE}")
    if "COUNT" in parts and "UNTIL" in parts:  # RFC 5545 forbids both; dateutil only warns, yet
        raise CadenceError("COUNT and UNTIL in one rule: end the series with one of them")
    return parts


def _check_rule_parts(parts: dict[str, str]) -> None:
    """What dateutil accepts but a meeting series cannot use: it would loop forever
    (INTERVAL=0), fail later (INTERVAL=-1) or meet more often than daily."""
    if parts["FREQ"] not in _DAY_OR_LONGER:
        raise CadenceError(f"FREQ={parts['FREQ']}: a meeting series meets at most once a day; "
                           f"use FREQ=DAILY, WEEKLY, MONTHLY or YEARLY")
    if "INTERVAL" in parts and int(parts["INTERVAL"]) < 1:
        raise CadenceError(f"INTERVAL={parts['INTERVAL']}: the interval is 1 or more")
    for name in _TIME_OF_DAY_PARTS:
        if name in parts:
            raise CadenceError(f"{name} in the rule: the meeting's start is the time option; "
                               f"remove {name}")
