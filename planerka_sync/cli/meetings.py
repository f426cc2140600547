"""The lead's meeting commands: prepare, sync, progress, decide, decisions, report."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from rich.markup import escape

from planerka_sync.cli.base import (
    AppContext,
    cli,
    err_console,
    open_app,
    out_console,
)
from planerka_sync.config import Config
from planerka_sync.errors import PlanerkaError

if TYPE_CHECKING:
    pass

@cli.command("prepare")
@click.argument("series", required=False)
@click.option("--for", "for_date", type=click.DateTime(["%Y-%m-%d"]), metavar="DATE",
              help="Prepare the meeting on this date (YYYY-MM-DD) instead of the next one.")
@click.option("--dry-run", is_flag=True, help="Show what would be done; change nothing.")
@click.pass_obj
def prepare_command(
    app: AppContext, series: str | None, for_date: Any, dry_run: bool
) -> None:
    """Create or refresh the next meeting's item with its agenda and .ics invite.

    SERIES is a meeting series id from the config (default: every series).
    """
    from planerka_sync import service

    state = open_app(app)
    try:
        outcomes = service.prepare(state, series, for_date.date() if for_date else None,
                                   dry_run=dry_run)
    finally:
        state.store.close()
    show_prepared(outcomes, dry_run=dry_run)


def show_prepared(outcomes: list[Any], *, dry_run: bool) -> None:
    """One line per meeting, the URL unbroken so it can be clicked or copied."""
    words = {"create": "would create" if dry_run else "created",
             "update": "would update" if dry_run else "updated",
             "unchanged": "up to date"}
    if dry_run:
        out_console.print("[bold]Dry run[/]: nothing was changed.")
    for outcome in outcomes:
        plan = outcome.plan
        item = f" → {outcome.ref.url}" if outcome.ref else ""
        out_console.print(f"[bold]{words[plan.action]}[/] [{escape(plan.series.id)}] "
                          f"{escape(plan.draft.title)}{item}")
    if dry_run:
        for outcome in outcomes:
            out_console.print(outcome.agenda_text, markup=False, highlight=False)


@cli.command("sync")
@click.argument("series", required=False)
@click.option("--dry-run", is_flag=True, help="Show the decisions found and their errors only.")
@click.pass_obj
def sync_command(app: AppContext, series: str | None, dry_run: bool) -> int:
    """Pull task states, and turn new decisions on meeting items into tasks (exactly once).

    Exits 6 when it finished but some decision lines could not become tasks (each is named)."""
    from planerka_sync.errors import INCOMPLETE_EXIT_CODE
    from planerka_sync.service.status import sync

    state = open_app(app)
    try:
        pulled, reports = sync(state, series, dry_run=dry_run)
    finally:
        state.store.close()
    if pulled is not None:
        out_console.print(f"task states: {pulled.seen} seen, {pulled.changed} changed"
                          + (f", {pulled.deleted} deleted" if pulled.deleted else ""))
    show_synced(reports, app.config, dry_run=dry_run)
    return INCOMPLETE_EXIT_CODE if any(report.failed for report in reports) else 0


def show_synced(reports: list[Any], config: Config, *, dry_run: bool) -> None:
    """Each meeting with its start in the team's zone, and what became of its decisions."""
    from planerka_sync.domain.texts import local_time, short_date

    def due(row: Any) -> str:
        return f", {short_date(row.due, config.locale)}" if row.due else ""

    if not reports:
        out_console.print("No prepared meetings are collecting decisions; run prepare first.")
    for report in reports:
        meeting = report.meeting
        starts = local_time(meeting.starts_at, config.timezone, config.locale)
        out_console.print(f"[bold]{escape(meeting.series_id)}[/] {starts} → {meeting.item_url}")
        for verb, rows in (("created", report.created), ("updated", report.updated)):
            for row in rows:
                out_console.print(f"  {verb}  {escape(row.title or '')} "
                                  f"({row.owner_person_id}{due(row)}) → {row.task_url}")
        for row in report.planned:
            out_console.print(f"  would create  {escape(row.title or '')} "
                              f"({row.owner_person_id}{due(row)})")
        for row in report.failed:
            out_console.print(f"  [red]error[/]    «{escape(row.text)}»: {escape(row.error or '')}")
        for row in report.removed:
            out_console.print(f"  removed from the item (task kept): {escape(row.text)}")
    if dry_run:
        out_console.print("[bold]Dry run[/]: nothing was changed.")


