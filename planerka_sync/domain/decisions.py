"""Decision lines -> ``Decision``: what the meeting decided, who owns it, and by when.

A line is typed by a person in a hurry, in Russian or English: "Ивану подготовить отчёт по SEO
до пятницы", "- [ ] Decision: launch the email campaign, owner: @maria, by Dec 5". The parser
finds the due-date phrase and the owner in it, removes both, and keeps the rest as the title.

Finding a date phrase is a small regex (so its span can be cut out of the title); *reading* it is
dateparser's job, anchored to the meeting day. Where dateparser needs help it is told so below.
Anything that cannot become a task raises ``DecisionParseError`` with a reason in the team's
locale; nothing else escapes, whatever the input.
"""

from __future__ import annotations

import calendar
import hashlib
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from planerka_sync.domain.texts import Locale, short_date
from planerka_sync.errors import DecisionParseError

if TYPE_CHECKING:
    from dateparser.date import DateDataParser

MAX_TITLE = 255
# Owners and dates are looked for in this much of a line only: a real decision is a sentence, and
# a cap keeps every regex below linear-time-cheap on a pasted wall of text. The title is cut at
# MAX_TITLE anyway, so nothing past the cap could reach the task.
_MAX_SCAN = 2000
# A day-month without a year is "the next such date": a leap day may be four years away.
_YEARLESS_LOOKAHEAD = 8


@dataclass(frozen=True)
class PersonRef:
    """What the parser knows about a team member (built by the service from the config)."""

    id: str
    name: str
    aliases: tuple[str, ...] = ()
    accounts: tuple[str, ...] = ()  # tracker usernames / accountIds


@dataclass(frozen=True)
class Decision:
    title: str
    owner: str  # person id
    due: date | None
    source_text: str


# --- reasons ----------------------------------------------------------------------------------

_REASONS: dict[str, dict[Locale, str]] = {
    "empty": {"ru": "пустое решение", "en": "empty decision"},
    "no_owner": {"ru": "не указан ответственный (добавьте «отв. Имя» или @упоминание)",
                 "en": "no owner (add “owner: Name” or an @mention)"},
    "unknown_owner": {"ru": "не найден ответственный «{who}»; известные: {known}",
                      "en": "unknown owner “{who}”; known: {known}"},
    "ambiguous_owner": {"ru": "неоднозначно, кто ответственный «{who}»: {known}",
                        "en": "ambiguous owner “{who}”: {known}"},
    "past_due": {"ru": "срок в прошлом: {day}", "en": "due date is in the past: {day}"},
    "bad_due": {"ru": "не удалось разобрать срок «{text}»",
                "en": "cannot read the due date “{text}”"},
    "no_such_date": {"ru": "нет такой даты: «{text}»", "en": "no such date: “{text}”"},
}


class _Problem(Exception):
    """Internal: a reason key + fields; ``parse_decision`` turns it into DecisionParseError."""

    def __init__(self, key: str, **fields: str) -> None:
        super().__init__(key)
        self.key = key
        self.fields = fields


def _reason(problem: _Problem, locale: Locale) -> str:
    return _REASONS[problem.key][locale].format(**problem.fields)


def _locale(value: str) -> Locale:
    return "ru" if value.lower().startswith("ru") else "en"


# --- the line before parsing ------------------------------------------------------------------

# Checklist boxes, bullets, numbering and "Решение:"-style labels, possibly stacked
# ("1. - [ ] Решение: ...").
_LEADING_MARKER = re.compile(
    r"^\s*(?:"
    r"(?:[-*+•–—]\s*)?\[[ xXхХ]?\]"
    r"|[-*+•–—](?=\s)"
    r"|[0-9]{1,3}[.)](?=\s)"
    r"|(?:решение|решили|решено|decision|decided|action\s+item|action|todo)\s*[:–—-]"
    r")\s*",
    re.IGNORECASE,
)


