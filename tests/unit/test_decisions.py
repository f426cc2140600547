"""Decision lines as a marketing team types them in the meeting -> title, owner, due."""

from __future__ import annotations

import re
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from planerka_sync.domain.decisions import (
    MAX_TITLE,
    Decision,
    PersonRef,
    decision_marker,
    normalise_decision_text,
    parse_decision,
)
from planerka_sync.errors import DecisionParseError

MONDAY = date(2026, 11, 30)  # the meeting day; its Friday is 04.12, next Monday 07.12


def person(pid: str, name: str, *aliases: str) -> PersonRef:
    return PersonRef(pid, name, aliases, (pid, f"557058:{pid}"))


TEAM = (
    person("anna", "Анна Смирнова", "Анна", "Аня", "Anna"),
    person("ivan", "Иван Петров", "Иван", "Ваня", "Ivan"),
    person("maria", "Мария Иванова", "Мария", "Маша", "Maria"),
    person("oleg", "Олег Кузнецов", "Олег", "Oleg"),
    person("dmitry", "Дмитрий Соколов", "Дмитрий", "Дима", "Dmitry"),
)
IDS = {p.id for p in TEAM}


def parse(line: str, **kwargs) -> Decision:
    kwargs.setdefault("meeting_day", MONDAY)
    return parse_decision(line, TEAM, **kwargs)


def d(month: int, day: int, year: int = 2026) -> date:
    return date(year, month, day)


