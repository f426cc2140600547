"""The meeting's agenda: a template (YAML, ru/en) + the occurrence + the people -> a Document.

Sections follow the guide: review of previous decisions, the KPI blocks, the team's topics, a
round table where every participant gets a slot (the order rotates each occurrence), and an empty
"decisions and deadlines" section where the meeting records what it decided.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from planerka_sync.domain.cadence import Occurrence
from planerka_sync.domain.document import (
    Block,
    BulletList,
    Document,
    Inline,
    Link,
    Mention,
    Section,
    TaskItem,
    TaskList,
    Text,
    paragraph,
)
from planerka_sync.domain.texts import (
    CADENCE_UNITS_RU,
    CADENCE_WORDS,
    MONTHLY_ON,
    WEEKDAY_CODES,
    Locale,
    long_date,
    ordinal_weekday,
    ru_plural,
    short_date,
    t,
    weekday_short,
    zone_name,
)


class TemplateError(ValueError):
    """A template file has a bad field; ``problems`` are 'path: what' strings."""

    def __init__(self, source: str, problems: list[str]) -> None:
        super().__init__("; ".join(f"{source}: {p}" for p in problems))
        self.source = source
        self.problems = problems


# --- the template ---------------------------------------------------------------------------


class Strict(BaseModel):
    """The base of every data file's model: unknown fields are mistakes, values are frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class LocalText(Strict):
    ru: str | None = None
    en: str | None = None

    def get(self, locale: Locale) -> str:
        return (self.ru if locale == "ru" else self.en) or self.en or self.ru or ""


Words = Annotated[LocalText | str, Field(union_mode="left_to_right")]


def words(value: LocalText | str, locale: Locale) -> str:
    return value if isinstance(value, str) else value.get(locale)


SectionKind = Literal["review", "kpi", "topics", "round_table", "decisions", "custom"]


class TemplateSection(Strict):
    key: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    kind: SectionKind
    title: Words
    items: list[Words] = Field(default_factory=list)
    hint: Words | None = None
    # The hint where the tracker has no checklists (Jira): people write in comments there.
    hint_without_checklists: Words | None = None
    minutes: int | None = Field(None, ge=0)
    minutes_per_person: int | None = Field(None, ge=1)
    min_minutes_per_person: int = Field(2, ge=1)


class AgendaTemplate(Strict):
    id: str
    version: int = Field(1, ge=1)
    sections: list[TemplateSection] = Field(min_length=1)


def parse_template(data: Any, source: str) -> AgendaTemplate:
    """Validate a template mapping; every bad field is named in the error."""
    try:
        template = AgendaTemplate.model_validate(data)
    except ValidationError as exc:
        raise TemplateError(source, [problem_of(e) for e in exc.errors()]) from None
    keys = [s.key for s in template.sections]
    duplicates = sorted({k for k in keys if keys.count(k) > 1})
    if duplicates:
        raise TemplateError(source, [f"sections: duplicate key {', '.join(duplicates)}"])
    return template


def problem_of(error: Any) -> str:
    """One pydantic error as 'path: what', naming the field as the file spells it."""
    path = ".".join(str(p) for p in error["loc"] if not str(p).startswith(("LocalText", "str")))
    message = "unknown field" if error["type"] == "extra_forbidden" else error["msg"]
    return f"{path}: {message}"


# --- the inputs of one meeting ----------------------------------------------------------------


@dataclass(frozen=True)
class Participant:
    person_id: str
    name: str
    account: str | None = None  # tracker identity, for a mention

    def mention(self) -> Mention:
        return Mention(self.name, self.account)


@dataclass(frozen=True)
class ReviewItem:
    """An open decision from earlier meetings (filled by the status sync)."""

    title: str
    owner: Participant | None
    due: Any  # a date
    status: str
    url: str | None = None


