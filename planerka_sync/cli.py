"""Click commands only: parse options, call a use case, print. Errors become exit codes here."""

from __future__ import annotations

import json
import logging
import sys
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, NoReturn

import click
from rich.console import Console
from rich.markup import escape

from planerka_sync import __version__
from planerka_sync.config import Config, find_config, json_schema, load_config, read_yaml
from planerka_sync.domain.model import ItemRef
from planerka_sync.errors import ConfigError, PlanerkaError

if TYPE_CHECKING:
    from planerka_sync.service import App

EXIT_INTERNAL = 70

err_console = Console(stderr=True, highlight=False, soft_wrap=True)
out_console = Console(highlight=False, soft_wrap=True)


@dataclass
class AppContext:
    verbose: int
    config_option: str | None

    @cached_property
    def config_path(self) -> Path:
        return find_config(self.config_option)

    @cached_property
    def config(self) -> Config:
        from planerka_sync.observability import log_times_in, redact_also, secrets_of

        redact_also(self._referenced_variables())  # first: a config error may quote them
        config = load_config(self.config_path)
        redact_also(secrets_of(config))
        log_times_in(config.timezone)  # log lines read in the team's zone, like everything else
        return config

    def _referenced_variables(self) -> list[str]:
        """Values of the ${VAR}s the config file uses; none when it cannot be read (then
        load_config says why)."""
        from planerka_sync.observability import referenced_variables

        try:
            return referenced_variables(read_yaml(self.config_path))
        except ConfigError:
            return []


@click.group(context_settings={"help_option_names": ["-h", "--help"]},
             invoke_without_command=True)
@click.version_option(__version__, prog_name="planerka-sync")
@click.option("-v", "--verbose", count=True, help="More detail; shows tracebacks on errors.")
@click.option(
    "-c",
    "--config",
    "config_option",
    metavar="PATH",
    help="Config file (default: $PLANERKA_CONFIG or ./planerka.yaml).",
)
@click.pass_context
def cli(ctx: click.Context, verbose: int, config_option: str | None) -> None:
    """planerka-sync: your team's planning meeting, inside Jira or Trello."""
    from planerka_sync.observability import secrets_in_environment, setup_logging

    # Before any command runs, so nothing (urllib3's URLs with key and token at -vv included)
    # is ever logged unredacted; the config's secrets join when it is read (AppContext.config).
    setup_logging(log_level(verbose), "text", secrets_in_environment())
    ctx.obj = AppContext(verbose=verbose, config_option=config_option)
    if ctx.invoked_subcommand is None:  # a bare `planerka-sync` is a question: answer it
        click.echo(ctx.get_help())
        ctx.exit(0)


def log_level(verbose: int, *, daemon: bool = False) -> int:
    """-vv: DEBUG; -v: INFO; none: WARNING, but INFO for the daemons, whose log is their
    output."""
    if verbose > 1:
        return logging.DEBUG
    return logging.INFO if verbose or daemon else logging.WARNING


# --- config ----------------------------------------------------------------------------------


@cli.group("config")
def config_group() -> None:
    """Inspect and validate the configuration."""


@config_group.command("schema")
def config_schema() -> None:
    """Print the JSON Schema of the config file."""
    click.echo(json.dumps(json_schema(), ensure_ascii=False, indent=2))


@config_group.command("validate")
@click.pass_obj
def config_validate(app: AppContext) -> None:
    """Read the config file and report every problem in it."""
    config = app.config
    click.echo(
        f"{app.config_path}: OK — tracker {config.tracker.kind}, "
        f"{len(config.people)} people, {len(config.meetings)} meeting series"
    )


# --- the lead's commands -------------------------------------------------------------------


def open_app(app: AppContext) -> App:
    from planerka_sync.service import App as ServiceApp
    from planerka_sync.store import database_url, open_store
    from planerka_sync.trackers import make_tracker

    config = app.config
    store = open_store(database_url(config.database, app.config_path.parent))
    # The rate budget lives in the state DB: every process and replica sharing it shares the
    # tracker's per-token limits.
    return ServiceApp(config, store, lambda: make_tracker(config, store=store),
                      config_dir=app.config_path.parent)


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


