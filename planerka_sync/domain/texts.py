"""Words people read, in Russian and English, and the date formats that go with them."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

Locale = Literal["ru", "en"]

MESSAGES: dict[str, dict[Locale, str]] = {
    "when": {"ru": "Когда", "en": "When"},
    "where": {"ru": "Где", "en": "Where"},
    "facilitator": {"ru": "Ведущий", "en": "Facilitator"},
    "participants": {"ru": "Участники", "en": "Participants"},
    "previous": {"ru": "Прошлая планёрка", "en": "Previous meeting"},
    "invite": {"ru": "Приглашение в календарь — во вложении (.ics)",
               "en": "Calendar invite attached (.ics)"},
    "no_topics": {"ru": "Тем пока нет.", "en": "No topics yet."},
    "min": {"ru": "мин", "en": "min"},
    "owner": {"ru": "отв.", "en": "owner"},
    "due": {"ru": "срок", "en": "due"},
    "open_items": {"ru": "открытых решений", "en": "open decisions"},
}

_MONTHS_RU_GENITIVE = ("января", "февраля", "марта", "апреля", "мая", "июня", "июля",
                       "августа", "сентября", "октября", "ноября", "декабря")
_MONTHS_EN = ("January", "February", "March", "April", "May", "June", "July", "August",
              "September", "October", "November", "December")
_WEEKDAYS: dict[Locale, tuple[str, ...]] = {
    "ru": ("пн", "вт", "ср", "чт", "пт", "сб", "вс"),
    "en": ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"),
}


def t(key: str, locale: Locale) -> str:
    return MESSAGES[key][locale]


def short_date(day: date, locale: Locale) -> str:
    """The date as titles show it: 30.11.2026 / 2026-11-30."""
    return day.strftime("%d.%m.%Y") if locale == "ru" else day.isoformat()


def long_date(moment: datetime, locale: Locale) -> str:
    """'пн, 30 ноября 2026, 10:00' / 'Mon, 30 November 2026, 10:00'."""
    weekday = _WEEKDAYS[locale][moment.weekday()]
    if locale == "ru":
        month = _MONTHS_RU_GENITIVE[moment.month - 1]
        return f"{weekday}, {moment.day} {month} {moment.year}, {moment:%H:%M}"
    # Month names from a table, not strftime("%B"), which follows the process's C locale.
    return f"{weekday}, {moment.day} {_MONTHS_EN[moment.month - 1]} {moment.year}, {moment:%H:%M}"
