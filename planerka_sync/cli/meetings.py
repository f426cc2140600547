"""The lead's meeting commands: prepare, sync, progress, decide, decisions, report."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from planerka_sync.cli.base import (
    DAY,
    AppContext,
    cli,
    emit_json,
    err_console,
    escape,
    json_option,
    one_series,
    open_app,
    out_console,
    progress_shown,
    t,
)
from planerka_sync.errors import INCOMPLETE_EXIT_CODE, PlanerkaError

if TYPE_CHECKING:
    from planerka_sync.config import Config


def dry_run_note() -> None:
    out_console.print(t("[bold]Dry run[/]: nothing was changed.",
                        "[bold]Пробный запуск[/]: ничего не изменено."))


def zoned(moment: datetime, config: Config) -> str:
    """A moment for a script: ISO 8601 with the team's offset (what the lead reads, exact)."""
    from zoneinfo import ZoneInfo

    return moment.astimezone(ZoneInfo(config.timezone)).isoformat()


# --- prepare -----------------------------------------------------------------------------------


@cli.command("prepare")
@click.argument("series", required=False)
@click.option("--for", "for_date", type=DAY, metavar="DATE",
              help="Prepare the meeting on this day (2026-12-07, 07.12.2026 or 07.12) instead "
                   "of the next one.")
@click.option("--dry-run", is_flag=True, help="Show what would be done; change nothing.")
@json_option("prepare")
@click.pass_obj
def prepare_command(app: AppContext, series: str | None, for_date: date | None, dry_run: bool,
                    as_json: bool) -> None:
    """Create or refresh the next meeting's item with its agenda and .ics invite.

    SERIES is a meeting series id from the config (default: every series).
    """
    from planerka_sync import service

    state = open_app(app)
    try:
        outcomes = service.prepare(state, series, for_date, dry_run=dry_run)
    finally:
        state.store.close()
    if as_json:
        emit_json({"dry_run": dry_run,
                   "meetings": [prepared_json(o, state.config) for o in outcomes]})
    show_prepared(outcomes, dry_run=dry_run)


def prepared_json(outcome: Any, config: Config) -> dict[str, Any]:
    plan, ref = outcome.plan, outcome.ref
    return {"series": plan.series.id, "action": plan.action, "title": plan.draft.title,
            "starts_at": zoned(plan.occurrence.starts_at, config),
            "ends_at": zoned(plan.occurrence.ends_at, config),
            "item": {"id": ref.id, "key": ref.key, "url": ref.url} if ref else None}


def show_prepared(outcomes: list[Any], *, dry_run: bool) -> None:
    """One line per meeting, the URL unbroken so it can be clicked or copied."""
    words = {"create": t("would create", "будет создана") if dry_run
             else t("created", "создана"),
             "update": t("would update", "будет обновлена") if dry_run
             else t("updated", "обновлена"),
             "unchanged": t("up to date", "без изменений")}
    if dry_run:
        dry_run_note()
    for outcome in outcomes:
        plan = outcome.plan
        item = f" → {outcome.ref.url}" if outcome.ref else ""
        out_console.print(f"[bold]{words[plan.action]}[/] [{escape(plan.series.id)}] "
                          f"{escape(plan.draft.title)}{item}")
    if dry_run:
        for outcome in outcomes:
            out_console.print(outcome.agenda_text, markup=False, highlight=False)


# --- sync, decide, decisions import --------------------------------------------------------------