# (line, title, owner, due) — expectations written from the rules, not from the parser's output.
LINES = [
    # --- Russian: owner in a grammatical case, weekday deadlines --------------------------------
    ("Решение: Ивану подготовить отчёт по SEO до пятницы",
     "Подготовить отчёт по SEO", "ivan", d(12, 4)),
    ("Марии проверить скорость загрузки страниц до среды",
     "Проверить скорость загрузки страниц", "maria", d(12, 2)),
    ("Ване в пятницу созвониться с агентством", "Созвониться с агентством", "ivan", d(12, 4)),
    ("Олегом согласовать тексты до 4 декабря", "Согласовать тексты", "oleg", d(12, 4)),
    ("Ане сделать контент-план на декабрь до 15.12",
     "Сделать контент-план на декабрь", "anna", d(12, 15)),
    ("2) Обновить семантическое ядро — Дмитрий — к среде",
     "Обновить семантическое ядро", "dmitry", d(12, 2)),
    ("кто: Ваня — проверить позиции в поиске к понедельнику",
     "Проверить позиции в поиске", "ivan", d(12, 7)),
    ("Решено: Ваня в понедельник публикует пресс-релиз",  # strictly after the Monday meeting
     "Публикует пресс-релиз", "ivan", d(12, 7)),
    ("Мария: отчёт по email (open rate, CTR) к пятнице",
     "Отчёт по email (open rate, CTR)", "maria", d(12, 4)),
    # --- Russian: labels, numeric and month-name dates ------------------------------------------
    ("- [ ] Запустить email-рассылку, отв. Мария, срок: 05.12",
     "Запустить email-рассылку", "maria", d(12, 5)),
    ("1. Обновить лендинг — @oleg — 2026-12-05", "Обновить лендинг", "oleg", d(12, 5)),
    ("Согласовать бюджет с Марией — Дима, к 5 декабря",  # "с Марией" is not the owner
     "Согласовать бюджет с Марией", "dmitry", d(12, 5)),
    ("Отчёт за 20.11 сдать до 05.12, отв. Иван",  # "за 20.11" is a period, not the deadline
     "Отчёт за 20.11 сдать", "ivan", d(12, 5)),
    ("Собрать данные по соцсетям (Анна Смирнова, 05.12.26)",
     "Собрать данные по соцсетям", "anna", d(12, 5)),
    ("Вебинар в 10.12, Олегу подготовить слайды до 05.12",  # "до" beats a bare "в"
     "Вебинар в 10.12, подготовить слайды", "oleg", d(12, 5)),
    ("Дима, 5.12.2026: настроить Яндекс Директ", "Настроить Яндекс Директ", "dmitry", d(12, 5)),
    ("Иван Петров: свести бюджет по каналам, срок 2026-12-11",
     "Свести бюджет по каналам", "ivan", d(12, 11)),
    ("Подготовить дашборд по KPI, ответственная: Мария, дедлайн: 10 декабря",
     "Подготовить дашборд по KPI", "maria", d(12, 10)),
    ("Запустить опрос NPS (отв. @557058:oleg, 2026-12-20)", "Запустить опрос NPS", "oleg",
     d(12, 20)),
    ("Иван — сравнить CAC по каналам, к 7 дек.", "Сравнить CAC по каналам", "ivan", d(12, 7)),
    ("Согласовать макеты с Ваней и Машей, отв. Олег, в четверг",
     "Согласовать макеты с Ваней и Машей", "oleg", d(12, 3)),
    ("Ответственный: Олег. Настроить ретаргетинг", "Настроить ретаргетинг", "oleg", None),
    ("Олег: посчитать ROI по контексту", "Посчитать ROI по контексту", "oleg", None),
    ("Иван: баннеры для акции до пт", "Баннеры для акции", "ivan", d(12, 4)),
    ("Маша: посчитать ср. чек по каналам",  # "ср." without a preposition is "average"
     "Посчитать ср. чек по каналам", "maria", None),
    ("Маша: CTR писем поднять до 2.50",  # a target value, not a date
     "CTR писем поднять до 2.50", "maria", None),
    # --- Russian: relative deadlines ------------------------------------------------------------
    ("Посчитать CAC и LTV по каналам (Аня, через неделю)",
     "Посчитать CAC и LTV по каналам", "anna", d(12, 7)),
    ("Подготовить вебинар через 3 дня @anna", "Подготовить вебинар", "anna", d(12, 3)),
    ("[ ] Проверить посадочные страницы, Олег, через 2 недели",
     "Проверить посадочные страницы", "oleg", d(12, 14)),
    ("Иван: проверить скорость сайта через 10 дней", "Проверить скорость сайта", "ivan",
     d(12, 10)),
    ("@maria подготовить рассылку послезавтра", "Подготовить рассылку", "maria", d(12, 2)),
    ("Олег — A/B тест заголовков писем, завтра", "A/B тест заголовков писем", "oleg", d(12, 1)),
    ("Ивану +2w обновить UTM-метки", "Обновить UTM-метки", "ivan", d(12, 14)),
    ("Аня — обновить обложки в соцсетях до конца недели",
     "Обновить обложки в соцсетях", "anna", d(12, 4)),
    ("Дмитрию до конца месяца собрать аналитику",  # the meeting is on the month's last day
     "Собрать аналитику", "dmitry", d(11, 30)),
    # --- day-month without a year: the next such date on or after the meeting ------------------
    ("Маша 30.11 отправить отчёт", "Отправить отчёт", "maria", d(11, 30)),
    ("Маше разобрать отписки в рассылке, до 29.11",
     "Разобрать отписки в рассылке", "maria", d(11, 29, 2027)),
    ("Снять рилсы для соцсетей — Аня, до 3 января", "Снять рилсы для соцсетей", "anna",
     d(1, 3, 2027)),
    ("Маша 29.02 проверить годовые подписки", "Проверить годовые подписки", "maria",
     d(2, 29, 2028)),
    # --- English --------------------------------------------------------------------------------
    ("Decision: launch the Black Friday campaign, owner: @maria, by Dec 5",
     "Launch the Black Friday campaign", "maria", d(12, 5)),
    ("Prepare the SEO audit — Ivan, by Friday", "Prepare the SEO audit", "ivan", d(12, 4)),
    ("* [ ] Collect UX feedback @557058:dmitry in 2 weeks", "Collect UX feedback", "dmitry",
     d(12, 14)),
    ("Ivan: update UTM tags +3d", "Update UTM tags", "ivan", d(12, 3)),
    ("Analyse ROI by channel, assignee: Oleg, due: 2026-12-10", "Analyse ROI by channel", "oleg",
     d(12, 10)),
    ("Dmitry to review the 5 December newsletter on Friday",
     "Review the 5 December newsletter", "dmitry", d(12, 4)),
    ("Update the brand book, owner: anna, on Friday", "Update the brand book", "anna", d(12, 4)),
    ("Maria to send the KPI report tomorrow", "Send the KPI report", "maria", d(12, 1)),
    ("Oleg: Google Ads report by Fri.", "Google Ads report", "oleg", d(12, 4)),
    ("Oleg: retargeting setup by 5 Dec", "Retargeting setup", "oleg", d(12, 5)),
    ("Set up GA4 goals @ivan by December 5", "Set up GA4 goals", "ivan", d(12, 5)),
    ("Write the case study for the blog, Dmitry, in 2 weeks",
     "Write the case study for the blog", "dmitry", d(12, 14)),
    ("Dmitry: refresh ad creatives, deadline: Dec 12", "Refresh ad creatives", "dmitry",
     d(12, 12)),
    ("Anna — landing page copy, due 2026-12-07", "Landing page copy", "anna", d(12, 7)),
    ("- Anna: email open-rate review, by the end of the month",
     "Email open-rate review", "anna", d(11, 30)),
]