@cli.group("kpi")
def kpi_group() -> None:
    """Record, import and show the team's KPIs."""


def _one_series(state: Any, series: str | None) -> Any:
    chosen = state.series(series)
    if series is None and len(chosen) > 1:
        raise PlanerkaError("several meeting series in the config; name one with --series")
    return chosen[0]


@kpi_group.command("record")
@click.argument("pairs", nargs=-1, required=True, metavar="METRIC=VALUE...")
@click.option("--period-end", type=click.DateTime(["%Y-%m-%d"]), metavar="DATE",
              help="Last day of the period (default: today).")
@click.option("--series", help="Meeting series (default: the only one).")
@click.pass_obj
def kpi_record(app: AppContext, pairs: tuple[str, ...], period_end: Any,
               series: str | None) -> None:
    """Record values, e.g. `kpi record sessions=20000 conversions=500 bounce_rate=41,5%`."""
    from planerka_sync.kpi_sources.manual import parse_pairs
    from planerka_sync.service.kpi import kpis_of, record

    state = open_app(app)
    try:
        chosen = _one_series(state, series)
        values = parse_pairs(list(pairs), kpis_of(state, chosen).recordable())
        # Today where the team is: at 01:00 in Moscow it is still yesterday in UTC.
        day = period_end.date() if period_end else state.config.working_day.day_of(
            state.clock())
        count = record(state, chosen.id, values, day, "manual")
    finally:
        state.store.close()
    out_console.print(f"recorded {count} value(s) for {chosen.id}, period ending {day}")


@kpi_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--series", help="Meeting series (default: the only one).")
@click.pass_obj
def kpi_import(app: AppContext, file: Path, series: str | None) -> None:
    """Import a CSV with columns metric, period_end, value[, source]."""
    from planerka_sync.service.kpi import import_csv

    state = open_app(app)
    try:
        chosen = _one_series(state, series)
        report = import_csv(state, chosen, file)
    finally:
        state.store.close()
    # How the file was read, so that a wrong guess (mojibake, one column) is visible at once.
    read_as = (f" ({report.encoding}, delimiter {report.delimiter!r})"
               if report.encoding and report.delimiter else "")
    out_console.print(f"{escape(str(file))}: imported {report.rows} row(s) for {chosen.id}"
                      f"{escape(read_as)}, skipped {report.skipped} row(s)")
    for problem in report.problems:
        err_console.print(f"[red]error:[/] {escape(str(file))}: {escape(str(problem))}")
    if report.more_problems:
        err_console.print(f"[red]error:[/] {escape(str(file))}: {report.more_problems} more "
                          f"problem(s) not shown")
    if report.fatal:
        raise PlanerkaError("nothing imported")
    if report.problem_count:
        raise PlanerkaError(f"{report.problem_count} problem(s), {report.skipped} row(s) "
                            f"skipped; the valid rows were kept")


@kpi_group.command("show")
@click.argument("series", required=False)
@click.option("--period-end", type=click.DateTime(["%Y-%m-%d", "%d.%m.%Y"]), metavar="DATE",
              help="A day of the period to show (default: today): the period is the days "
                   "after one meeting up to the next.")
@click.pass_obj
def kpi_show(app: AppContext, series: str | None, period_end: Any) -> None:
    """Print the KPI scorecard of a period: every agenda block, against the previous period
    and the targets."""
    from planerka_sync.render.plain import to_plain
    from planerka_sync.service.kpi import kpi_report

    state = open_app(app)
    try:
        chosen = _one_series(state, series)
        report = kpi_report(state, chosen, period_end.date() if period_end else None,
                            fetch_sources=False, chart=False)
    finally:
        state.store.close()
    out_console.print(to_plain(report.document), markup=False, highlight=False)


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


@cli.command("run")
@click.option("--once", is_flag=True, help="Run what is due now and exit (cron, CronJob).")
@click.option("--http", "http_address", metavar="HOST:PORT",
              help="Also serve what `serve` does (webhooks, the Power-Up, /healthz, /metrics) "
                   "here, e.g. 127.0.0.1:9108.")