def _prepare(line: str) -> str:
    """Control characters (newlines, tabs, NULs) become spaces; markers go; the scan is capped."""
    text = "".join(" " if unicodedata.category(ch) in ("Cc", "Zl", "Zp") else ch for ch in line)
    text = text.replace("\ufeff", "")
    while (match := _LEADING_MARKER.match(text)) and match.end() > 0:
        text = text[match.end():]
    return text[:_MAX_SCAN].strip()


def _mask(text: str, start: int, end: int) -> str:
    """Blank a found span out, keeping offsets, so later searches do not see it again."""
    return text[:start] + " " * (end - start) + text[end:]


# --- mentions ---------------------------------------------------------------------------------

_MENTION = re.compile(r"(?<![\w@])@(\w[\w:.\-]*)")


@dataclass(frozen=True)
class _Found:
    start: int
    end: int
    text: str


def _mentions(text: str) -> list[_Found]:
    found = []
    for match in _MENTION.finditer(text):
        # "@ivan." / "@ivan:" at the end of a clause: the punctuation is not part of the handle.
        handle = match.group(1).rstrip(".:-")
        found.append(_Found(match.start(), match.start(1) + len(handle), handle))
    return found


# --- due date: finding the phrase -------------------------------------------------------------

_MONTH = (
    r"(?:январ[ьяю]|феврал[ьяю]|март[ае]?|апрел[ьяю]|ма[йяю]|июн[ьяю]|июл[ьяю]|август[ае]?"
    r"|сентябр[ьяю]|октябр[ьяю]|ноябр[ьяю]|декабр[ьяю]"
    r"|янв|фев|мар|апр|авг|сент?|окт|ноя|дек"
    r"|january|february|march|april|may|june|july|august|september|october|november|december"
    r"|jan|feb|mar|apr|jun|jul|aug|sept?|oct|nov|dec)\.?"
)
_DAY = r"[0-9]{1,2}(?:st|nd|rd|th)?"
_WEEKDAY = (
    r"(?:понедельник[аеу]?|вторник[аеу]?|сред[аеуы]|четверг[аеу]?|пятниц[аеуы]|суббот[аеуы]"
    r"|воскресень[еяюи]|monday|tuesday|wednesday|thursday|friday|saturday|sunday)"
)
# "до пт", "by Fri": chat shorthand, read only after a preposition ("ср" alone is "compare").
_SHORT_WEEKDAY = r"(?:пн|вт|ср|чт|пт|сб|вс|mon|tue|wed|thu|fri|sat|sun)\.?"
_COUNT = r"(?:[0-9]{1,3}|пару|один|одну|два|две|три|четыре|пять|a|an|one|two|three|four|five)"
_RELATIVE = (
    rf"(?:через\s+(?:{_COUNT}\s+)?(?:день|дня|дней|недел[юиь]|месяц|месяца|месяцев)"
    rf"|in\s+{_COUNT}\s+(?:days?|weeks?|months?)"
    r"|послезавтра|завтра|tomorrow|(?:the\s+)?day\s+after\s+tomorrow)"
)
_PERIOD_END = (
    r"(?:конц[аеу]\s+(?:месяца|недели)|(?:the\s+)?end\s+of\s+(?:the\s+)?(?:month|week)"
    r"|eom|eow)"
)
# One phrase: an optional lead-in, then exactly one body. The lead-in tells how sure we are that
# this is the *due* date ("срок:" > "до" > bare) and rules out period references ("за 20.11",
# "с 1 декабря"), which are part of what was decided, not its deadline.
_DATE_PHRASE = re.compile(
    r"(?<![\w@])"
    r"(?:(?P<label>(?:срок|дедлайн|due(?:\s+date)?|deadline)\s*[:–—-]?\s*"
    r"(?:(?:до|к|by|until|till|before)\s+)?)"
    r"|(?P<prep>(?:до|к|ко|by|until|till|before|не\s+позднее)\s+)"
    r"|(?P<excl>(?:за|с|со|от|после|from|since|after)\s+)"
    r"|(?P<on>(?:в|во|on)\s+))?"
    r"(?:(?P<iso>[0-9]{4}-[0-9]{1,2}-[0-9]{1,2})"
    r"|(?P<num>(?<![\w./])(?:[0-9]{1,2}[./-][0-9]{1,2}[./-](?P<num_year>[0-9]{4}|[0-9]{2})"
    r"|[0-9]{1,2}[./][0-9]{2})(?![\w%]|[.,/][0-9]))"
    rf"|(?P<dm>{_DAY}\s+(?:of\s+)?{_MONTH}(?:,?\s+(?P<dm_year>[0-9]{{4}}))?)"
    rf"|(?P<md>{_MONTH}\s+{_DAY}(?:,?\s+(?P<md_year>[0-9]{{4}}))?)"
    rf"|(?P<weekday>{_WEEKDAY})"
    rf"|(?P<short_weekday>{_SHORT_WEEKDAY})"
    rf"|(?P<relative>{_RELATIVE})"
    r"|(?P<compact>\+[0-9]{1,3}\s?[dwmдн])"
    rf"|(?P<period_end>{_PERIOD_END}))"
    r"(?!\w)",
    re.IGNORECASE,
)
# "срок: скоро" — the team meant a date we could not read; better to say so than to guess.
_DUE_LABEL = re.compile(r"(?<!\w)(?:срок|дедлайн|due|deadline)\s*:\s*([^,;()\[\]—–]{0,40})",
                        re.IGNORECASE)