@pytest.mark.parametrize(("line", "title", "owner", "due"), LINES, ids=[x[0][:40] for x in LINES])
def test_real_lines(line: str, title: str, owner: str, due: date | None) -> None:
    decision = parse(line)
    assert (decision.title, decision.owner, decision.due) == (title, owner, due)
    assert decision.source_text == line


def test_the_table_is_big_enough() -> None:
    assert len(LINES) >= 45


# --- weekdays are strictly after the meeting ------------------------------------------------------


def test_a_weekday_named_on_that_weekday_is_next_week() -> None:
    friday = date(2026, 12, 4)
    assert parse("Иван: выгрузить лиды до пятницы", meeting_day=friday).due == date(2026, 12, 11)
    assert parse("Ivan: export leads on Friday", meeting_day=friday).due == date(2026, 12, 11)
    assert parse("Иван: выгрузить лиды в субботу", meeting_day=friday).due == date(2026, 12, 5)


# --- structured hints and the default owner -------------------------------------------------------


def test_hints_from_the_tracker_win_over_the_text() -> None:
    decision = parse("Ивану обновить FAQ до пятницы", owner_hint="557058:maria",
                     due_hint=date(2026, 12, 9))
    assert (decision.title, decision.owner, decision.due) == ("Обновить FAQ", "maria", d(12, 9))


def test_a_hint_makes_an_unreadable_text_date_harmless() -> None:
    decision = parse("Обновить FAQ, срок: когда-нибудь", owner_hint="oleg", due_hint=d(12, 9))
    assert (decision.owner, decision.due) == ("oleg", d(12, 9))


def test_default_owner_applies_only_when_nobody_is_named() -> None:
    assert parse("Обновить FAQ на сайте к 10.12", default_owner="anna").owner == "anna"
    assert parse("Обновить FAQ на сайте к 10.12, Олег", default_owner="anna").owner == "oleg"


def test_an_unknown_hint_or_default_is_an_error_not_an_unknown_owner_id() -> None:
    with pytest.raises(DecisionParseError, match="petya"):
        parse("Обновить FAQ", owner_hint="petya")
    with pytest.raises(DecisionParseError, match="petya"):
        parse("Обновить FAQ", default_owner="petya")


def test_a_past_due_hint_is_rejected() -> None:
    with pytest.raises(DecisionParseError, match=r"срок в прошлом: 20\.11\.2026"):
        parse("Иван: обновить FAQ", due_hint=d(11, 20))


# --- errors ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("line", "locale", "reason"), [
    ("отв. Петя: сделать что-то", "ru", "не найден ответственный «Петя»"),
    ("@petya подготовить отчёт", "ru", "не найден ответственный «petya»"),
    ("Collect leads, owner: Peter", "en", "unknown owner “Peter”"),
    ("Подготовить отчёт до пятницы", "ru", "не указан ответственный"),
    ("Prepare the report by Friday", "en", "no owner"),
    ("Иван до 01.11.2026 подготовить отчёт", "ru", "срок в прошлом: 01.11.2026"),
    ("Ivan: report, due 2026-11-01", "en", "due date is in the past: 2026-11-01"),
    ("Иван до пятницы", "ru", "пустое решение"),
    ("- [ ] Решение: отв. Мария, срок: 05.12", "ru", "пустое решение"),
    ("", "ru", "пустое решение"),
    ("   \t ", "en", "empty decision"),
    ("- [ ]", "en", "empty decision"),
    ("Анна, срок: скоро, сделать", "ru", "не удалось разобрать срок «скоро»"),
    ("Anna: banners, due: 31.02", "en", "no such date: “31.02”"),
    # --- a deadline that names no day of the calendar: said so, not dropped or guessed ------------
    ("Решение: Обновить баннеры, отв. Иван, до 31.02", "ru", "нет такой даты: «31.02»"),
    ("Обновить баннеры, отв. Иван, до 31 февраля", "ru", "нет такой даты: «31 февраля»"),
    ("Обновить баннеры, отв. Иван, до 99.99", "ru", "нет такой даты: «99.99»"),
    ("Иван: баннеры к 00.12", "ru", "нет такой даты: «00.12»"),
    ("Иван: баннеры, срок: 31.04.2027", "ru", "нет такой даты: «31.04.2027»"),
    ("Иван: баннеры не позднее 29.02.2027", "ru", "нет такой даты: «29.02.2027»"),
    ("Иван: баннеры до 32 декабря", "ru", "нет такой даты: «32 декабря»"),
    ("Update banners, owner: Ivan, by 31 February", "en", "no such date: “31 February”"),
    ("Update banners, owner: Ivan, due 02/31", "en", "no such date: “02/31”"),
    ("Ivan: banners by Feb 30", "en", "no such date: “Feb 30”"),
    ("Ivan: banners, deadline: 2026-13-01", "en", "no such date: “2026-13-01”"),
])
def test_errors_say_what_is_wrong_in_the_locale(line: str, locale: str, reason: str) -> None:
    with pytest.raises(DecisionParseError) as caught:
        parse(line, locale=locale)
    assert caught.value.reason.startswith(reason)
    assert caught.value.line == line


