"""kpi record, import, show."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from rich.markup import escape

from planerka_sync.cli.base import (
    AppContext,
    cli,
    err_console,
    one_series,
    open_app,
    out_console,
)
from planerka_sync.errors import PlanerkaError

if TYPE_CHECKING:
    pass

@cli.group("kpi")
def kpi_group() -> None:
    """Record, import and show the team's KPIs."""


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
        chosen = one_series(state, series, 'kpi ...')
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
        chosen = one_series(state, series, 'kpi ...')
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
        chosen = one_series(state, series, 'kpi ...')
        report = kpi_report(state, chosen, period_end.date() if period_end else None,
                            fetch_sources=False, chart=False)
    finally:
        state.store.close()
    out_console.print(to_plain(report.document), markup=False, highlight=False)


