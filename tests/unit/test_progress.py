"""The progress comment posted before each meeting: counts, on-time rate, owners, changes."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from planerka_sync.domain.document import BulletList, Mention, Paragraph
from planerka_sync.domain.progress import (
    Category,
    OnTime,
    Period,
    TaskProgress,
    days_phrase,
    on_time_text,
    open_items_by_owner,
    overdue_days,
    progress_document,
    review_items,
    ru_plural,
    status_text,
    summarize,
)
from planerka_sync.render import to_adf, to_plain, to_trello, to_wiki

TODAY = date(2026, 11, 30)  # the Monday of the meeting
SINCE = date(2026, 11, 23)  # the previous report
WEEK_AGO = date(2026, 11, 16)
TWO_WEEKS_AGO = date(2026, 11, 9)

PEOPLE = {
    "anna": ("Анна", "557058:anna"),
    "ivan": ("Иван", "557058:ivan"),
    "maria": ("Мария", None),
    "oleg": ("Олег", "557058:oleg"),
}


def task(title: str, owner: str | None = None, **fields) -> TaskProgress:
    name, account = PEOPLE[owner] if owner else (None, None)
    values: dict[str, Any] = dict(
        title=title, owner_id=owner, owner_name=name, owner_account=account, due=None,
        category="not_started", done_on=None, url=None, key=None, meeting_day=WEEK_AGO,
        previous_category="not_started",
    )
    values.update(fields)
    return TaskProgress(**values)


def d(month: int, day: int) -> date:
    return date(2026, month, day)


# A seeded history with one of everything the issue names.
ON_TIME = task("Запустить рассылку", "anna", category="done", due=d(11, 20), done_on=d(11, 19),
               previous_category="in_progress", key="MKT-1", url="https://j.example/MKT-1")
LATE = task("Отчёт по SEO", "anna", category="done", due=d(11, 18), done_on=d(11, 20),
            previous_category="done", key="MKT-2", meeting_day=TWO_WEEKS_AGO)
NO_DUE_DONE = task("Обновить баннеры", "ivan", category="done", done_on=d(11, 25))
NEWLY_OVERDUE = task("Бюджет на декабрь", "ivan", category="in_progress", due=d(11, 27),
                     previous_category="in_progress")
LONG_OVERDUE = task("Аудит UX", "ivan", due=d(11, 10), meeting_day=TWO_WEEKS_AGO)
NEW = task("Посты на неделю", "maria", due=d(12, 5), previous_category=None,
           meeting_day=SINCE)
REOPENED = task("Лендинг акции", "maria", category="in_progress", due=d(12, 10), reopened=True,
                previous_category="done", key="MKT-6", url="https://j.example/MKT-6")
UNOWNED = task("Найти подрядчика по видео")
DELETED = task("Старый конкурс", "oleg", category="deleted", due=d(11, 20), done_on=d(11, 19),
               previous_category="in_progress")
HISTORY = [ON_TIME, LATE, NO_DUE_DONE, NEWLY_OVERDUE, LONG_OVERDUE, NEW, REOPENED, UNOWNED,
           DELETED]


def titles(tasks) -> list[str]:
    return [t.title for t in tasks]


# --- counts and rate ---------------------------------------------------------------------------


def test_counts_of_the_seeded_history() -> None:
    summary = summarize(HISTORY, TODAY, since=SINCE)

    assert (summary.done, summary.in_progress, summary.not_started) == (3, 2, 3)
    assert summary.overdue == 2
    assert summary.deleted == 1
    assert summary.total == 8
    # ON_TIME on time; LATE done late and the two overdue open ones are late too. NO_DUE_DONE
    # and UNOWNED have no due date, NEW and REOPENED are not due yet, the deleted one never counts.
    assert summary.on_time == OnTime(on_time=1, late=3)
    assert summary.on_time.rate == 0.25


def test_done_on_the_due_date_is_on_time_and_a_day_after_is_late() -> None:
    on_the_day = task("a", category="done", due=d(11, 20), done_on=d(11, 20))
    day_after = task("b", category="done", due=d(11, 20), done_on=d(11, 21))

    assert summarize([on_the_day], TODAY).on_time.rate == 1.0
    assert summarize([day_after], TODAY).on_time.rate == 0.0


def test_rate_is_none_when_no_decision_can_be_judged() -> None:
    no_due = task("a", category="done", done_on=d(11, 20))
    unknown_done_day = task("b", category="done", due=d(11, 20))
    open_task = task("c", due=d(12, 20))  # not due yet: it can still be on time

    assert summarize([no_due, unknown_done_day, open_task], TODAY).on_time.rate is None
    assert summarize([], TODAY).on_time.rate is None


def test_an_open_decision_past_its_due_date_counts_as_late() -> None:
    overdue = task("a", due=d(11, 20))
    due_today = task("b", category="in_progress", due=TODAY)

    assert summarize([overdue, due_today], TODAY).on_time == OnTime(on_time=0, late=1)


def test_only_decisions_due_in_the_period_are_judged() -> None:
    period = Period(d(11, 24), TODAY)  # the days since the previous Monday's meeting
    counts = summarize(HISTORY, TODAY, period=period).on_time

    assert counts == OnTime(on_time=0, late=1)  # NEWLY_OVERDUE, due 27.11
    assert on_time_text(counts, "ru") == "в срок 0 из 1 (0\u00a0%)"  # a % never wraps away
    assert on_time_text(counts, "en") == "on time 0 of 1 (0%)"
    reported = summarize([NEW], TODAY, period=Period(d(11, 1), d(11, 30)), judged=HISTORY)
    assert reported.on_time == OnTime(on_time=1, late=3)  # judged beyond the listed tasks


def test_a_reopened_task_done_again_is_judged_by_its_last_done_date() -> None:
    redone_late = task("a", category="done", due=d(11, 20), done_on=d(11, 24), reopened=True)

    assert summarize([redone_late], TODAY).on_time.rate == 0.0
    assert status_text(redone_late, TODAY, "en") == "done 2026-11-24, 4 days late (reopened)"


def test_a_deleted_task_is_neither_done_nor_open() -> None:
    summary = summarize([DELETED], TODAY)

    assert (summary.done, summary.in_progress, summary.not_started, summary.deleted) == (0, 0, 0, 1)
    assert summary.on_time.rate is None
    assert open_items_by_owner([DELETED]) == {}
    assert review_items([DELETED]) == []
    assert status_text(DELETED, TODAY, "ru") == "удалена в трекере"


# --- overdue -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tsk", "expected"),
    [
        (task("due yesterday", due=TODAY - timedelta(days=1)), 1),
        (task("in progress", category="in_progress", due=d(11, 10)), 20),
        (task("due today", due=TODAY), None),
        (task("due later", due=d(12, 1)), None),
        (task("no due"), None),
        (task("done late", category="done", due=d(11, 10), done_on=d(11, 29)), None),
        (task("deleted", category="deleted", due=d(11, 10)), None),
    ],
)
def test_overdue_days(tsk: TaskProgress, expected: int | None) -> None:
    assert overdue_days(tsk, TODAY) == expected


@pytest.mark.parametrize(
    ("n", "words"),
    [(0, "0 дней"), (1, "1 день"), (2, "2 дня"), (4, "4 дня"), (5, "5 дней"), (11, "11 дней"),
     (12, "12 дней"), (14, "14 дней"), (21, "21 день"), (22, "22 дня"), (25, "25 дней"),
     (101, "101 день"), (111, "111 дней"), (112, "112 дней")],
)
def test_russian_plural_of_days(n: int, words: str) -> None:
    assert days_phrase(n, "ru") == words


def test_english_days_and_russian_plural_helper() -> None:
    assert (days_phrase(1, "en"), days_phrase(3, "en")) == ("1 day", "3 days")
    assert ru_plural(3, "решение", "решения", "решений") == "решения"


def test_percent_rounds_half_up() -> None:
    shown = [on_time_text(OnTime(good, judged - good), "en") for good, judged in
             ((2, 3), (1, 8), (0, 4), (5, 5))]
    assert shown == ["on time 2 of 3 (67%)", "on time 1 of 8 (13%)", "on time 0 of 4 (0%)",
                     "on time 5 of 5 (100%)"]


# --- owners ------------------------------------------------------------------------------------


def test_owners_sorted_by_name_with_no_owner_last() -> None:
    summary = summarize(list(reversed(HISTORY)), TODAY)

    assert [o.name for o in summary.by_owner] == ["Анна", "Иван", "Мария", "Олег", None]
    assert [o.owner_id for o in summary.by_owner] == ["anna", "ivan", "maria", "oleg", None]
    assert titles(summary.by_owner[-1].tasks) == [UNOWNED.title]


def test_an_owners_tasks_are_grouped_overdue_first_most_late_first() -> None:
    extra = task("Ещё не начато", "ivan", due=d(12, 3))
    ivan = summarize([*HISTORY, extra], TODAY).by_owner[1]

    assert titles(ivan.overdue) == [LONG_OVERDUE.title, NEWLY_OVERDUE.title]
    assert titles(ivan.in_progress) == []  # the one in progress is late: listed only as overdue
    assert titles(ivan.not_started) == [extra.title]
    assert titles(ivan.done) == [NO_DUE_DONE.title]
    assert ivan.open_count == 3
    assert (ivan.name, ivan.account) == ("Иван", "557058:ivan")


def test_an_assignee_unknown_to_the_config_keeps_their_name() -> None:
    stranger = replace(UNOWNED, owner_name="Пётр", title="чужая задача")
    owners = summarize([UNOWNED, stranger], TODAY).by_owner

    assert [(o.owner_id, o.name) for o in owners] == [(None, "Пётр"), (None, None)]


# --- changes -----------------------------------------------------------------------------------


def test_changes_since_the_last_report() -> None:
    changes = summarize(HISTORY, TODAY, since=SINCE).changes

    assert [(c.kind, c.task.title) for c in changes] == [
        ("done", ON_TIME.title),
        ("done", NO_DUE_DONE.title),
        ("reopened", REOPENED.title),
        ("overdue", NEWLY_OVERDUE.title),  # LONG_OVERDUE was already late at the last report
        ("new", NEW.title),
        ("deleted", DELETED.title),
    ]


def test_without_the_last_reports_date_late_tasks_are_not_reported_as_newly_late() -> None:
    kinds = [c.kind for c in summarize(HISTORY, TODAY).changes]

    assert "overdue" not in kinds
    assert kinds.count("done") == 2


def test_a_task_created_and_deleted_between_reports_is_reported_deleted_once() -> None:
    gone = replace(DELETED, previous_category=None)
    still_gone = replace(DELETED, previous_category="deleted")

    assert [c.kind for c in summarize([gone, still_gone], TODAY).changes] == ["deleted"]


def test_a_task_reopened_before_the_last_report_is_no_change() -> None:
    old_reopen = replace(REOPENED, previous_category="in_progress")

    assert summarize([old_reopen], TODAY, since=SINCE).changes == ()


# --- the document ------------------------------------------------------------------------------


def test_russian_comment() -> None:
    doc = progress_document(summarize(HISTORY, TODAY, since=SINCE), "ru", title_date=TODAY)
    text = to_plain(doc)

    assert text.startswith("Ход выполнения решений к планёрке 30.11.2026.")
    assert ("Выполнено 3 из 8 · в работе 2 · не начато 3 · просрочено 2 · удалено 1"
            " · в срок 1 из 4 (25\u00a0%)") in text
    assert [s.title for s in doc.sections] == [
        "Анна — выполнено 2 из 2", "Иван — выполнено 1 из 3, просрочено 2",
        "Мария — выполнено 0 из 2", "Олег — удалено 1",  # not "выполнено 0 из 0"
        "Без ответственного — выполнено 0 из 1", "Что изменилось с прошлой планёрки",
    ]
    assert "Ответственные: Анна, Иван, Мария, Олег" in text  # mentions, in plain text
    assert ("- MKT-1 (https://j.example/MKT-1) Запустить рассылку — выполнено 19.11.2026"
            " · срок 20.11.2026") in text
    assert "- MKT-2 Отчёт по SEO — выполнено 20.11.2026, с опозданием на 2 дня · срок 18.11.2026" \
        in text
    assert "- Аудит UX — просрочено на 20 дней · срок 10.11.2026" in text
    assert "- Бюджет на декабрь — просрочено на 3 дня · срок 27.11.2026" in text
    assert "Лендинг акции — в работе (переоткрыта) · срок 10.12.2026" in text
    assert "- Посты на неделю — не начато · срок 05.12.2026" in text
    assert "- Найти подрядчика по видео — не начато" in text
    assert "- Старый конкурс — удалена в трекере · срок 20.11.2026" in text
    assert text.count("Иван") == 1 + 3  # the heading, the mention; and 2 lines of changes
    assert "- Выполнено: MKT-1 (https://j.example/MKT-1) Запустить рассылку — Анна" in text
    assert "- Снова открыто: MKT-6 (https://j.example/MKT-6) Лендинг акции — Мария" in text
    assert "- Просрочено: Бюджет на декабрь — Иван · просрочено на 3 дня" in text
    assert "- Новое: Посты на неделю — Мария · не начато" in text
    assert "- Удалено в трекере: Старый конкурс — Олег · удалена в трекере" in text
    assert "Аудит UX — Иван" not in text  # late before the last report: not a change


def test_english_comment() -> None:
    doc = progress_document(summarize(HISTORY, TODAY, since=SINCE), "en", title_date=TODAY)
    text = to_plain(doc)

    assert text.startswith("Progress on decisions before the meeting of 2026-11-30.")
    assert ("Done 3 of 8 · in progress 2 · not started 3 · overdue 2 · deleted 1 · on time 1 of 4"
            " (25%)"
            in text)
    assert doc.sections[-2].title == "No owner — done 0 of 1"
    assert doc.sections[-1].title == "Changes since the last meeting"
    assert "- MKT-2 Отчёт по SEO — done 2026-11-20, 2 days late · due 2026-11-18" in text
    assert "- Аудит UX — overdue by 20 days · due 2026-11-10" in text
    assert "Лендинг акции — in progress (reopened) · due 2026-12-10" in text
    assert "- Старый конкурс — deleted in the tracker · due 2026-11-20" in text
    assert "- Newly overdue: Бюджет на декабрь — Иван · overdue by 3 days" in text
    assert "- New: Посты на неделю — Мария · not started" in text
    assert "- Reopened: MKT-6" in text


def test_the_example_totals_line() -> None:
    tasks = [
        task("1", category="done", due=d(11, 20), done_on=d(11, 20)),
        task("2", category="done", due=d(11, 20), done_on=d(11, 19)),
        task("3", category="done", due=d(11, 20), done_on=d(11, 22)),
        task("4", category="in_progress", due=d(11, 29)),
        task("5", category="in_progress"),
        task("6"),
        task("7", due=d(12, 20)),
    ]
    text = to_plain(progress_document(summarize(tasks, TODAY), "ru", title_date=TODAY))

    # 1 and 2 on time, 3 done late, 4 overdue: 2 of 4; 5 and 6 have no due date, 7 is not due.
    assert ("Выполнено 3 из 7 · в работе 2 · не начато 2 · просрочено 1 · в срок 2 из 4 "
            "(50\u00a0%)" in text)
    assert "удалено" not in text


def test_owners_are_mentioned_once_by_their_tracker_account() -> None:
    doc = progress_document(summarize(HISTORY, TODAY, since=SINCE), "ru", title_date=TODAY)
    owners = doc.intro[1]

    assert isinstance(owners, Paragraph)
    mentions = [node for node in owners.content if isinstance(node, Mention)]
    assert mentions[0] == Mention("Анна", "557058:anna")
    assert [m.name for m in mentions] == ["Анна", "Иван", "Мария", "Олег"]
    assert all(isinstance(b, BulletList) for s in doc.sections for b in s.blocks)
    adf = str(to_adf(doc))
    assert "'id': '557058:anna'" in adf


def test_no_changes_says_so() -> None:
    quiet = replace(UNOWNED, previous_category="not_started")
    text = to_plain(progress_document(summarize([quiet], TODAY), "en", title_date=TODAY))

    assert text.endswith("Changes since the last meeting\n------------------------------\n\n"
                         "No changes.")


@pytest.mark.parametrize(
    ("locale", "expected"),
    [("ru", "К планёрке 30.11.2026 отчитываться не о чем: решений с прошлых планёрок нет."),
     ("en", "Nothing to report before the meeting of 2026-11-30: "
            "no decisions from earlier meetings.")],
)
def test_no_tasks_at_all_is_one_paragraph(locale, expected) -> None:
    doc = progress_document(summarize([], TODAY), locale, title_date=TODAY)

    assert doc.sections == ()
    assert to_plain(doc) == expected


def test_a_blank_title_is_still_a_readable_line() -> None:
    blank = task("  ", "anna")
    text = to_plain(progress_document(summarize([blank], TODAY), "en", title_date=TODAY))

    assert "- (untitled) — not started" in text


# --- agenda feeds ------------------------------------------------------------------------------


def test_open_items_by_owner_counts_only_open_tasks_of_known_people() -> None:
    assert open_items_by_owner(HISTORY) == {"ivan": 2, "maria": 2}


def test_review_items_oldest_meeting_first_then_due_date() -> None:
    later_due = task("later due", meeting_day=TWO_WEEKS_AGO, due=d(12, 1))
    no_due = task("no due", meeting_day=TWO_WEEKS_AGO)

    assert titles(review_items([*HISTORY, no_due, later_due])) == [
        LONG_OVERDUE.title,  # two weeks ago, due 10.11
        later_due.title,  # two weeks ago, due 01.12
        no_due.title,  # two weeks ago, no due date
        NEWLY_OVERDUE.title,  # a week ago, due 27.11
        REOPENED.title,  # a week ago, due 10.12
        UNOWNED.title,  # a week ago, no due date
        NEW.title,  # last meeting
    ]


# --- properties --------------------------------------------------------------------------------

CATEGORIES: st.SearchStrategy[Category] = st.sampled_from(
    ["done", "in_progress", "not_started", "deleted"]
)
DAYS = st.dates(min_value=date(2026, 1, 1), max_value=date(2027, 12, 31))
WORDS = st.text(max_size=20)


@st.composite
def progress_tasks(draw: st.DrawFn) -> TaskProgress:
    owner = draw(st.sampled_from([None, "anna", "ivan", "x"]))
    return TaskProgress(
        title=draw(WORDS),
        owner_id=owner,
        owner_name=draw(st.one_of(st.none(), WORDS)),
        owner_account=draw(st.one_of(st.none(), WORDS)),
        due=draw(st.one_of(st.none(), DAYS)),
        category=draw(CATEGORIES),
        done_on=draw(st.one_of(st.none(), DAYS)),
        url=draw(st.one_of(st.none(), st.just("https://j.example/1"), WORDS)),
        key=draw(st.one_of(st.none(), WORDS)),
        meeting_day=draw(DAYS),
        previous_category=draw(st.one_of(st.none(), CATEGORIES)),
        reopened=draw(st.booleans()),
    )


@settings(max_examples=150, deadline=None)
@given(st.lists(progress_tasks(), max_size=12), DAYS, st.one_of(st.none(), DAYS),
       st.sampled_from(["ru", "en"]))
def test_summary_invariants_and_every_renderer(tasks, today, since, locale) -> None:
    summary = summarize(tasks, today, since=since)

    assert summary.done + summary.in_progress + summary.not_started + summary.deleted == len(tasks)
    assert summary.overdue <= summary.in_progress + summary.not_started
    assert summary.on_time.judged <= len([t for t in tasks if t.due is not None])
    late_ones = {id(t) for t in tasks if t.due and (
        overdue_days(t, today) is not None or (t.category == "done" and t.done_on
                                               and t.done_on > t.due))}
    assert summary.on_time.late == len(late_ones)
    listed = [id(t) for owner in summary.by_owner for t in owner.tasks]
    assert sorted(listed) == sorted(id(t) for t in tasks)
    assert [o.name is None for o in summary.by_owner].count(True) <= 1
    assert all(o.name is not None for o in summary.by_owner[:-1])
    assert len({id(c.task) for c in summary.changes}) == len(summary.changes)
    assert sum(open_items_by_owner(tasks).values()) <= summary.in_progress + summary.not_started
    assert len(review_items(tasks)) == summary.in_progress + summary.not_started

    doc = progress_document(summary, locale, title_date=today)
    assert to_plain(doc)
    to_adf(doc)
    to_wiki(doc)
    to_trello(doc)