@dataclass(frozen=True)
class MeetingFacts:
    title: str
    occurrence: Occurrence
    place: str
    facilitator: Participant | None
    participants: tuple[Participant, ...]
    previous_url: str | None = None
    topics: tuple[str, ...] = ()
    review: tuple[ReviewItem, ...] = ()
    open_items: dict[str, int] | None = None  # person_id -> open decisions, for the round table
    cadence: str = ""  # the series' RRULE value, e.g. "FREQ=WEEKLY;BYDAY=MO"
    checklists: bool = True  # the tracker has checklists people tick and add to (Trello)


def meeting_title(title: str, starts_at: datetime, locale: Locale) -> str:
    """'<title> — <date> <time>', the form people and lost-state lookups both use."""
    return f"{title} — {short_date(starts_at.date(), locale)} {starts_at:%H:%M}"


def round_table_order(participants: tuple[Participant, ...], number: int) -> list[Participant]:
    """Everyone, rotated by one place per occurrence so nobody always speaks first (or last)."""
    if not participants:
        return []
    shift = number % len(participants)
    return list(participants[shift:] + participants[:shift])


# --- building --------------------------------------------------------------------------------


def build_agenda(template: AgendaTemplate, facts: MeetingFacts, locale: Locale) -> Document:
    timing = _timing(template, facts)
    sections = tuple(_section(section, facts, locale, timing) for section in template.sections)
    return Document(intro=_intro(facts, locale), sections=sections)


@dataclass(frozen=True)
class _Timing:
    offsets: dict[str, int]  # minutes from the start at which each section begins
    per_person: int  # round-table minutes per participant