@click.option("--log-format", type=click.Choice(["text", "json"]), default="text",
              show_default=True)
@click.pass_obj
def run_command(app: AppContext, once: bool, http_address: str | None, log_format: str) -> None:
    """The daemon: prepare, progress and sync every series on schedule."""
    import signal

    from planerka_sync.daemon import Daemon
    from planerka_sync.observability import instrument_trackers
    from planerka_sync.trackers.http import STOPPING

    configure_logging(app, log_format)
    state = open_app(app)  # an unreachable DB stops here with a clear error
    daemon = Daemon(state)
    stop_counting = instrument_trackers()
    server = start_web_for(app, http_address, daemon.health) if http_address else None

    def stop(signum: int, _frame: object) -> None:
        logging.getLogger("planerka_sync.daemon").info(
            "signal %s: stopping after the tracker call in flight", signum)
        # between steps, and between tracker calls and in retry waits (Kubernetes grants 20 s)
        set_from_signal(daemon.stop, STOPPING)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    logging.getLogger("planerka_sync.daemon").info(
        "planerka-sync run as %s: %d series, state %s", daemon.holder,
        len(state.config.meetings), state.store.url)
    try:
        daemon.run(once=once)
    finally:
        stop_counting()
        if server is not None:
            server.stop()
        state.store.close()


def set_from_signal(*events: threading.Event) -> None:
    """Set events from a signal handler. The handler runs in the main thread, which may be
    holding an event's internal lock at that instant (entering or leaving ``wait``); setting it
    there would deadlock, so a short-lived thread sets them once the lock is free."""
    def set_all() -> None:
        for event in events:
            event.set()

    threading.Thread(target=set_all, daemon=True).start()


def configure_logging(app: AppContext, log_format: str) -> None:
    """The group's logging setup again, in the chosen format and at the daemons' level; the
    secrets already known are kept (observability.setup_logging)."""
    from planerka_sync.observability import secrets_of, setup_logging

    fmt: Literal["text", "json"] = "json" if log_format == "json" else "text"
    setup_logging(log_level(app.verbose, daemon=True), fmt, secrets_of(app.config))


def start_web_for(app: AppContext, address: str, health: Any = None, flag: str = "--http"
                  ) -> Any:
    """The web app of `serve` on ``address``, its worker using its own tracker client."""
    from planerka_sync.web.app import start_web

    running = start_web(app.config, lambda: open_app(app), address, health=health, flag=flag)
    logging.getLogger("planerka_sync.web").info(
        "serving webhooks, the Power-Up, /healthz and /metrics at %s", running.url)
    return running


@cli.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on (0.0.0.0 for every interface).")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(0, 65535),
              help="Port to listen on (0 picks a free one).")
@click.option("--log-format", type=click.Choice(["text", "json"]), default="text",
              show_default=True)
@click.pass_obj
def serve_command(app: AppContext, host: str, port: int, log_format: str) -> None:
    """Receive Trello/Jira webhooks and serve the Trello Power-Up and its API.

    Decisions typed in a meeting item become tasks within seconds; the daemon (`run`) stays
    the safety net. Stop with Ctrl+C or SIGTERM.
    """
    import signal

    from planerka_sync.observability import instrument_trackers
    from planerka_sync.service.webhook_setup import callback_url
    from planerka_sync.web.app import public_base

    configure_logging(app, log_format)
    shown = f"[{host}]" if ":" in host else host
    running = start_web_for(app, f"{shown}:{port}", flag="--host/--port")
    stop_counting = instrument_trackers()
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: set_from_signal(stopped))
    signal.signal(signal.SIGINT, lambda *_: set_from_signal(stopped))
    base = public_base(app.config, running.url)
    click.echo(f"planerka-sync serve: listening on {running.url}", nl=True)
    click.echo(f"  webhooks: {callback_url(app.config, base)}")
    click.echo(f"  Power-Up connector: {base}/powerup/index.html")
    sys.stdout.flush()
    try:
        stopped.wait()
    finally:
        stop_counting()
        running.stop()


@cli.group("webhooks")
def webhooks_group() -> None:
    """Point the tracker's webhooks at `planerka-sync serve`."""