@dataclass(frozen=True)
class _DateCandidate:
    start: int
    end: int
    kind: str  # the name of the body group that matched
    body: str
    has_year: bool
    strength: int  # _LABELLED: after "срок:"/"due:"; 2: after "до"/"by"; 1: "в"/"on"; 0: bare


_LABELLED = 3
_DATE_KINDS = ("iso", "num", "dm", "md", "weekday", "short_weekday", "relative", "compact",
               "period_end")


def _lead_strength(match: re.Match[str]) -> int:
    """How surely the lead-in marks a deadline: "срок:" > "до"/"by" > "в"/"on" > nothing."""
    for group, strength in (("label", _LABELLED), ("prep", 2), ("on", 1)):
        if match.group(group):
            return strength
    return 0


def _date_candidates(text: str) -> list[_DateCandidate]:
    found = []
    for match in _DATE_PHRASE.finditer(text):
        if match.group("excl"):
            continue
        kind = next(k for k in _DATE_KINDS if match.group(k))
        has_year = kind == "iso" or bool(
            match.group("num_year") or match.group("dm_year") or match.group("md_year"))
        strength = _lead_strength(match)
        if kind == "short_weekday" and strength == 0:
            continue
        found.append(_DateCandidate(match.start(), match.end(), kind, match.group(kind),
                                    has_year, strength))
    # The most clearly marked phrase wins; among equals, the first one in the line.
    return sorted(found, key=lambda c: (-c.strength, c.start))


# --- due date: reading the phrase -------------------------------------------------------------


@lru_cache(maxsize=16)
def _date_parser(meeting_day: date) -> DateDataParser:
    """One parser per meeting day: building one loads language data, and RELATIVE_BASE is part of
    its settings, so it cannot be shared across days. dateparser is imported here, the first
    time a date phrase is read: a run whose lines name no date never loads it."""
    from dateparser.date import DateDataParser

    return DateDataParser(
        languages=["ru", "en"],
        settings={
            "RELATIVE_BASE": datetime(meeting_day.year, meeting_day.month, meeting_day.day),
            "PREFER_DATES_FROM": "future",
            "DATE_ORDER": "DMY",
            "RETURN_AS_TIMEZONE_AWARE": False,
            # No unix timestamps or "no-spaces" digit soup: we only hand it date-shaped phrases.
            "PARSERS": ["relative-time", "custom-formats", "absolute-time"],
        },
    )


def _dateparser_day(phrase: str, meeting_day: date) -> date | None:
    try:
        found: Any = _date_parser(meeting_day).get_date_data(phrase).date_obj
    except Exception:  # dateparser is a third party: an odd phrase must not escape as a crash
        return None
    return found.date() if isinstance(found, datetime) else None