@cli.command("sync")
@click.argument("series", required=False)
@click.option("--dry-run", is_flag=True, help="Show the decisions found and their errors only.")
@json_option("sync")
@click.pass_obj
def sync_command(app: AppContext, series: str | None, dry_run: bool, as_json: bool) -> int:
    """Pull task states, and turn new decisions on meeting items into tasks (exactly once).

    Exits 6 when it finished but some decision lines could not become tasks (each is named)."""
    from planerka_sync.service.status import sync

    state = open_app(app)
    try:
        with progress_shown(state):
            pulled, reports = sync(state, series, dry_run=dry_run)
    finally:
        state.store.close()
    if as_json:
        emit_json(synced_json(reports, app.config, dry_run=dry_run, pulled=pulled))
    if pulled is not None:
        out_console.print(t(f"task states: {pulled.seen} seen, {pulled.changed} changed"
                            + (f", {pulled.deleted} deleted" if pulled.deleted else ""),
                            f"состояния задач: просмотрено {pulled.seen}, изменилось "
                            f"{pulled.changed}"
                            + (f", удалено {pulled.deleted}" if pulled.deleted else "")))
    show_synced(reports, app.config, dry_run=dry_run)
    return INCOMPLETE_EXIT_CODE if any(report.failed for report in reports) else 0


def decision_json(row: Any) -> dict[str, Any]:
    task = ({"id": row.task_id, "key": row.task_key, "url": row.task_url}
            if row.task_url else None)
    return {"source": str(row.source.value), "ref": row.source_ref, "text": row.text,
            "title": row.title,
            "owner": row.owner_person_id, "due": row.due.isoformat() if row.due else None,
            "task": task, "error": row.error}


def synced_json(reports: list[Any], config: Config, *, dry_run: bool, pulled: Any = None,
                rejected: Sequence[Any] = ()) -> dict[str, Any]:
    groups = ("created", "updated", "found", "in_doubt", "planned", "failed", "removed")
    return {
        "dry_run": dry_run,
        "task_states": None if pulled is None else {
            "seen": pulled.seen, "changed": pulled.changed, "deleted": pulled.deleted},
        "meetings": [{"series": r.meeting.series_id,
                      "starts_at": zoned(r.meeting.starts_at, config),
                      "item_url": r.meeting.item_url,
                      **{g: [decision_json(row) for row in getattr(r, g)] for g in groups}}
                     for r in reports],
        "rejected": [decision_json(row) for row in rejected],
        "incomplete": bool(rejected) or any(r.failed for r in reports),
    }


def show_synced(reports: list[Any], config: Config, *, dry_run: bool) -> None:
    """Each meeting with its start in the team's zone, and what became of its decisions."""
    if out_console.quiet:  # --json, -q: nothing to show, and no need to import rich's markup
        return
    from planerka_sync.domain.texts import local_time, short_date

    def due(row: Any) -> str:
        return f", {short_date(row.due, config.locale)}" if row.due else ""

    if not reports:
        out_console.print(t("No prepared meetings are collecting decisions; run "
                            "`planerka-sync prepare` first.",
                            "Нет подготовленных встреч, в которых собираются решения; сначала "
                            "выполните `planerka-sync prepare`."))
    for report in reports:
        meeting = report.meeting
        starts = local_time(meeting.starts_at, config.timezone, config.locale)
        out_console.print(f"[bold]{escape(meeting.series_id)}[/] {starts} → {meeting.item_url}")
        for verb, rows in ((t("created", "создана"), report.created),
                           (t("updated", "обновлена"), report.updated)):
            for row in rows:
                out_console.print(f"  {verb}  {escape(row.title or '')} "
                                  f"({row.owner_person_id}{due(row)}) → {row.task_url}")
        for row in report.planned:
            out_console.print(f"  {t('would create', 'будет создана')}  "
                              f"{escape(row.title or '')} ({row.owner_person_id}{due(row)})")
        for row in report.failed:
            out_console.print(f"  [red]{t('error', 'ошибка')}[/]    «{escape(row.text)}»: "
                              f"{escape(row.error or '')}")
        for row in report.removed:
            out_console.print("  " + t("removed from the item (task kept): ",
                                       "убрано со встречи (задача осталась): ")
                              + escape(row.text))
    if dry_run:
        dry_run_note()


def series_and(args: tuple[str, ...], what: str) -> tuple[str | None, str]:
    """``[SERIES] WHAT``: one argument is WHAT (the only series is meant), two are both."""
    if len(args) == 1:
        return None, args[0]
    if len(args) == 2:
        return args[0], args[1]
    raise click.UsageError(t(f"give [SERIES] {what}: one or two arguments, not {len(args)} "
                             "(quote a text with spaces)",
                             f"укажите [SERIES] {what}: один или два аргумента, а не "
                             f"{len(args)} (текст с пробелами — в кавычках)"))