@webhooks_group.command("install")
@click.option("--url", "base", metavar="URL",
              help="Where the tracker reaches serve, e.g. https://planerka.example.org "
                   "(default: serve.public_url).")
@click.pass_obj
def webhooks_install(app: AppContext, base: str | None) -> None:
    """Register the webhook (Trello, Jira Data Center) or print the admin steps (Jira Cloud)."""
    from planerka_sync.service import webhook_setup

    state = open_app(app)
    try:
        done = webhook_setup.install(state, base)
    finally:
        state.store.close()
    if done.webhook is None:
        click.echo(done.steps)
        return
    out_console.print(f"[green]✔[/] webhook {escape(done.webhook.id)} delivers to "
                      f"{escape(done.webhook.url)}")
    if app.config.tracker.kind == "trello" and app.config.serve.trello_app_secret is None:
        out_console.print("[yellow]![/] set serve.trello_app_secret (the Secret at "
                          "https://trello.com/app-key): serve refuses deliveries it cannot verify")


@webhooks_group.command("list")
@click.pass_obj
def webhooks_list(app: AppContext) -> None:
    """planerka-sync's webhooks registered with the tracker."""
    from planerka_sync.service import webhook_setup

    state = open_app(app)
    try:
        hooks = webhook_setup.listed(state)
    finally:
        state.store.close()
    if not hooks:
        out_console.print("no planerka-sync webhooks; `planerka-sync webhooks install` adds one")
    for hook in hooks:
        mark = "[green]active[/]" if hook.active else "[red]inactive[/]"
        out_console.print(f"{escape(hook.id)}  {mark}  {escape(hook.url)}  "
                          f"({escape(hook.watches)})")


@webhooks_group.command("remove")
@click.argument("webhook_ids", nargs=-1, metavar="[ID]...")
@click.pass_obj
def webhooks_remove(app: AppContext, webhook_ids: tuple[str, ...]) -> None:
    """Remove the given webhooks (default: every planerka-sync webhook)."""
    from planerka_sync.service import webhook_setup

    state = open_app(app)
    try:
        removed = webhook_setup.remove(state, list(webhook_ids) or None)
    finally:
        state.store.close()
    for hook in removed:
        out_console.print(f"removed {escape(hook.id)} ({escape(hook.url)})")
    if not removed:
        out_console.print("nothing to remove")


@cli.command("check")
@click.pass_obj
def check_command(app: AppContext) -> None:
    """Check the config, the credentials, the board/project and every person's account."""
    from rich.table import Table

    from planerka_sync import service
    from planerka_sync.domain.model import CheckResult

    results = [CheckResult(f"config {app.config_path}", True)]
    state = open_app(app)
    results.append(CheckResult(f"state DB {state.store.url}", True))
    try:
        results += service.check(state)
    except PlanerkaError as exc:
        results.append(CheckResult("tracker", False, exc.message))
    finally:
        state.store.close()
    table = Table(title="planerka-sync check")
    for column in ("", "what", "advice"):
        table.add_column(column)
    for result in results:
        mark = "[green]✔[/]" if result.ok else "[red]✘[/]"
        table.add_row(mark, escape(result.what), escape(result.advice))
    out_console.print(table)
    failed = sum(not r.ok for r in results)
    if failed:
        raise PlanerkaError(f"{failed} check(s) failed; see the advice above")


@cli.command("demo")
@click.option("--tracker", "flavour", type=click.Choice(["trello", "jira-cloud", "jira-dc"]),
              default="trello", show_default=True, help="Which sandbox tracker to run against.")
@click.option("--webhooks", is_flag=True,
              help="Show the event-driven path: the tracker calls `serve` back and decisions "
                   "become tasks within seconds, no polling.")
