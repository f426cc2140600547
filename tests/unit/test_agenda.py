"""The agenda the guide asks for, built from the built-in template."""

from __future__ import annotations

from datetime import UTC, datetime, time
from pathlib import Path

import pytest
import yaml

from planerka_sync.domain.agenda import (
    MeetingFacts,
    Participant,
    TemplateError,
    build_agenda,
    cadence_words,
    meeting_title,
    parse_template,
    round_table_order,
)
from planerka_sync.domain.cadence import build_schedule
from planerka_sync.domain.document import Mention, TaskList, plain

TEMPLATE_FILE = Path(__file__).resolve().parents[2] / "config" / "agendas" / "marketing-kpi.yaml"
PEOPLE = tuple(
    Participant(pid, name, pid)
    for pid, name in [("anna", "Анна"), ("ivan", "Иван"), ("maria", "Мария"), ("oleg", "Олег"),
                      ("dmitry", "Дмитрий")]
)
KPI_BLOCKS_EN = ["Site traffic", "Conversions", "CAC and LTV", "ROI", "Ad budget", "Social media",
                 "Email marketing", "SEO", "UX/UI", "Analytics and reporting"]


def template():
    return parse_template(yaml.safe_load(TEMPLATE_FILE.read_text(encoding="utf-8")), "builtin")


def facts(number_of_weeks_ahead: int = 0, topics: tuple[str, ...] = (), cadence: str = "",
          zone: str = "Europe/Moscow") -> MeetingFacts:
    schedule = build_schedule("weekly", at=time(10), zone=zone)
    occurrences = schedule.upcoming(datetime(2026, 11, 26, tzinfo=UTC), number_of_weeks_ahead + 1)
    return MeetingFacts("Planning", occurrences[-1], "Room 3 https://meet.example.org/mkt",
                        PEOPLE[0], PEOPLE, topics=topics, cadence=cadence)


def test_sections_in_the_guide_order_with_ten_kpi_blocks() -> None:
    doc = build_agenda(template(), facts(), "en")
    kinds = [s.key for s in doc.sections]
    assert kinds[0] == "review" and kinds[-3:] == ["topics", "round-table", "decisions"]
    kpi = [s for s in doc.sections if s.key.startswith("kpi-")]
    assert [s.title.split(". ", 1)[1] for s in kpi] == KPI_BLOCKS_EN
    traffic = plain_items(kpi[0].checklist)
    assert traffic == ["Visits", "Unique visitors", "Time on site", "Bounce rate", "Page depth"]
    decisions = doc.sections[-1]
    assert decisions.checklist == TaskList(()) and decisions.blocks  # empty, with a hint


def test_russian_texts() -> None:
    doc = build_agenda(template(), facts(), "ru")
    titles = [s.title for s in doc.sections]
    assert titles[0] == "Разбор решений прошлых планёрок"
    assert "1. Трафик сайта" in titles and titles[-1] == "Решения и сроки"
    assert "Круглый стол" in titles


def test_round_table_gives_everyone_a_slot_after_the_fixed_sections() -> None:
    doc = build_agenda(template(), facts(), "en")
    table = next(s for s in doc.sections if s.key == "round-table").checklist
    lines = plain_items(table)
    assert len(lines) == len(PEOPLE)
    speakers = {m.name for item in table.items for m in item.content if isinstance(m, Mention)}
    assert speakers == {p.name for p in PEOPLE}
    # 60 minutes minus review 10, KPI 10x2, topics 5, decisions 10 = 15 minutes, 3 each.
    assert lines[0].startswith("10:35–10:38 ") and lines[-1].startswith("10:47–10:50 ")


def test_round_table_rotates_by_one_each_occurrence() -> None:
    first = speaker_order(build_agenda(template(), facts(0), "en"))
    second = speaker_order(build_agenda(template(), facts(1), "en"))
    assert second == first[1:] + first[:1]
    assert sorted(first) == sorted(p.name for p in PEOPLE)


def test_rotation_order_is_a_rotation() -> None:
    assert [p.person_id for p in round_table_order(PEOPLE, 7)] == [
        "maria", "oleg", "dmitry", "anna", "ivan"]
    assert round_table_order((), 3) == []


def test_topics_become_items_and_intro_has_the_facts() -> None:
    doc = build_agenda(template(), facts(topics=("Бюджет на декабрь",)), "ru")
    topics = next(s for s in doc.sections if s.key == "topics")
    assert plain_items(topics.checklist) == ["Бюджет на декабрь"]
    intro = plain_blocks(doc.intro)
    assert "пн, 30 ноября 2026, 10:00" in intro
    assert "Room 3" in intro and "Анна" in intro and "Дмитрий" in intro