@cli.command("decide")
@click.argument("args", nargs=-1, required=True, metavar="[SERIES] TEXT")
@click.option("--owner", help="Person id, name or alias (default: named in TEXT).")
@click.option("--due", help="Due date: 2026-12-05, 05.12, 'пятница', '+3d' ...")
@click.option("--meeting", "meeting_day", type=DAY, metavar="DATE",
              help="The meeting the decision belongs to (default: the latest one).")
@json_option("sync")
@click.pass_obj
def decide_command(app: AppContext, args: tuple[str, ...], owner: str | None,
                   due: str | None, meeting_day: date | None, as_json: bool) -> int:
    """Record a decision from the command line and create its task.

    SERIES may be left out when the config has one series."""
    import hashlib

    from planerka_sync.service.decisions import record_decisions, sync_decisions
    from planerka_sync.store.models import DecisionSource

    series_id, text = series_and(args, "TEXT")
    line = " ".join(part for part in (text, f"отв. {owner}" if owner else "",
                                      f"срок: {due}" if due else "") if part)
    ref = "cli:" + hashlib.sha256(line.encode("utf-8")).hexdigest()[:12]
    state = open_app(app)
    try:
        series = one_series(state, series_id, "decide").id
        record_decisions(state, series, [(ref, line)], source=DecisionSource.CLI,
                         meeting_day=meeting_day)
        with progress_shown(state):
            reports = sync_decisions(state, series)
    finally:
        state.store.close()
    return show_decided(reports, [], app, as_json)


def show_decided(reports: list[Any], rejected: list[Any], app: AppContext, as_json: bool) -> int:
    incomplete = bool(rejected) or any(report.failed for report in reports)
    if as_json:
        emit_json(synced_json(reports, app.config, dry_run=False, rejected=rejected))
    show_synced(reports, app.config, dry_run=False)
    return INCOMPLETE_EXIT_CODE if incomplete else 0


@cli.group("decisions")
def decisions_group() -> None:
    """Decisions from a minutes file."""


@decisions_group.command("import")
@click.argument("args", nargs=-1, required=True, metavar="[SERIES] FILE")
@click.option("--meeting", "meeting_day", type=DAY, metavar="DATE",
              help="The meeting the decisions belong to (default: the latest one).")
@json_option("sync")
@click.pass_obj
def decisions_import(app: AppContext, args: tuple[str, ...], meeting_day: date | None,
                     as_json: bool) -> int:
    """Import markdown task lines ("- [ ] text @owner до 5 декабря") from FILE.

    Lines that read as decisions become tasks; the others are named with the reason, and the
    command exits 6. Fix them and import the file again: lines already taken are not taken
    twice."""
    from planerka_sync.service.decisions import (
        comment_decisions,
        record_valid_decisions,
        sync_decisions,
    )
    from planerka_sync.store.models import DecisionSource

    series_id, name = series_and(args, "FILE")
    file = Path(name)
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else t("not UTF-8 text",
                                                                "не текст в UTF-8")
        raise PlanerkaError(t(f"cannot read {file}: {reason}",
                              f"не удаётся прочитать {file}: {reason}")) from exc
    lines = [(f"{file.name}:{n + 1}", line) for n, line in comment_decisions(text)]
    if not lines:
        raise PlanerkaError(t(f"{file}: no decision lines found; write them as '- [ ] text' "
                              "or 'Решение: text'",
                              f"{file}: строк с решениями не найдено; пишите их как "
                              "'- [ ] текст' или 'Решение: текст'"))
    state = open_app(app)
    try:
        series = one_series(state, series_id, "decisions import").id
        _, rejected = record_valid_decisions(state, series, lines, source=DecisionSource.FILE,
                                             meeting_day=meeting_day)
        with progress_shown(state):
            reports = sync_decisions(state, series)
    finally:
        state.store.close()
    for row in rejected:
        err_console.print(f"[red]{t('not imported', 'не импортировано')}[/] "
                          f"{escape(row.source_ref)} «{escape(row.text)}»: "
                          f"{escape(row.error or '')}")
    return show_decided(reports, rejected, app, as_json)