def demo_command(flavour: str, webhooks: bool) -> None:
    """The whole loop against a built-in sandbox tracker: prepare, decisions, tasks, progress."""
    from datetime import timedelta

    from planerka_sync import service
    from planerka_sync.demo import DEMO_DECISIONS, DEMO_KPIS, running_demo
    from planerka_sync.render.plain import to_plain
    from planerka_sync.service.kpi import record
    from planerka_sync.service.progress import progress
    from planerka_sync.service.status import sync

    with running_demo(flavour) as demo:
        app, real_now = demo.app, demo.app.clock()
        step("1. planerka-sync prepare — the next meeting with its agenda")
        [first] = service.prepare(app)
        show_prepared([first], dry_run=False)
        out_console.print(first.agenda_text, markup=False, highlight=False)
        lines = DEMO_DECISIONS[app.locale]
        serving = demo.serve() if webhooks else None
        if serving is not None:
            out_console.print(f"\n  planerka-sync serve is listening at {serving.url}; the "
                              f"{flavour} sandbox's webhook points at it")
        try:
            step("2. In the meeting, the team records decisions in a comment")
            out_console.print("\n".join(f"  {escape(line)}" for line in lines))
            if first.ref is not None:
                demo.write_decisions(first.ref, lines)
            if serving is not None and first.ref is not None:
                created = show_webhook_path(demo, first.ref, len(lines), flavour)
            else:
                step("3. planerka-sync sync — decisions become tasks")
                _, reports = sync(app)
                show_synced(reports, app.config, dry_run=False)
                created = [row for report in reports for row in report.created]
        finally:
            if serving is not None:
                serving.stop()
        step("4. During the week: one task is done; the KPIs are recorded")
        if created:
            demo.finish_task(ItemRef(created[0].task_id or "", created[0].task_url or "",
                                     created[0].task_key))
            out_console.print(f"  done: {escape(created[0].title or '')}")
        start = first.plan.occurrence.starts_at
        # The week before the first meeting and the week up to the next one: the next
        # meeting's KPI comment compares its own period with the one before.
        for weeks_ago, values in zip((1, 0), DEMO_KPIS, strict=True):
            day = (start + timedelta(days=6 - 7 * weeks_ago)).date()
            record(app, first.plan.series.id, values, day, "manual")
        step("5. Before the next meeting: prepare, then progress + KPIs (comment and chart)")
        app.clock = lambda: start + timedelta(days=3)
        show_prepared(service.prepare(app), dry_run=False)
        app.clock = lambda: start + timedelta(days=7) - timedelta(hours=1)
        for outcome in progress(app):
            out_console.print(to_plain(outcome.document), markup=False, highlight=False)
            if outcome.kpi is not None:
                out_console.print(to_plain(outcome.kpi.document), markup=False, highlight=False)
        app.clock = lambda: real_now
        requests_sent = len(demo.server.emulator.log)
        out_console.print(f"\n{flavour} sandbox at {demo.server.url}: "
                          f"{requests_sent} requests. Run it yourself with "
                          f"`planerka-sync sandbox --tracker {flavour}`.")


def show_webhook_path(demo: Any, meeting: Any, count: int, flavour: str) -> list[Any]:
    """`demo --webhooks`, step 3: wait for the tasks the webhook makes, then let the poller
    (the safety net) show there is nothing left for it."""
    import time

    from planerka_sync.service.status import sync

    tracker = "Trello" if flavour == "trello" else "Jira"
    step(f"3. {tracker} calls planerka-sync serve back (a signed webhook) — no polling")
    started = time.monotonic()
    created = demo.wait_for_tasks(meeting, count)
    elapsed = time.monotonic() - started
    for row in created:
        out_console.print(f"  [green]✔[/] {escape(row.title or '')} → "
                          f"{escape(row.task_key or row.task_url or '')}")
    out_console.print(f"  {len(created)} of {count} task(s) created {elapsed:.1f} s after the "
                      "comment, by the webhook")
    _, reports = sync(demo.app)
    again = sum(len(r.created) for r in reports)
    out_console.print(f"  the poller's next sync, the safety net, created {again} more")
    if len(created) < count:
        raise PlanerkaError(f"only {len(created)} of {count} tasks arrived by webhook; "
                            "see the log with -v")
    return list(created)


def step(title: str) -> None:
    out_console.rule(f"[bold]{escape(title)}[/]", align="left")


# --- sandbox ---------------------------------------------------------------------------------


