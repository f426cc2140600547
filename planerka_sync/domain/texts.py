"""Words people read, in Russian and English, and the date formats that go with them."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, tzinfo
from typing import Literal
from zoneinfo import ZoneInfo

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
    "invite_series": {"ru": "Календарь всей серии планёрок — во вложении (.ics): "
                            "достаточно добавить его один раз",
                      "en": "The whole series' calendar is attached (.ics): add it once"},
    "by_rule": {"ru": "по правилу", "en": "by the rule"},
    "until": {"ru": "до", "en": "until"},
}

# How often a series meets: interval 1 / interval 2 / interval n (ru: plural forms one, few,
# many of the accusative after "раз в").
CADENCE_WORDS: dict[str, dict[Locale, tuple[str, str, str]]] = {
    "DAILY": {"ru": ("ежедневно", "раз в два дня", "раз в {n} {unit}"),
              "en": ("daily", "every other day", "every {n} days")},
    "WEEKLY": {"ru": ("еженедельно", "раз в две недели", "раз в {n} {unit}"),
               "en": ("weekly", "every two weeks", "every {n} weeks")},
    "MONTHLY": {"ru": ("ежемесячно", "раз в два месяца", "раз в {n} {unit}"),
                "en": ("monthly", "every two months", "every {n} months")},
    "YEARLY": {"ru": ("ежегодно", "раз в два года", "раз в {n} {unit}"),
               "en": ("yearly", "every two years", "every {n} years")},
}
CADENCE_UNITS_RU: dict[str, tuple[str, str, str]] = {
    "DAILY": ("день", "дня", "дней"),
    "WEEKLY": ("неделю", "недели", "недель"),
    "MONTHLY": ("месяц", "месяца", "месяцев"),
    "YEARLY": ("год", "года", "лет"),
}
# RFC 5545 weekday codes in the order of date.weekday().
WEEKDAY_CODES = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
# "the first Monday" of a month: ru in the accusative, whose ordinal agrees with the day's gender.
WEEKDAYS_FULL: dict[Locale, tuple[str, ...]] = {
    "ru": ("понедельник", "вторник", "среду", "четверг", "пятницу", "субботу", "воскресенье"),
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
}
_RU_GENDER = ("m", "m", "f", "m", "f", "f", "n")
ORDINALS: dict[Locale, dict[int, dict[str, str]]] = {
    "ru": {1: {"m": "первый", "f": "первую", "n": "первое"},
           2: {"m": "второй", "f": "вторую", "n": "второе"},
           3: {"m": "третий", "f": "третью", "n": "третье"},
           4: {"m": "четвёртый", "f": "четвёртую", "n": "четвёртое"},
           5: {"m": "пятый", "f": "пятую", "n": "пятое"},
           -1: {"m": "последний", "f": "последнюю", "n": "последнее"}},
    "en": {n: {"m": word, "f": word, "n": word} for n, word in
           [(1, "first"), (2, "second"), (3, "third"), (4, "fourth"), (5, "fifth"),
            (-1, "last")]},
}
MONTHLY_ON: dict[Locale, dict[str, str]] = {
    "ru": {"weekday": "в {what}", "weekday_vo": "во {what}", "day": "{day}-го числа",
           "last_day": "в последний день месяца"},
    "en": {"weekday": "on the {what}", "weekday_vo": "on the {what}", "day": "on day {day}",
           "last_day": "on the last day of the month"},
}

# Time zones as people name them: the city. Others read as the last part of the IANA name.
ZONE_NAMES_RU: dict[str, str] = {
    "Europe/Moscow": "Москва", "Europe/Kaliningrad": "Калининград", "Europe/Samara": "Самара",
    "Europe/Volgograd": "Волгоград", "Europe/Saratov": "Саратов", "Europe/Ulyanovsk": "Ульяновск",
    "Europe/Astrakhan": "Астрахань", "Europe/Kirov": "Киров",
    "Asia/Yekaterinburg": "Екатеринбург", "Asia/Omsk": "Омск", "Asia/Novosibirsk": "Новосибирск",
    "Asia/Barnaul": "Барнаул", "Asia/Tomsk": "Томск", "Asia/Novokuznetsk": "Новокузнецк",
    "Asia/Krasnoyarsk": "Красноярск", "Asia/Irkutsk": "Иркутск", "Asia/Chita": "Чита",
    "Asia/Yakutsk": "Якутск", "Asia/Vladivostok": "Владивосток", "Asia/Sakhalin": "Сахалин",
    "Asia/Magadan": "Магадан", "Asia/Kamchatka": "Камчатка", "Asia/Anadyr": "Анадырь",
    "Europe/Minsk": "Минск", "Europe/Kyiv": "Киев", "Europe/Kiev": "Киев",
    "Europe/Chisinau": "Кишинёв", "Europe/Riga": "Рига", "Europe/Vilnius": "Вильнюс",
    "Europe/Tallinn": "Таллин", "Europe/Helsinki": "Хельсинки", "Europe/Warsaw": "Варшава",
    "Europe/Prague": "Прага", "Europe/Berlin": "Берлин", "Europe/Vienna": "Вена",
    "Europe/Zurich": "Цюрих", "Europe/Paris": "Париж", "Europe/Amsterdam": "Амстердам",
    "Europe/Madrid": "Мадрид", "Europe/Rome": "Рим", "Europe/Lisbon": "Лиссабон",
    "Europe/London": "Лондон", "Europe/Belgrade": "Белград", "Europe/Istanbul": "Стамбул",
    "Europe/Athens": "Афины", "Europe/Sofia": "София", "Europe/Bucharest": "Бухарест",
    "Asia/Tbilisi": "Тбилиси", "Asia/Yerevan": "Ереван", "Asia/Baku": "Баку",
    "Asia/Almaty": "Алматы", "Asia/Tashkent": "Ташкент", "Asia/Bishkek": "Бишкек",
    "Asia/Dubai": "Дубай", "Asia/Jerusalem": "Иерусалим", "Asia/Bangkok": "Бангкок",
    "Asia/Shanghai": "Шанхай", "Asia/Tokyo": "Токио", "Asia/Singapore": "Сингапур",
    "America/New_York": "Нью-Йорк", "America/Chicago": "Чикаго",
    "America/Los_Angeles": "Лос-Анджелес", "America/Toronto": "Торонто",
    "UTC": "UTC", "Etc/UTC": "UTC",
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


def local_time(moment: datetime, zone: str | tzinfo, locale: Locale, *, seconds: bool = False,
               with_date: bool = True) -> str:
    """A moment as the team reads it: in its time zone, named as the meeting header names it
    (:func:`zone_name`), with the offset that makes it exact: '30.11.2026 10:00 (Москва,
    +03:00)' / '2026-11-30 10:00 (Moscow, +03:00)'; Berlin '30.11.2026 08:00 (Берлин, +01:00)',
    in summer '(Берлин, +02:00)'; New York '2026-11-30 02:00 (New York, -05:00)'. A zone
    without an IANA name (the machine's own) shows its abbreviation. ``seconds`` adds them
    (10:02:11); ``with_date=False`` leaves the date out. A naive datetime is refused: which
    zone it is in is exactly what is unknown.
    """
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"naive datetime {moment.isoformat()}: give an aware one")
    zone = ZoneInfo(zone) if isinstance(zone, str) else zone
    here = moment.astimezone(zone)
    clock = f"{here:%H:%M:%S}" if seconds else f"{here:%H:%M}"
    text = f"{short_date(here.date(), locale)} {clock}" if with_date else clock
    offset = _offset(here.utcoffset() or timedelta(0))
    name = _zone_label(zone, here, locale)
    return f"{text} ({name}, {offset})" if name else f"{text} ({offset})"


def _zone_label(zone: tzinfo, here: datetime, locale: Locale) -> str | None:
    """The zone's name, or None where the offset says it better: Etc/GMT+5 is UTC-5, and a
    numeric abbreviation ('+05') repeats the offset."""
    key = getattr(zone, "key", None)
    if isinstance(key, str):
        return None if re.fullmatch(r"Etc/GMT[+-]\d+", key) else zone_name(key, locale)
    abbreviation = here.tzname() or ""
    return abbreviation if abbreviation.isalpha() else None


def _offset(offset: timedelta) -> str:
    """+03:00, -05:00, +05:45; a historic offset with seconds keeps them (+02:30:17)."""
    sign = "-" if offset < timedelta(0) else "+"
    minutes, second = divmod(int(abs(offset).total_seconds()), 60)
    hour, minute = divmod(minutes, 60)
    return f"{sign}{hour:02d}:{minute:02d}" + (f":{second:02d}" if second else "")


def zone_name(key: str, locale: Locale) -> str:
    """'Europe/Moscow' -> 'Москва' / 'Moscow'; 'America/New_York' -> 'New York'."""
    if locale == "ru" and key in ZONE_NAMES_RU:
        return ZONE_NAMES_RU[key]
    return key.rsplit("/", 1)[-1].replace("_", " ")


def ru_plural(n: int, forms: tuple[str, str, str]) -> str:
    """The Russian form for a count: 1 неделю, 3 недели, 5 недель (11-14: many)."""
    if n % 10 == 1 and n % 100 != 11:
        return forms[0]
    if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14:
        return forms[1]
    return forms[2]


def ordinal_weekday(n: int, weekday: int, locale: Locale) -> str | None:
    """'первую пятницу' / 'first Friday' (n = -1: the last); None for an ordinal not named."""
    words = ORDINALS[locale].get(n)
    if words is None:
        return None
    gender = _RU_GENDER[weekday] if locale == "ru" else "m"
    return f"{words[gender]} {WEEKDAYS_FULL[locale][weekday]}"


def weekday_short(weekday: int, locale: Locale) -> str:
    return _WEEKDAYS[locale][weekday]


TOPIC_PREFIXES = ("тема:", "topic:")


def topic_lines(text: str) -> list[str]:
    """Lines of a comment that propose a topic: 'Тема: ...' / 'Topic: ...' (here, not in
    agenda.py: the trackers read them without the agenda's pydantic models)."""
    found = []
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.casefold().startswith(TOPIC_PREFIXES):
            topic = stripped.split(":", 1)[1].strip()
            if topic:
                found.append(topic)
    return found