# dateparser reads Russian weekdays in the nominative and accusative only; "до пятницы" (genitive)
# and "к пятнице" (dative) are the commonest deadline forms, so they are brought to the nominative.
_RU_WEEKDAY_NOMINATIVE = {"пон": "понедельник", "вто": "вторник", "сре": "среда",
                          "чет": "четверг", "пят": "пятница", "суб": "суббота",
                          "вос": "воскресенье"}
# "+2w" is not understood and "+1m" is read as a minute: spell compact offsets out.
_COMPACT_UNITS = {"d": "days", "д": "days", "w": "weeks", "н": "weeks", "m": "months"}


def _weekday_phrase(body: str) -> str:
    return _RU_WEEKDAY_NOMINATIVE.get(body[:3].lower(), body)


def _compact_phrase(body: str) -> str:
    count, unit = body[1:].strip()[:-1].strip(), body[-1].lower()
    return f"in {count} {_COMPACT_UNITS[unit]}"


def _period_end(body: str, meeting_day: date) -> date:
    """dateparser has no "end of month/week": the month's last day, or that week's Friday."""
    if re.search(r"недел|week|eow", body, re.IGNORECASE):
        return meeting_day + timedelta(days=(4 - meeting_day.weekday()) % 7)
    last = calendar.monthrange(meeting_day.year, meeting_day.month)[1]
    return meeting_day.replace(day=last)


def _yearless_day(body: str, numeric: bool, meeting_day: date) -> date | None:
    """The next such day-month on or after the meeting day. dateparser's own choice ("future")
    skips the meeting day itself and reads a bare "05.12" as a time, so the year is supplied."""
    for year in range(meeting_day.year, meeting_day.year + _YEARLESS_LOOKAHEAD + 1):
        # "05.12" + "2026" -> "05.12.2026" ("05.12 2026" would still be 05:12 o'clock).
        dated = f"{body}{body[-3]}{year}" if numeric else f"{body} {year}"
        day = _dateparser_day(dated, meeting_day)
        if day is not None and day >= meeting_day:
            return day
    return None


def _read_candidate(candidate: _DateCandidate, meeting_day: date) -> date | None:
    body = candidate.body
    if candidate.kind == "period_end":
        return _period_end(body, meeting_day)
    if candidate.kind in ("num", "dm", "md") and not candidate.has_year:
        return _yearless_day(body, candidate.kind == "num", meeting_day)
    if candidate.kind == "weekday":
        body = _weekday_phrase(body)
    elif candidate.kind == "short_weekday":
        body = body.rstrip(".")
    elif candidate.kind == "compact":
        body = _compact_phrase(body)
    return _dateparser_day(body, meeting_day)


# --- due date: is there such a day at all ----------------------------------------------------

# The first three letters of every spelling _MONTH accepts ("марта", "сент.", "February").
_MONTH_NUMBERS = {
    "янв": 1, "фев": 2, "мар": 3, "апр": 4, "май": 5, "мая": 5, "маю": 5, "июн": 6, "июл": 7,
    "авг": 8, "сен": 9, "окт": 10, "ноя": 11, "дек": 12,
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6, "jul": 7, "aug": 8, "sep": 9,
    "oct": 10, "nov": 11, "dec": 12,
}
_LEAP_YEAR = 2000  # a day-month without a year exists if it exists in some year: 29.02 does


def _could_exist(candidate: _DateCandidate) -> bool:
    """False for a phrase shaped like a date that names no day of any calendar: "31.02",
    "99.99", "31 февраля", "2026-13-01". Weekdays and relative phrases always exist."""
    parts = _day_month_year(candidate)
    if parts is None:
        return True
    day, month, written_year = parts
    year = _LEAP_YEAR if written_year is None else written_year
    if not (1 <= month <= 12 and 1 <= year <= 9999):
        return False
    return 1 <= day <= calendar.monthrange(year, month)[1]