def test_an_impossible_date_without_a_deadline_word_is_left_in_the_title() -> None:
    # Only "до"/"by"/"срок:"... make a phrase the deadline; elsewhere it may be anything.
    decision = parse("Маша: разобрать заявки 31.02, в пятницу")
    assert (decision.title, decision.due) == ("Разобрать заявки 31.02", d(12, 4))


def test_an_impossible_date_is_never_read_as_another_day() -> None:
    # dateparser used to read "00.12" as 12 November: a wrong deadline is worse than none.
    decision = parse("Маша 00.12 отправить отчёт")
    assert (decision.title, decision.due) == ("00.12 отправить отчёт", None)


def test_a_structured_due_makes_an_impossible_text_date_harmless() -> None:
    assert parse("Иван: баннеры до 31.02", due_hint=d(12, 9)).due == d(12, 9)


def test_an_unknown_owner_lists_the_team() -> None:
    with pytest.raises(DecisionParseError) as caught:
        parse("отв. Петя: сделать что-то")
    assert "Анна Смирнова" in caught.value.reason and "@dmitry" in caught.value.reason


def test_people_from_a_config_may_carry_lists() -> None:
    team = [PersonRef("oleg", "Олег Кузнецов", ["Олег"], ["557058:oleg"])]  # type: ignore[arg-type]
    assert parse_decision("Олегу: отчёт", team, meeting_day=MONDAY).owner == "oleg"


def test_a_name_shared_by_two_people_is_ambiguous() -> None:
    team = (*TEAM, person("ivan2", "Иван Сидоров", "Иван"))
    with pytest.raises(DecisionParseError, match="неоднозначно"):
        parse_decision("Ивану обновить FAQ", team, meeting_day=MONDAY)


def test_a_name_inside_another_word_is_not_an_owner() -> None:
    # "Олег" in "Олеговна", "Дима" in "Дымарь"... and "Анна" in "Саванна"
    with pytest.raises(DecisionParseError, match="не указан ответственный"):
        parse("Обсудить рекламу в Саванне с Олеговной")


# --- titles ---------------------------------------------------------------------------------------


def test_long_titles_are_cut_at_a_word_boundary() -> None:
    line = "Иван: " + " ".join(["проанализировать"] * 40) + " до пятницы"
    decision = parse(line)
    assert len(decision.title) <= MAX_TITLE
    assert decision.title.endswith("проанализировать…")
    assert decision.due == d(12, 4)


def test_control_characters_and_emoji_survive() -> None:
    decision = parse("Иван:\tзапустить 🚀 промо\x00 в\nсторис\r до пятницы")
    assert decision.title == "Запустить 🚀 промо в сторис"
    assert decision.owner == "ivan"


def test_titles_keep_their_own_capitals() -> None:
    assert parse("Иван: iPhone-кампания к пятнице").title == "iPhone-кампания"


# --- properties -----------------------------------------------------------------------------------

FRAGMENTS = [
    "Иван", "Ивану", "Марии", "Олегом", "Аня", "Ivan", "@ivan", "@557058:maria", "@petya",
    "отв.", "owner:", "кто:", "срок:", "due:", "до", "к", "by", "с", "—", ",", ":", "- [ ]",
    "Решение:", "1.", "05.12", "01.11.2026", "31.02", "2026-12-05", "5 декабря", "Dec 5",
    "пятницы", "Friday", "через неделю", "in 2 weeks", "+3d", "завтра", "end of month",
    "отчёт", "SEO", "баннеры", "🚀", "\x00", "\n", "2.50", "29.02",
]
lines = st.one_of(
    st.text(max_size=80),
    st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=6)), max_size=10)
    .map(" ".join),
)