# --- progress ------------------------------------------------------------------------------------


@cli.command("progress")
@click.argument("series", required=False)
@click.option("--dry-run", is_flag=True, help="Print the progress comment; post nothing.")
@json_option("progress")
@click.pass_obj
def progress_command(app: AppContext, series: str | None, dry_run: bool, as_json: bool) -> None:
    """Post (or refresh) the progress of earlier decisions on the next meeting item."""
    from planerka_sync.render.plain import to_plain
    from planerka_sync.service.progress import progress

    state = open_app(app)
    try:
        with progress_shown(state):
            outcomes = progress(state, series, dry_run=dry_run)
    finally:
        state.store.close()
    if as_json:
        emit_json({"dry_run": dry_run,
                   "meetings": [progress_json(o, state.locale, to_plain) for o in outcomes]})
    for outcome in outcomes:
        verb = (t("would post", "будет опубликован") if dry_run
                else t("posted", "опубликован") if outcome.posted
                else t("up to date", "без изменений"))
        out_console.print(f"[bold]{verb}[/] [{escape(outcome.series_id)}] → "
                          f"{outcome.meeting.item_url}")
        out_console.print(to_plain(outcome.document), markup=False, highlight=False)
        # A KPI source that failed is said here too, not only in the comment nobody reads
        # before the meeting.
        for failure in outcome.kpi.failures(state.locale) if outcome.kpi else []:
            err_console.print(f"[yellow]KPI:[/] {escape(failure)}")


def progress_json(outcome: Any, locale: Any, to_plain: Any) -> dict[str, Any]:
    """The counts the comment shows, and the comment itself as plain text."""
    summary = outcome.summary
    owners = [{"owner": o.owner_id, "name": o.name,
               "overdue": len(o.overdue), "in_progress": len(o.in_progress),
               "not_started": len(o.not_started)} for o in summary.by_owner]
    return {
        "series": outcome.series_id, "item_url": outcome.meeting.item_url,
        "posted": outcome.posted, "today": summary.today.isoformat(),
        "since": summary.since.isoformat() if summary.since else None,
        "counts": {"total": summary.total, "done": summary.done,
                   "in_progress": summary.in_progress, "not_started": summary.not_started,
                   "overdue": summary.overdue, "deleted": summary.deleted},
        "on_time": {"on_time": summary.on_time.on_time, "late": summary.on_time.late},
        "by_owner": owners,
        "text": to_plain(outcome.document),
        "kpi_failures": list(outcome.kpi.failures(locale)) if outcome.kpi else [],
    }


# --- report --------------------------------------------------------------------------------------


@cli.command("report")
@click.argument("series", required=False)
@click.option("-o", "--output", "output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the HTML here (default: planerka-report-DATE.html in this folder).")
@click.option("--html", "html_file", hidden=True,
              type=click.Path(dir_okay=False, path_type=Path))  # the name it had before -o
@click.pass_obj
def report_command(app: AppContext, series: str | None, output: Path | None,
                   html_file: Path | None) -> None:
    """KPI trends and decision throughput over past meetings, charts embedded, in one HTML
    file to open in a browser or send."""
    from planerka_sync.service.report import html_report

    state = open_app(app)
    try:
        page = html_report(state, series)
        day = state.config.working_day.day_of(state.clock())
    finally:
        state.store.close()
    target = output or html_file or Path(f"planerka-report-{day.isoformat()}.html")
    try:
        target.write_text(page, encoding="utf-8")
    except OSError as exc:
        raise PlanerkaError(t(f"cannot write {target}: {exc.strerror}",
                              f"не удаётся записать {target}: {exc.strerror}")) from exc
    size = len(page.encode("utf-8")) // 1024
    out_console.print(t(f"wrote {target} ({size} KiB)", f"записан {target} ({size} КиБ)"))