def _day_month_year(candidate: _DateCandidate) -> tuple[int, int, int | None] | None:
    """(day, month, year or None) as written, or None when the phrase is not a calendar date
    by its shape (a weekday, "через неделю", or a value such as "до 2.50")."""
    digits = re.findall(r"[0-9]+", candidate.body)
    numbers = [int(n) for n in digits]
    if candidate.kind == "iso":
        year, month, day = numbers
        return day, month, year
    if candidate.kind == "num":
        return _numeric_day_month_year(digits)
    if candidate.kind in ("dm", "md"):
        words = re.findall(r"[^\W\d_]+", candidate.body.lower())
        named = next((_MONTH_NUMBERS[w[:3]] for w in words if w[:3] in _MONTH_NUMBERS), None)
        if named is None:  # cannot happen for a phrase _MONTH matched; never guess
            return None
        return numbers[0], named, numbers[1] if candidate.has_year else None
    return None


def _numeric_day_month_year(digits: list[str]) -> tuple[int, int, int | None] | None:
    day, month = int(digits[0]), int(digits[1])
    if len(digits) == 3:
        # "05.12.26": dateparser reads a two-digit year in this century, and so do we.
        year = int(digits[2]) + (2000 if len(digits[2]) == 2 else 0)
        return day, month, year
    # "до 2.50" is a target value, not a date: a one-digit day with no such month reads as a
    # number. "31.02" and "99.99" have the DD.MM shape of a date and are taken as one.
    if len(digits[0]) == 1 and not 1 <= month <= 12:
        return None
    return day, month, None


def _find_due(text: str, meeting_day: date, *,
              strict: bool) -> tuple[date | None, _Found | None]:
    """The due date and where its phrase sits in ``text`` (None, None: the line names no date).
    ``strict``: a "срок:"/"due:" we cannot read, or an impossible date after "до"/"by", is an
    error rather than part of the title."""
    for candidate in _date_candidates(text):
        if not _could_exist(candidate):
            # dateparser would skip "31.02" (the team loses its deadline without a word) or
            # misread "00.12" as some other day: either way a wrong task, so never read it.
            if strict and candidate.strength >= 2:
                raise _Problem("no_such_date", text=candidate.body)
            continue
        day = _read_candidate(candidate, meeting_day)
        if day is not None:
            return day, _Found(candidate.start, candidate.end, candidate.body)
        if strict and candidate.strength == _LABELLED:
            raise _Problem("bad_due", text=candidate.body)
    label = _DUE_LABEL.search(text)
    if strict and label:
        raise _Problem("bad_due", text=(label.group(1) or "").strip())
    return None, None


# --- owner --------------------------------------------------------------------------------------

# Russian first names decline: "Ивану", "Марии", "Олегом". For a Cyrillic name of 3+ letters the
# stem (minus a final а/я/й/ь) may take one of these endings. Latin names do not decline.
_STEM_ENDINGS = {
    "а": ("а", "ы", "и", "е", "у", "ой", "ою", "ей"),
    "я": ("я", "и", "е", "ю", "ей", "ею"),
    "й": ("й", "я", "ю", "ем", "е", "и"),
    "ь": ("ь", "я", "ю", "ем", "е", "и"),
}
_CONSONANT_ENDINGS = ("", "а", "у", "ом", "ым", "е")
_CYRILLIC_WORD = re.compile(r"[а-яё]{3,}", re.IGNORECASE)
# A name right after these is someone the task involves, not its owner ("согласовать с Марией").
_NOT_OWNER_BEFORE = re.compile(
    r"(?:^|[\s(])(?:с|со|для|от|у|про|о|об|обо|к|ко|with|for|from|about|to|cc)\s+$",
    re.IGNORECASE,
)