def _timing(template: AgendaTemplate, facts: MeetingFacts) -> _Timing:
    """The round table gets what the other sections leave of the meeting, shared equally."""
    meeting = int((facts.occurrence.ends_at - facts.occurrence.starts_at).total_seconds() // 60)
    people = max(len(facts.participants), 1)
    fixed = sum(s.minutes or 0 for s in template.sections if s.kind != "round_table")
    table = next((s for s in template.sections if s.kind == "round_table"), None)
    per_person = 0
    if table is not None:
        per_person = table.minutes_per_person or max(
            (meeting - fixed) // people, table.min_minutes_per_person
        )
    offsets, elapsed = {}, 0
    for section in template.sections:
        offsets[section.key] = elapsed
        is_table = section.kind == "round_table"
        elapsed += per_person * people if is_table else section.minutes or 0
    return _Timing(offsets, per_person)


def _intro(facts: MeetingFacts, locale: Locale) -> tuple[Block, ...]:
    lines: list[tuple[Inline, ...]] = [
        (Text(f"{t('when', locale)}: ", strong=True), Text(when(facts, locale))),
    ]
    if facts.place:
        lines.append((Text(f"{t('where', locale)}: ", strong=True), *_place(facts.place)))
    if facts.facilitator:
        lines.append((Text(f"{t('facilitator', locale)}: ", strong=True),
                      facts.facilitator.mention()))
    people: list[Inline] = [Text(f"{t('participants', locale)}: ", strong=True)]
    for i, person in enumerate(facts.participants):
        people += [Text(", ")] if i else []
        people.append(person.mention())
    lines.append(tuple(people))
    if facts.previous_url:
        lines.append((Text(f"{t('previous', locale)}: ", strong=True),
                      Link(facts.previous_url, facts.previous_url)))
    invite = t("invite_series" if facts.cadence else "invite", locale)
    return (BulletList(tuple(lines)), paragraph(invite))


def when(facts: MeetingFacts, locale: Locale) -> str:
    """'пн, 30 ноября 2026, 10:00–11:00 (Москва) · еженедельно' /
    'Mon, 30 November 2026, 10:00–11:00 (Moscow) · weekly'."""
    start, end = facts.occurrence.starts_at, facts.occurrence.ends_at
    text = f"{long_date(start, locale)}–{end:%H:%M}"
    key = getattr(start.tzinfo, "key", None)
    if key:
        text += f" ({zone_name(key, locale)})"
    if facts.cadence:
        text += f" · {cadence_words(facts.cadence, locale, start.tzinfo)}"
    return text


def cadence_words(rule: str, locale: Locale, zone: Any = None) -> str:
    """An RRULE value in words: 'еженедельно', 'раз в две недели', 'ежемесячно, в первый
    понедельник', 'weekly: Mon, Thu'. A rule with parts not put in words is shown as written."""
    parts = dict(part.split("=", 1) for part in rule.upper().split(";") if "=" in part)
    freq = parts.pop("FREQ", "")
    interval = int(parts.pop("INTERVAL", "1") or 1)
    parts.pop("WKST", None)
    until = parts.pop("UNTIL", None)
    words = CADENCE_WORDS.get(freq, {}).get(locale)
    detail = _cadence_detail(freq, parts, locale)
    if words is None or detail is None or "COUNT" in parts:
        return f"{t('by_rule', locale)} RRULE:{rule}"
    if interval == 1:
        text = words[0]
    elif interval == 2:
        text = words[1]
    else:
        units = CADENCE_UNITS_RU[freq] if locale == "ru" else ("", "", "")
        text = words[2].format(n=interval, unit=ru_plural(interval, units))
    if detail:
        text += detail
    if until:
        text += f", {t('until', locale)} {short_date(_until_date(until, zone), locale)}"
    return text


def _cadence_detail(freq: str, parts: dict[str, str], locale: Locale) -> str | None:
    """What follows the frequency ('' if the date already says it); None if not in words."""
    byday = [d for d in parts.pop("BYDAY", "").split(",") if d]
    bymonthday = [d for d in parts.pop("BYMONTHDAY", "").split(",") if d]
    if parts:  # BYSETPOS, BYMONTH, BYWEEKNO, ...: shown as the rule itself
        return None
    if freq == "WEEKLY" and not bymonthday:
        if len(byday) <= 1:
            return ""  # the date names the day
        if any(d not in WEEKDAY_CODES for d in byday):
            return None
        days = sorted(WEEKDAY_CODES.index(d) for d in byday)
        return ": " + ", ".join(weekday_short(d, locale) for d in days)
    if freq == "MONTHLY" and len(byday) + len(bymonthday) == 1:
        if bymonthday:
            day = int(bymonthday[0])
            if day == -1:
                return ", " + MONTHLY_ON[locale]["last_day"]
            return ", " + MONTHLY_ON[locale]["day"].format(day=day) if day > 0 else None
        code = byday[0]
        number, weekday = code[:-2].lstrip("+"), code[-2:]
        if weekday not in WEEKDAY_CODES or not number:  # every Monday of the month: as written
            return None
        what = ordinal_weekday(int(number), WEEKDAY_CODES.index(weekday), locale)
        if what is None:
            return None
        form = "weekday_vo" if what.startswith("вт") else "weekday"  # во второй, во вторник
        return ", " + MONTHLY_ON[locale][form].format(what=what)
    if not byday and not bymonthday:
        return ""
    return None


def _until_date(value: str, zone: Any) -> date:
    moment = datetime.strptime(value.rstrip("Z"), "%Y%m%dT%H%M%S" if "T" in value else "%Y%m%d")
    if value.endswith("Z"):
        moment = moment.replace(tzinfo=UTC)
        if zone is not None:
            moment = moment.astimezone(zone)
    return moment.date()


def _place(place: str) -> tuple[Inline, ...]:
    """Links in the place (a call URL) become real links."""
    parts: list[Inline] = []
    for i, word in enumerate(place.split(" ")):
        parts += [Text(" ")] if i else []
        parts.append(Link(word, word) if word.startswith(("http://", "https://")) else Text(word))
    return _merge_text(parts)


def _merge_text(parts: list[Inline]) -> tuple[Inline, ...]:
    merged: list[Inline] = []
    for part in parts:
        last = merged[-1] if merged else None
        if isinstance(part, Text) and isinstance(last, Text) and last.strong == part.strong:
            merged[-1] = Text(last.text + part.text, strong=last.strong)
        else:
            merged.append(part)
    return tuple(merged)


def _section(
    section: TemplateSection, facts: MeetingFacts, locale: Locale, timing: _Timing
) -> Section:
    title = words(section.title, locale)
    shown_hint = section.hint if facts.checklists else (
        section.hint_without_checklists or section.hint)
    hint = (paragraph(words(shown_hint, locale)),) if shown_hint else ()
    key = section.key
    match section.kind:
        case "kpi" | "custom":
            items = [_item(key, i, (Text(words(w, locale)),)) for i, w in enumerate(section.items)]
            return Section(key, title, (), TaskList(tuple(items)), static=True)
        case "review":
            if len(facts.review) > REVIEW_SHOWN:
                return Section(key, title, _review_overview(facts, locale),
                               _review(key, facts, locale, REVIEW_SHOWN))
            return Section(key, title, () if facts.review else hint, _review(key, facts, locale))
        case "topics":
            topics = [_item(key, i, (Text(topic),)) for i, topic in enumerate(facts.topics)]
            blocks = hint if not topics else ()
            return Section(key, title, blocks, TaskList(tuple(topics)), collects=True)
        case "round_table":
            return Section(key, title, (), _round_table(section, facts, locale, timing))
        case "decisions":
            return Section(key, title, hint, TaskList(()), static=True, collects=True)
    raise AssertionError(section.kind)


def _item(section_key: str, index: int, content: tuple[Inline, ...]) -> TaskItem:
    return TaskItem(content, key=f"{section_key}-{index + 1}")


# A meeting reviews a handful of decisions, not hundreds: past this many the review section
# counts them per owner and lists only the first (the longest carried, see review_items).
REVIEW_SHOWN = 10

_OVERVIEW = {
    "ru": ("Открытых решений: {total}. По ответственным: {owners}.",
           "Ниже — {shown} самых давних; ещё {rest} — в комментарии о прогрессе.",
           "без ответственного"),
    "en": ("Open decisions: {total}. By owner: {owners}.",
           "Below are the {shown} carried longest; {rest} more are in the progress comment.",
           "no owner"),
}


def _review_overview(facts: MeetingFacts, locale: Locale) -> tuple[Block, ...]:
    """Counts per owner (most first) and where the rest are, for a long review."""
    total_line, rest_line, nobody = _OVERVIEW[locale]
    counts: dict[str, int] = {}
    for item in facts.review:
        name = item.owner.name if item.owner else nobody
        counts[name] = counts.get(name, 0) + 1
    owners = ", ".join(f"{name} — {n}" for name, n in
                       sorted(counts.items(), key=lambda pair: (-pair[1], pair[0])))
    rest = len(facts.review) - REVIEW_SHOWN
    return (paragraph(total_line.format(total=len(facts.review), owners=owners)),
            paragraph(rest_line.format(shown=REVIEW_SHOWN, rest=rest)))


def _review(key: str, facts: MeetingFacts, locale: Locale, shown: int | None = None
            ) -> TaskList:
    items = []
    for i, item in enumerate(facts.review[:shown]):
        content: list[Inline] = [Link(item.title, item.url) if item.url else Text(item.title)]
        if item.owner:
            content += [Text(f" — {t('owner', locale)} "), item.owner.mention()]
        if item.due:
            content.append(Text(f", {t('due', locale)} {short_date(item.due, locale)}"))
        content.append(Text(f" · {item.status}"))
        items.append(_item(key, i, tuple(content)))
    return TaskList(tuple(items))


def _round_table(
    section: TemplateSection, facts: MeetingFacts, locale: Locale, timing: _Timing
) -> TaskList:
    order = round_table_order(facts.participants, facts.occurrence.number)
    slot = timedelta(minutes=timing.per_person)
    start = facts.occurrence.starts_at + timedelta(minutes=timing.offsets[section.key])
    items = []
    for i, person in enumerate(order):
        begins = start + i * slot
        content: list[Inline] = [Text(f"{begins:%H:%M}–{begins + slot:%H:%M} "), person.mention()]
        open_count = (facts.open_items or {}).get(person.person_id)
        if open_count:
            content.append(Text(f" ({t('open_items', locale)}: {open_count})"))
        items.append(TaskItem(tuple(content), key=f"{section.key}-{person.person_id}"))
    return TaskList(tuple(items))
