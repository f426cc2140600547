"""A day typed on the command line, in the forms the team writes dates anywhere else:
``2026-12-05``, ``05.12.2026``, ``05.12.26`` and ``05.12`` (no year: the one nearest today)."""

from __future__ import annotations

import re
from datetime import date

FORMS = "2026-12-05, 05.12.2026 or 05.12"

_ISO = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
_DOTTED = re.compile(r"(\d{1,2})[./](\d{1,2})(?:[./](\d{2}|\d{4}))?")


def read_day(text: str, today: date) -> date:
    """The day ``text`` names. Without a year it is the nearest such day to ``today`` (a
    meeting next week or a period last week, either way a few days off, never a year off).
    Raises ValueError naming the accepted forms."""
    value = text.strip()
    if iso := _ISO.fullmatch(value):
        return _day(int(iso[1]), int(iso[2]), int(iso[3]), value)
    dotted = _DOTTED.fullmatch(value)
    if dotted is None:
        raise ValueError(f"{value!r} is not a date; write it as {FORMS}")
    day, month = int(dotted[1]), int(dotted[2])
    if dotted[3] is not None:
        year = int(dotted[3])
        return _day(year + 2000 if year < 100 else year, month, day, value)
    candidates = [_maybe_day(today.year + shift, month, day) for shift in (-1, 0, 1)]
    found = [d for d in candidates if d is not None]
    if not found:
        raise ValueError(f"{value!r} is not a day of any year; write it as {FORMS}")
    return min(found, key=lambda d: (abs((d - today).days), d < today))


def _day(year: int, month: int, day: int, text: str) -> date:
    found = _maybe_day(year, month, day)
    if found is None:
        raise ValueError(f"{text!r} is not a day of the calendar; write it as {FORMS}")
    return found


def _maybe_day(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None