def outcome(line: str, **kwargs) -> Decision | str:
    try:
        return parse(line, **kwargs)
    except DecisionParseError as error:
        return error.reason


@settings(max_examples=300, deadline=None)
@given(line=lines, day=st.dates(min_value=date(2000, 1, 1), max_value=date(2090, 12, 31)),
       locale=st.sampled_from(["ru", "en"]), fallback=st.sampled_from([None, "oleg"]))
def test_any_text_is_a_decision_or_a_parse_error(line: str, day: date, locale: str,
                                                 fallback: str | None) -> None:
    result = outcome(line, meeting_day=day, locale=locale, default_owner=fallback)
    if isinstance(result, Decision):
        assert result.owner in IDS
        assert result.due is None or result.due >= day
        assert 0 < len(result.title) <= MAX_TITLE
        assert result.source_text == line
    assert outcome(line, meeting_day=day, locale=locale, default_owner=fallback) == result


DAY_MONTH_NUMBERS = st.tuples(st.integers(0, 99), st.integers(0, 99))
RU_MONTHS = ("января", "февраля", "марта", "апреля", "мая", "июня", "июля", "августа",
             "сентября", "октября", "ноября", "декабря")
EN_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
             "September", "October", "November", "December")


def real_day(day: int, month: int) -> bool:
    """Whether the day-month exists in some year (29 February does), from first principles."""
    lengths = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
    return 1 <= month <= 12 and 1 <= day <= lengths[month - 1]


def next_such_day(day: int, month: int, meeting: date) -> date:
    for year in range(meeting.year, meeting.year + 9):
        try:
            found = date(year, month, day)
        except ValueError:
            continue
        if found >= meeting:
            return found
    raise AssertionError("every real day-month comes back within eight years")


@settings(max_examples=200, deadline=None)
@given(day_month=DAY_MONTH_NUMBERS, meeting=st.dates(date(2000, 1, 1), date(2090, 12, 31)),
       lead=st.sampled_from(["до", "к", "срок:", "не позднее"]))
def test_a_numeric_deadline_is_that_day_or_refused(day_month: tuple[int, int], meeting: date,
                                                   lead: str) -> None:
    day, month = day_month
    phrase = f"{day:02d}.{month:02d}"
    result = outcome(f"Иван: обновить баннеры {lead} {phrase}", meeting_day=meeting)
    if real_day(day, month):
        assert isinstance(result, Decision), result
        assert (result.title, result.due) == ("Обновить баннеры",
                                              next_such_day(day, month, meeting))
    else:
        assert result == f"нет такой даты: «{phrase}»"


@settings(max_examples=200, deadline=None)
@given(day=st.integers(0, 40), month=st.integers(1, 12), english=st.booleans(),
       meeting=st.dates(date(2000, 1, 1), date(2090, 12, 31)))
def test_a_month_name_deadline_is_that_day_or_refused(day: int, month: int, english: bool,
                                                      meeting: date) -> None:
    if english:
        phrase = f"{day} {EN_MONTHS[month - 1]}"
        result = outcome(f"Ivan: update the banners by {phrase}", meeting_day=meeting,
                         locale="en")
        title, refusal = "Update the banners", f"no such date: “{phrase}”"
    else:
        phrase = f"{day} {RU_MONTHS[month - 1]}"
        result = outcome(f"Иван: обновить баннеры до {phrase}", meeting_day=meeting)
        title, refusal = "Обновить баннеры", f"нет такой даты: «{phrase}»"
    if real_day(day, month):
        assert isinstance(result, Decision), result
        assert (result.title, result.due) == (title, next_such_day(day, month, meeting))
    else:
        assert result == refusal


# --- markers --------------------------------------------------------------------------------------


def test_decision_marker_is_deterministic_and_label_safe() -> None:
    text = normalise_decision_text("  Подготовить   отчёт ПО SEO ")
    marker = decision_marker("planerka-mkt-2026-11-30", "trello:check:abc", text)
    assert marker == decision_marker("planerka-mkt-2026-11-30", "trello:check:abc",
                                     normalise_decision_text("подготовить отчёт по seo"))
    assert re.fullmatch(r"planerka-d-[0-9a-f]{10}", marker)
    assert marker != decision_marker("planerka-mkt-2026-12-07", "trello:check:abc", text)
    assert marker != decision_marker("planerka-mkt-2026-11-30", "trello:check:abd", text)