@pytest.mark.parametrize(
    ("locale", "zone", "line", "invite"),
    [("ru", "Europe/Moscow", "пн, 30 ноября 2026, 10:00–11:00 (Москва) · еженедельно",
      "Календарь всей серии планёрок — во вложении (.ics): достаточно добавить его один раз"),
     ("en", "Europe/Moscow", "Mon, 30 November 2026, 10:00–11:00 (Moscow) · weekly",
      "The whole series' calendar is attached (.ics): add it once"),
     ("ru", "America/New_York", "пн, 30 ноября 2026, 10:00–11:00 (Нью-Йорк) · еженедельно", None),
     ("en", "America/New_York", "Mon, 30 November 2026, 10:00–11:00 (New York) · weekly", None),
     ("ru", "Asia/Kolkata", "пн, 30 ноября 2026, 10:00–11:00 (Kolkata) · еженедельно", None)],
)
def test_header_shows_the_end_time_the_zone_and_the_cadence(
    locale, zone: str, line: str, invite: str | None
) -> None:
    doc = build_agenda(template(), facts(cadence="FREQ=WEEKLY;BYDAY=MO", zone=zone), locale)
    intro = plain_blocks(doc.intro).splitlines()
    assert intro[0].split(": ", 1)[1] == line
    if invite:
        assert intro[-1] == invite


@pytest.mark.parametrize(
    ("rule", "ru", "en"),
    [("FREQ=WEEKLY;BYDAY=MO", "еженедельно", "weekly"),
     ("FREQ=WEEKLY;INTERVAL=2;BYDAY=TU", "раз в две недели", "every two weeks"),
     ("FREQ=WEEKLY;INTERVAL=3;BYDAY=TU", "раз в 3 недели", "every 3 weeks"),
     ("FREQ=WEEKLY;INTERVAL=5;BYDAY=TU", "раз в 5 недель", "every 5 weeks"),
     ("FREQ=WEEKLY;BYDAY=TH,MO", "еженедельно: пн, чт", "weekly: Mon, Thu"),
     ("FREQ=MONTHLY;BYDAY=+1MO", "ежемесячно, в первый понедельник",
      "monthly, on the first Monday"),
     ("FREQ=MONTHLY;BYDAY=-1FR", "ежемесячно, в последнюю пятницу",
      "monthly, on the last Friday"),
     ("FREQ=MONTHLY;BYDAY=2SU", "ежемесячно, во второе воскресенье",
      "monthly, on the second Sunday"),
     ("FREQ=MONTHLY;BYDAY=3WE", "ежемесячно, в третью среду", "monthly, on the third Wednesday"),
     ("FREQ=MONTHLY;BYMONTHDAY=15", "ежемесячно, 15-го числа", "monthly, on day 15"),
     ("FREQ=MONTHLY;BYMONTHDAY=-1", "ежемесячно, в последний день месяца",
      "monthly, on the last day of the month"),
     ("FREQ=DAILY", "ежедневно", "daily"),
     ("FREQ=WEEKLY;UNTIL=20270101T070000Z;BYDAY=MO", "еженедельно, до 01.01.2027",
      "weekly, until 2027-01-01"),
     ("FREQ=MONTHLY;BYSETPOS=-1;BYDAY=MO,TU,WE,TH,FR",
      "по правилу RRULE:FREQ=MONTHLY;BYSETPOS=-1;BYDAY=MO,TU,WE,TH,FR",
      "by the rule RRULE:FREQ=MONTHLY;BYSETPOS=-1;BYDAY=MO,TU,WE,TH,FR")],
)
def test_cadence_in_words(rule: str, ru: str, en: str) -> None:
    assert cadence_words(rule, "ru") == ru
    assert cadence_words(rule, "en") == en


def test_title_is_localised() -> None:
    start = datetime(2026, 11, 30, 10, tzinfo=UTC)
    assert meeting_title("Планёрка", start, "ru") == "Планёрка — 30.11.2026 10:00"
    assert meeting_title("Planning", start, "en") == "Planning — 2026-11-30 10:00"


def test_fingerprint_changes_with_content_only() -> None:
    a = build_agenda(template(), facts(), "en").fingerprint()
    assert a == build_agenda(template(), facts(), "en").fingerprint()
    assert a != build_agenda(template(), facts(topics=("x",)), "en").fingerprint()


@pytest.mark.parametrize(
    ("change", "field"),
    [(lambda d: d["sections"][0].update(kind="poll"), "sections.0.kind"),
     (lambda d: d["sections"][1].update(colour="red"), "sections.1.colour"),
     (lambda d: d.pop("id"), "id")],
)
def test_bad_template_names_the_field(change, field: str) -> None:
    data = yaml.safe_load(TEMPLATE_FILE.read_text(encoding="utf-8"))
    change(data)
    with pytest.raises(TemplateError) as err:
        parse_template(data, "my-agenda.yaml")
    assert any(p.startswith(f"{field}:") for p in err.value.problems), err.value.problems
    assert str(err.value).startswith("my-agenda.yaml: ")


def plain_items(checklist: TaskList | None) -> list[str]:
    assert checklist is not None
    return [plain(item.content) for item in checklist.items]


def speaker_order(doc) -> list[str]:
    table = next(s for s in doc.sections if s.key == "round-table").checklist
    return [m.name for item in table.items for m in item.content if isinstance(m, Mention)]


def plain_blocks(blocks) -> str:
    out = []
    for block in blocks:
        for line in getattr(block, "items", None) or [block.content]:
            out.append(plain(line))
    return "\n".join(out)