def _term_pattern(term: str) -> str:
    words = term.split()
    if len(words) > 1:
        return r"\s+".join(re.escape(w) for w in words)
    if not _CYRILLIC_WORD.fullmatch(term):
        return re.escape(term)
    last = term[-1].lower()
    if last in _STEM_ENDINGS:
        return re.escape(term[:-1]) + "(?:" + "|".join(_STEM_ENDINGS[last]) + ")"
    if last in "аеёиоуыэюя":  # an indeclinable vowel ending: exact only
        return re.escape(term)
    return re.escape(term) + "(?:" + "|".join(_CONSONANT_ENDINGS) + ")"


def _person_terms(person: PersonRef) -> list[str]:
    terms = {a.strip() for a in person.aliases if a.strip()}
    terms.add(person.name.strip())
    terms.update(part for part in person.name.split() if len(part) >= 3)
    # Longest first, so "Иван Петров" is taken whole before "Иван".
    return sorted((t for t in terms if t), key=len, reverse=True)


@dataclass(frozen=True)
class _Roster:
    people: tuple[PersonRef, ...]
    handles: dict[str, tuple[PersonRef, ...]]  # casefolded id/account -> people
    names: tuple[tuple[re.Pattern[str], PersonRef], ...]

    def by_handle(self, handle: str) -> tuple[PersonRef, ...]:
        return self.handles.get(handle.casefold(), ())

    def by_name(self, word: str) -> tuple[PersonRef, ...]:
        return tuple(p for pattern, p in self.names if pattern.fullmatch(word))

    def known(self) -> str:
        shown = [f"{p.name} (@{p.id})" for p in self.people[:10]]
        return ", ".join(shown) + (", …" if len(self.people) > 10 else "") or "—"


def _hashable(people: Sequence[PersonRef]) -> tuple[PersonRef, ...]:
    """The roster is cached by the team; a config may hand aliases over as lists."""
    return tuple(PersonRef(p.id, p.name, tuple(p.aliases), tuple(p.accounts)) for p in people)


@lru_cache(maxsize=32)
def _roster(people: tuple[PersonRef, ...]) -> _Roster:
    handles: dict[str, tuple[PersonRef, ...]] = {}
    for person in people:
        for handle in {person.id, *person.accounts}:
            key = handle.casefold()
            if person not in handles.get(key, ()):
                handles[key] = (*handles.get(key, ()), person)
    names = tuple(
        (re.compile(r"(?<![\w@])(?:" + "|".join(_term_pattern(t) for t in terms) + r")(?!\w)",
                    re.IGNORECASE), p)
        for p in people if (terms := _person_terms(p))
    )
    return _Roster(people, handles, names)


@dataclass(frozen=True)
class _OwnerText:
    """An owner phrase in the line: its span, whom it names (empty: nobody we know), as written."""

    found: _Found
    people: tuple[PersonRef, ...]


# "отв. Иван", "ответственный: Мария", "owner: @oleg", "кто: Дима". After a bare "ответственный"
# (no colon) a non-name is just prose ("ответственный за SEO"), so only a sure label may fail.
_OWNER_LABEL = re.compile(
    r"(?<!\w)(?P<label>отв\.|отв\b|ответственн(?:ый|ая|ое|ые)|исполнитель|owner|assignee"
    r"|responsible|кто)\s*(?P<colon>[:–—-])?\s*"
    r"(?P<w1>@?\w[\w:.\-]*)(?:\s+(?P<w2>\w[\w\-]*))?",
    re.IGNORECASE,
)


def _resolve_word(word: str, roster: _Roster) -> tuple[PersonRef, ...]:
    if word.startswith("@"):
        return roster.by_handle(word[1:])
    return roster.by_name(word) or roster.by_handle(word)


def _labelled_owner(text: str, roster: _Roster) -> _OwnerText | None:
    for match in _OWNER_LABEL.finditer(text):
        w1 = match.group("w1").rstrip(".:-")
        w2 = match.group("w2")
        end = match.start("w1") + len(w1)
        if w2 and (both := roster.by_name(f"{w1} {w2}")):
            return _OwnerText(_Found(match.start(), match.end("w2"), f"{w1} {w2}"), both)
        people = _resolve_word(w1, roster)
        sure = match.group("colon") or match.group("label").lower().startswith("отв")
        if people or sure:
            return _OwnerText(_Found(match.start(), end, w1.lstrip("@")), people)
    return None