@cli.command("sandbox")
@click.option(
    "--tracker",
    "flavour",
    type=click.Choice(["trello", "jira-cloud", "jira-dc"]),
    required=True,
    help="Which tracker API to emulate.",
)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=0, type=click.IntRange(0, 65535), help="0 picks a free port.")
@click.option("--seed", "seed_file", type=click.Path(dir_okay=False), help="YAML/JSON seed file.")
def sandbox(flavour: str, host: str, port: int, seed_file: str | None) -> None:
    """Serve a local emulator of the tracker's REST API (for demos and tests).

    Prints its base URL as the first line, then serves until Ctrl-C.
    """
    from planerka_sync.sandbox import make_emulator
    from planerka_sync.sandbox.server import SandboxServer

    seed = _read_seed(Path(seed_file)) if seed_file else None
    try:
        server = SandboxServer(make_emulator(flavour, seed), host, port)
    except OSError as exc:
        message = f"cannot listen on {host}:{port}: {exc.strerror}; try --port 0"
        raise PlanerkaError(message) from exc
    click.echo(server.url)
    click.echo(f"# {flavour} sandbox; control at {server.url}/_sandbox/ ; Ctrl-C stops", err=True)
    sys.stdout.flush()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


def _read_seed(path: Path) -> Any:
    import yaml

    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError([f"{path}: no such seed file"]) from None
    except yaml.YAMLError as exc:
        raise ConfigError([f"{path}: not valid YAML/JSON: {exc}"]) from None


# --- entry point -----------------------------------------------------------------------------


@cli.command("completion")
@click.argument("shell", type=click.Choice(["bash", "zsh", "fish"]))
def completion_command(shell: str) -> None:
    """Print the completion script for bash, zsh or fish.

    Add `eval "$(planerka-sync completion bash)"` to ~/.bashrc (zsh: ~/.zshrc), or save the fish
    one as ~/.config/fish/completions/planerka-sync.fish."""
    from click.shell_completion import get_completion_class

    completion_class = get_completion_class(shell)
    assert completion_class is not None  # click knows the three shells the choice allows
    click.echo(completion_class(cli, {}, "planerka-sync", "_PLANERKA_SYNC_COMPLETE").source())


def main(argv: list[str] | None = None) -> NoReturn:
    """Run the CLI; every error ends here as a message and an exit code."""
    verbose = _wants_verbose(sys.argv[1:] if argv is None else argv)
    code = _run(lambda: cli.main(args=argv, prog_name="planerka-sync", standalone_mode=False),
                verbose)
    sys.exit(code)


def _run(command: Callable[[], Any], verbose: bool) -> int:
    try:
        result = command()
        return result if isinstance(result, int) else 0
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except click.Abort:
        err_console.print("Aborted.")
        return 130
    except PlanerkaError as exc:
        if verbose:
            _print_traceback()
        _print_error(exc)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    except Exception:
        if verbose:
            _print_traceback()
        err_console.print(
            "[red]planerka-sync hit an internal error.[/] Run again with -v to see the details "
            "and report them."
        )
        return EXIT_INTERNAL


def _print_traceback() -> None:
    """The traceback of the exception being handled, redacted like a log line: its frames'
    messages may hold a URL with a token, a header or a config value."""
    from planerka_sync.observability import redact

    sys.stderr.write(redact(traceback.format_exc()))
    sys.stderr.flush()


def _print_error(exc: PlanerkaError) -> None:
    """The messages are built to hold no secret; redacted all the same, as the last line of
    defence (a tracker may echo what it was sent)."""
    from planerka_sync.observability import redact

    if isinstance(exc, ConfigError):
        for problem in exc.problems:
            err_console.print(f"[red]error:[/] {escape(redact(problem))}")
        return
    err_console.print(f"[red]error:[/] {escape(redact(exc.message))}")
    if exc.detail:
        err_console.print(f"  {escape(redact(exc.detail))}")


def _wants_verbose(argv: list[str]) -> bool:
    return any(a == "--verbose" or (a.startswith("-v") and set(a[1:]) == {"v"}) for a in argv)


if __name__ == "__main__":
    main()