@cli.command("progress")
@click.argument("series", required=False)
@click.option("--dry-run", is_flag=True, help="Print the progress comment; post nothing.")
@click.pass_obj
def progress_command(app: AppContext, series: str | None, dry_run: bool) -> None:
    """Post (or refresh) the progress of earlier decisions on the next meeting item."""
    from planerka_sync.render.plain import to_plain
    from planerka_sync.service.progress import progress

    state = open_app(app)
    try:
        outcomes = progress(state, series, dry_run=dry_run)
    finally:
        state.store.close()
    for outcome in outcomes:
        verb = "would post" if dry_run else "posted" if outcome.posted else "up to date"
        out_console.print(f"[bold]{verb}[/] [{escape(outcome.series_id)}] → "
                          f"{outcome.meeting.item_url}")
        out_console.print(to_plain(outcome.document), markup=False, highlight=False)
        # A KPI source that failed is said here too, not only in the comment nobody reads
        # before the meeting.
        for failure in outcome.kpi.failures(state.locale) if outcome.kpi else []:
            err_console.print(f"[yellow]KPI:[/] {escape(failure)}")


@cli.command("report")
@click.argument("series", required=False)
@click.option("--html", "html_file", required=True, type=click.Path(dir_okay=False,
              path_type=Path), help="Write a self-contained HTML file here.")
@click.pass_obj
def report_command(app: AppContext, series: str | None, html_file: Path) -> None:
    """KPI trends and decision throughput over past meetings, charts embedded."""
    from planerka_sync.service.report import html_report

    state = open_app(app)
    try:
        page = html_report(state, series)
    finally:
        state.store.close()
    try:
        html_file.write_text(page, encoding="utf-8")
    except OSError as exc:
        raise PlanerkaError(f"cannot write {html_file}: {exc.strerror}") from exc
    out_console.print(f"wrote {html_file} ({len(page.encode('utf-8')) // 1024} KiB)")


@cli.command("decide")
@click.argument("series")
@click.argument("text")
@click.option("--owner", help="Person id, name or alias (default: named in TEXT).")
@click.option("--due", help="Due date: 2026-12-05, 05.12, 'пятница', '+3d' ...")
@click.option("--meeting", "meeting_day", type=click.DateTime(["%Y-%m-%d"]), metavar="DATE",
              help="The meeting the decision belongs to (default: the latest one).")
@click.pass_obj
def decide_command(app: AppContext, series: str, text: str, owner: str | None,
                   due: str | None, meeting_day: Any) -> None:
    """Record a decision from the command line and create its task."""
    import hashlib

    from planerka_sync.service.decisions import record_decisions, sync_decisions
    from planerka_sync.store.models import DecisionSource

    line = " ".join(part for part in (text, f"отв. {owner}" if owner else "",
                                      f"срок: {due}" if due else "") if part)
    ref = "cli:" + hashlib.sha256(line.encode("utf-8")).hexdigest()[:12]
    state = open_app(app)
    try:
        record_decisions(state, series, [(ref, line)], source=DecisionSource.CLI,
                         meeting_day=meeting_day.date() if meeting_day else None)
        show_synced(sync_decisions(state, series), state.config, dry_run=False)
    finally:
        state.store.close()


@cli.group("decisions")
def decisions_group() -> None:
    """Decisions from a minutes file."""


@decisions_group.command("import")
@click.argument("series")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--meeting", "meeting_day", type=click.DateTime(["%Y-%m-%d"]), metavar="DATE")
@click.pass_obj
def decisions_import(app: AppContext, series: str, file: Path, meeting_day: Any) -> None:
    """Import markdown task lines ("- [ ] text @owner до 5 декабря") from FILE."""
    from planerka_sync.service.decisions import comment_decisions, record_decisions, sync_decisions
    from planerka_sync.store.models import DecisionSource

    text = file.read_text(encoding="utf-8")
    lines = [(f"{file.name}:{n + 1}", line) for n, line in comment_decisions(text)]
    if not lines:
        raise PlanerkaError(f"{file}: no decision lines found; write them as '- [ ] text' or "
                            "'Решение: text'")
    state = open_app(app)
    try:
        record_decisions(state, series, lines, source=DecisionSource.FILE,
                         meeting_day=meeting_day.date() if meeting_day else None)
        show_synced(sync_decisions(state, series), state.config, dry_run=False)
    finally:
        state.store.close()