def _mentioned_owner(mentions: list[_Found], roster: _Roster) -> _OwnerText | None:
    if not mentions:
        return None
    first = mentions[0]
    people = roster.by_handle(first.text) or roster.by_name(first.text)
    return _OwnerText(first, people)


def _named_owner(text: str, roster: _Roster) -> _OwnerText | None:
    """The first name in the line that is not after "с"/"для"/"with"..., longest match first."""
    hits: list[tuple[int, int, PersonRef]] = []
    for pattern, person in roster.names:
        for match in pattern.finditer(text):
            if not _NOT_OWNER_BEFORE.search(text[max(0, match.start() - 12):match.start()]):
                hits.append((match.start(), match.end(), person))
    if not hits:
        return None
    start, end, _ = min(hits, key=lambda h: (h[0], -h[1]))
    people = tuple(dict.fromkeys(p for s, e, p in hits if (s, e) == (start, end)))
    return _OwnerText(_Found(start, end, text[start:end]), people)


def _owner_in_text(text: str, mentions: list[_Found], roster: _Roster) -> _OwnerText | None:
    return (_labelled_owner(text, roster) or _mentioned_owner(mentions, roster)
            or _named_owner(text, roster))


def _one_person(candidates: tuple[PersonRef, ...], who: str, roster: _Roster) -> PersonRef:
    if not candidates:
        raise _Problem("unknown_owner", who=who, known=roster.known())
    if len(candidates) > 1:
        raise _Problem("ambiguous_owner", who=who,
                       known=", ".join(f"{p.name} (@{p.id})" for p in candidates))
    return candidates[0]


def _choose_owner(in_text: _OwnerText | None, roster: _Roster, owner_hint: str | None,
                  default_owner: str | None) -> str:
    """The tracker's structured member wins, then the text, then the configured default."""
    if owner_hint is not None:
        return _one_person(_resolve_word(owner_hint, roster), owner_hint, roster).id
    if in_text is not None:
        return _one_person(in_text.people, in_text.found.text, roster).id
    if default_owner is not None:
        return _one_person(_resolve_word(default_owner, roster), default_owner, roster).id
    raise _Problem("no_owner")


# --- title ------------------------------------------------------------------------------------

_GAP = "\x00"  # stands where an owner/date phrase was cut out (control chars are gone by now)
_SEPARATORS = ",;:—–-/|"
_EMPTY_BRACKETS = re.compile(r"[(\[][\s\x00,;:—–\-/|]*[)\]]")
_GAP_CLUSTER = re.compile(r"(?P<left>[\s,;:—–\-/|]*)\x00[\s\x00,;:—–\-/|]*")
_DANGLING_TAIL = re.compile(
    r"(?:[\s,;:—–\-/|]+|\s\.|(?<!\w)(?:до|к|ко|в|во|by|until|till|before|on|отв\.?|кто"
    r"|ответственн(?:ый|ая)|owner|assignee|срок|due|deadline|дедлайн))+$",
    re.IGNORECASE,
)
# "Ivan to prepare the deck" loses "Ivan" as the owner; the "to" goes with him.
_DANGLING_HEAD = re.compile(
    r"^(?:[\s,;:—–\-/|.]+|to\s+(?=\w)|(?:отв\.?|кто|ответственн(?:ый|ая)|owner|assignee|срок|due|deadline"
    r"|дедлайн)\s*[:.]|отв\.)+",
    re.IGNORECASE,
)


def _cut(text: str, spans: list[_Found]) -> str:
    for span in sorted(spans, key=lambda s: s.start, reverse=True):
        text = text[:span.start] + _GAP + text[span.end:]
    return text


def _close_gap(match: re.Match[str]) -> str:
    """Keep the punctuation that stood before a cut phrase: "Отчёт, до пятницы, по SEO" keeps
    one comma; a dash keeps its spaces."""
    mark = next((ch for ch in match.group("left") if ch in _SEPARATORS), None)
    if mark is None:
        return " "
    return f" {mark} " if mark in "—–-/|" else f"{mark} "


def _tidy(text: str) -> str:
    text = _EMPTY_BRACKETS.sub(_GAP, text)
    text = _GAP_CLUSTER.sub(_close_gap, text)
    text = re.sub(r"\s+", " ", text)
    previous = None
    while previous != text:
        previous = text
        text = _DANGLING_TAIL.sub("", _DANGLING_HEAD.sub("", text)).strip()
    return _capitalise(text)


def _capitalise(text: str) -> str:
    """"ивану подготовить" -> "Подготовить"; leave "iPhone" and "SEO" as written."""
    first = text.split(" ", 1)[0]
    return text[0].upper() + text[1:] if first.islower() else text


def _truncate(title: str) -> str:
    if len(title) <= MAX_TITLE:
        return title
    cut = title[:MAX_TITLE - 1]
    space = cut.rfind(" ")
    if space > MAX_TITLE // 2:  # a word boundary, unless that would throw half the title away
        cut = cut[:space]
    return cut.rstrip(" " + _SEPARATORS) + "…"


# --- the API ----------------------------------------------------------------------------------


def parse_decision(line: str, people: Sequence[PersonRef], *, meeting_day: date,
                   locale: str = "ru", default_owner: str | None = None,
                   owner_hint: str | None = None, due_hint: date | None = None) -> Decision:
    """One decision line -> a Decision. ``owner_hint``/``due_hint`` (a Trello check item's member
    and due, an ADF mention/date node) win over the text; ``default_owner`` is used only when
    neither names anyone. Raises DecisionParseError, and nothing else, for any string."""
    lang = _locale(locale)
    try:
        text = _prepare(line)
        if not text:
            raise _Problem("empty")
        roster = _roster(_hashable(people))
        title, owner, due = _parse(text, roster, meeting_day, default_owner, owner_hint, due_hint)
        if due is not None and due < meeting_day:
            raise _Problem("past_due", day=short_date(due, lang))
    except _Problem as problem:
        raise DecisionParseError(line, _reason(problem, lang)) from None
    return Decision(title=title, owner=owner, due=due, source_text=line)


def _parse(text: str, roster: _Roster, meeting_day: date, default_owner: str | None,
           owner_hint: str | None, due_hint: date | None) -> tuple[str, str, date | None]:
    mentions = _mentions(text)
    without_mentions = text
    for mention in mentions:  # "@557058:ivan" must not look like a date
        without_mentions = _mask(without_mentions, mention.start, mention.end)
    # With a structured due the text's date phrase is still cut from the title, but a phrase we
    # cannot read is no longer the team's problem.
    due, due_span = _find_due(without_mentions, meeting_day, strict=due_hint is None)
    without_due = text if due_span is None else _mask(text, due_span.start, due_span.end)
    in_text = _owner_in_text(without_due, mentions, roster)
    owner = _choose_owner(in_text, roster, owner_hint, default_owner)
    spans = [s for s in (due_span, in_text.found if in_text else None) if s is not None]
    title = _truncate(_tidy(_cut(text, spans)))
    if not title:
        raise _Problem("empty")
    return title, owner, due_hint if due_hint is not None else due


def normalise_decision_text(text: str) -> str:
    """The form of a decision that identifies it across edits of whitespace and letter case."""
    return re.sub(r"\s+", " ", unicodedata.normalize("NFC", text)).strip().casefold()


def decision_marker(meeting_marker: str, source_ref: str, normalised_text: str) -> str:
    """A deterministic idempotency marker for a decision's task: the same decision of the same
    meeting from the same place always gets the same marker. Safe as a Jira label (no spaces)
    and as a line of a Trello description."""
    payload = "\x1f".join((meeting_marker, source_ref, normalised_text))
    digest = hashlib.sha256(payload.encode("utf-8", "surrogatepass")).hexdigest()
    return "planerka-d-" + digest[:10]
