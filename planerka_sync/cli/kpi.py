"""kpi record, import, show, metrics: in the config's language, and as JSON for scripts."""

from __future__ import annotations

import re
from datetime import date
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
    locale,
    one_series,
    open_app,
    out_console,
    progress_shown,
    t,
)
from planerka_sync.errors import PlanerkaError

if TYPE_CHECKING:
    from planerka_sync.config import MeetingSeries
    from planerka_sync.domain.kpi import KpiSet, MetricDef
    from planerka_sync.domain.progress import Period
    from planerka_sync.domain.scorecard import ScoreRow
    from planerka_sync.domain.texts import Locale
    from planerka_sync.kpi_sources.csv_source import CsvReport
    from planerka_sync.service import App

SERIES_HELP = "Meeting series (default: the only one)."
PERIOD_END_HELP = ("Last day of the period: 2026-12-05, 05.12.2026 or 05.12 (default: today "
                   "where the team is).")


def language() -> Locale:
    """The language messages and names are in (the config's, or LANG before it is read)."""
    return "ru" if locale() == "ru" else "en"


@cli.group("kpi")
def kpi_group() -> None:
    """Record, import and show the team's KPIs; `kpi metrics` lists their ids."""


def series_alias(command: Any) -> Any:
    """``--series``: the old spelling of the positional SERIES, kept for existing scripts."""
    return click.option("--series", "series_option", hidden=True, help=SERIES_HELP)(command)


def chosen_series(state: App, positional: str | None, option: str | None,
                  command: str) -> MeetingSeries:
    """The series named (positionally or with the hidden ``--series``), or the only one."""
    if positional and option and positional != option:
        raise click.UsageError(t(f"the series is named twice ({positional}, {option}); "
                                 f"name it once: planerka-sync {command} SERIES",
                                 f"серия указана дважды ({positional}, {option}); укажите "
                                 f"одну: planerka-sync {command} SERIES"))
    series = positional or option
    known = [m.id for m in state.config.meetings]
    if series is not None and series not in known:
        hint = ""
        kpis = _any_kpi_set(state)
        if kpis is not None and series.lower() in {m.id for m in kpis.metrics}:
            hint = t(f"; to record a value write {series}=VALUE",
                     f"; чтобы записать значение, напишите {series}=ЗНАЧЕНИЕ")
        raise PlanerkaError(t(f"no meeting series {series!r} in the config (series: "
                              f"{', '.join(known)}){hint}",
                              f"в конфиге нет серии встреч {series!r} (серии: "
                              f"{', '.join(known)}){hint}"))
    return one_series(state, series, command)


def _any_kpi_set(state: App) -> KpiSet | None:
    from planerka_sync.service.kpi import kpis_of

    try:
        return kpis_of(state, state.config.meetings[0]) if state.config.meetings else None
    except PlanerkaError:
        return None


# --- record ---------------------------------------------------------------------------------


@kpi_group.command("record")
@click.argument("arguments", nargs=-1, required=True, metavar="[SERIES] METRIC=VALUE...")
@click.option("--period-end", type=DAY, metavar="DATE", help=PERIOD_END_HELP)
@series_alias
@json_option("kpi-record")
@click.pass_obj
def kpi_record(app: AppContext, arguments: tuple[str, ...], period_end: date | None,
               series_option: str | None, as_json: bool) -> None:
    """Record values, e.g. `kpi record sessions=20000 conversions=500 bounce_rate=41,5%`.

    SERIES may come first (a first argument with "=" is a value, not a series); `kpi metrics`
    lists the metric ids."""
    from planerka_sync.service.kpi import kpis_of, periods, record

    series, pairs = split_series(arguments)
    state = open_app(app)
    try:
        chosen = chosen_series(state, series, series_option, "kpi record")
        if not pairs:
            raise click.UsageError(t("no METRIC=VALUE given, e.g. sessions=20000",
                                     "не указано ни одного ПОКАЗАТЕЛЬ=ЗНАЧЕНИЕ, например "
                                     "sessions=20000"))
        kpis = kpis_of(state, chosen)
        values = read_pairs(pairs, kpis)
        # Today where the team is: at 01:00 in Moscow it is still yesterday in UTC.
        day = period_end or state.config.working_day.day_of(state.clock())
        count = record(state, chosen.id, values, day, "manual")
        period = periods(state, chosen, day, count=1)[-1]
    finally:
        state.store.close()
    if as_json:
        lang = language()
        emit_json({"series": chosen.id, "period_end": day.isoformat(),
                   "period": period_json(period),
                   "recorded": [{"id": metric, "name": kpis.metric(metric).label(lang),
                                 "unit": kpis.metric(metric).unit, "value": value}
                                for metric, value in values.items()]})
        return
    out_console.print(t(f"recorded {count} value(s) for {chosen.id}, period ending {day}",
                        f"записано значений: {count} ({chosen.id}, период до "
                        f"{day:%d.%m.%Y})"))


def split_series(arguments: tuple[str, ...]) -> tuple[str | None, list[str]]:
    """``[SERIES] METRIC=VALUE...``: a first argument without "=" names the series."""
    if arguments and "=" not in arguments[0]:
        return arguments[0], list(arguments[1:])
    return None, list(arguments)


def read_pairs(pairs: list[str], kpis: KpiSet) -> dict[str, float]:
    """``metric=value`` pairs -> values; every bad pair is reported at once, in the user's
    language, an unknown id with the closest ones and a pointer to `kpi metrics`."""
    from planerka_sync.kpi_sources.common import KpiInputError, parse_number

    values: dict[str, float] = {}
    problems: list[str] = []
    for pair in pairs:
        metric, sign, text = pair.partition("=")
        metric = metric.strip().lower()
        problem = None
        if not sign or not metric:
            problem = t("expected METRIC=VALUE", "нужно ПОКАЗАТЕЛЬ=ЗНАЧЕНИЕ")
        elif (why := not_recordable(metric, kpis)) is not None:
            problem = why
        elif not text.strip():
            problem = t("no value after '='", "нет значения после «=»")
        elif metric in values:
            problem = t(f"{metric} is given twice", f"{metric} указан дважды")
        else:
            try:
                values[metric] = parse_number(text)
            except ValueError as exc:
                problem = value_problem(str(exc))
        if problem is not None:
            problems.append(f"{pair!r}: {problem}")
    if problems:
        raise KpiInputError(problems)
    return values


def not_recordable(metric: str, kpis: KpiSet) -> str | None:
    """Why ``metric`` cannot be recorded by hand (None when it can)."""
    lang = language()
    defined = {m.id: m for m in kpis.metrics}
    if metric in defined:
        found = defined[metric]
        if found.formula is not None:
            return t(f"{metric} ({found.label(lang)}) is computed: {found.formula}; record "
                     f"its inputs",
                     f"{metric} ({found.label(lang)}) вычисляется по формуле {found.formula}; "
                     f"запишите показатели, из которых она считается")
        if found.source == "tracker":
            return t(f"{metric} ({found.label(lang)}) is computed from the tracker's tasks",
                     f"{metric} ({found.label(lang)}) считается по задачам в трекере")
        return None
    return unknown_metric(metric, closest_ids(metric, kpis))


def unknown_metric(metric: str, close: list[str]) -> str:
    """'unknown metric 'visits' (did you mean sessions?); see `planerka-sync kpi metrics`'."""
    hint = (t(f" (did you mean {' or '.join(close)}?)", f" (может быть, {' или '.join(close)}?)")
            if close else "")
    return t(f"unknown metric {metric!r}{hint}; see `planerka-sync kpi metrics`",
             f"неизвестный показатель {metric!r}{hint}; список: `planerka-sync kpi metrics`")


def closest_ids(typed: str, kpis: KpiSet) -> list[str]:
    """The recordable ids closest to what was typed, by id or by name in either language
    ("visits" finds sessions, whose English name is Visits)."""
    import difflib

    recordable = kpis.recordable()
    names: dict[str, str] = {}
    for metric_id in recordable:
        metric = kpis.metric(metric_id)
        for key in (metric_id, metric.label("ru").lower(), metric.label("en").lower()):
            names.setdefault(key, metric_id)
    close = difflib.get_close_matches(typed.lower(), list(names), n=6, cutoff=0.75)
    return list(dict.fromkeys(names[c] for c in close))[:3]


# The messages of kpi_sources (common.parse_number, parse_period_end, csv_source), said in the
# user's language. A message not listed here is shown as it is.
_PROBLEMS_RU: list[tuple[re.Pattern[str], str]] = [(re.compile(p), r) for p, r in [
    (r"^ambiguous number (.+): write it without the comma or with a decimal point "
     r"\(e\.g\. (.+) or (.+)\)$",
     r"неоднозначное число \1: напишите его без запятой или с десятичной точкой "
     r"(например, \2 или \3)"),
    (r"^not a number: (.+)$", r"не число: \1"),
    (r"^number out of range: (.+)$", r"число вне допустимого диапазона: \1"),
    (r"^not a date: (.+) \(use YYYY-MM-DD or DD\.MM\.YYYY\)$",
     r"не дата: \1 (пишите ГГГГ-ММ-ДД или ДД.ММ.ГГГГ)"),
    (r"^no value$", "нет значения"),
    (r"^no metric$", "не указан показатель"),
    (r"^(\w+) for (\S+) is already on an earlier line$", r"\1 за \2 уже есть выше в файле"),
    (r"^(\w+) for (\S+) is already on line (\d+)$", r"\1 за \2 уже есть в строке \3"),
    (r"^bad source (.+): up to 32 of (.+)$", r"недопустимый источник \1: до 32 символов из \2"),
    (r"^unknown column (.+) ignored$", r"неизвестный столбец \1 пропущен"),
    (r"^missing column (.+); expected (\S+), got (.*)$",
     r"нет столбца \1; нужны столбцы \2, а в файле: \3"),
    (r"^the file is empty; expected a header: (\S+)$",
     r"файл пуст; нужна строка заголовка: \1"),
    (r"^bytes that are not (.+) text; save the file as UTF-8 and import it again$",
     r"байты, которые не читаются как \1; сохраните файл в UTF-8 и импортируйте снова"),
    (r"^cannot read the file: (.+)$", r"файл не читается: \1"),
]]
_UNKNOWN = re.compile(r"^unknown metric '(\w+)'")


def value_problem(message: str) -> str:
    """A problem of one value or row (kpi_sources' English) in the user's language; an unknown
    metric points to `kpi metrics` in both."""
    metric, sep, rest = message.partition(": ")
    if sep and re.fullmatch(r"[a-z][a-z0-9_]*", metric):
        return f"{metric}: {value_problem(rest)}"  # "bounce_rate: not a number: 'сорок'"
    if unknown := _UNKNOWN.match(message):
        close = re.findall(r"(\w+)(?: or |\?)", message.partition("did you mean ")[2])
        return unknown_metric(unknown[1], close)
    if language() != "ru":
        return message
    for pattern, russian in _PROBLEMS_RU:
        if pattern.match(message):
            return pattern.sub(russian, message)
    return message


# --- import ---------------------------------------------------------------------------------


@kpi_group.command("import")
@click.argument("arguments", nargs=-1, required=True, metavar="[SERIES] FILE")
@series_alias
@json_option("kpi-import")
@click.pass_obj
def kpi_import(app: AppContext, arguments: tuple[str, ...], series_option: str | None,
               as_json: bool) -> None:
    """Import a CSV with columns metric, period_end, value[, source]; the valid rows are
    kept, the others reported with their line numbers."""
    from planerka_sync.service.kpi import Imported, import_csv, kpis_of

    if len(arguments) > 2:
        raise click.UsageError(t("expected [SERIES] FILE", "нужно [СЕРИЯ] ФАЙЛ"))
    series, file = (None, Path(arguments[0])) if len(arguments) == 1 else (
        arguments[0], Path(arguments[1]))
    if not file.is_file():
        raise click.BadParameter(t(f"no such file: {file}", f"нет такого файла: {file}"),
                                 param_hint="FILE")
    state = open_app(app)
    imported = Imported()
    try:
        chosen = chosen_series(state, series, series_option, "kpi import")
        kpis = kpis_of(state, chosen)
        with progress_shown(state):
            report = import_csv(state, chosen, file, imported)
    finally:
        state.store.close()
    where = escape(str(file))
    for problem in report.problems:
        err_console.print(f"[red]{t('error', 'ошибка')}:[/] {where}: "
                          f"{escape(problem_text(problem.line, problem.message))}")
    if report.more_problems:
        err_console.print(f"[red]{t('error', 'ошибка')}:[/] {where}: " + t(
            f"{report.more_problems} more problem(s) not shown",
            f"ещё проблем, не показанных здесь: {report.more_problems}"))
    if as_json:
        emit_json(import_json(chosen.id, file, report, imported, kpis))
        if report.fatal or report.problem_count:
            raise click.exceptions.Exit(1)  # the object above is the answer: no error object
        return
    out_console.print(f"{where}: " + escape(t(
        f"imported {report.rows} row(s) for {chosen.id}{read_as(report)}, skipped "
        f"{report.skipped} row(s)",
        f"импортировано строк: {report.rows} ({chosen.id}{read_as(report)}), пропущено: "
        f"{report.skipped}")))
    if report.fatal:
        raise PlanerkaError(t("nothing imported", "ничего не импортировано"))
    if report.problem_count:
        raise PlanerkaError(t(f"{report.problem_count} problem(s), {report.skipped} row(s) "
                              f"skipped; the valid rows were kept",
                              f"проблем: {report.problem_count}, пропущено строк: "
                              f"{report.skipped}; верные строки сохранены"))


def read_as(report: CsvReport) -> str:
    """How the file was read, so that a wrong guess (mojibake, one column) is visible at once."""
    if not (report.encoding and report.delimiter):
        return ""
    if language() == "ru":
        return f"; {report.encoding.replace(' with BOM', ' с BOM')}, разделитель " \
               f"{report.delimiter!r}"
    return f" ({report.encoding}, delimiter {report.delimiter!r})"


def problem_text(line: int, message: str) -> str:
    text = value_problem(message)
    return t(f"line {line}: {text}", f"строка {line}: {text}") if line else text


def import_json(series: str, file: Path, report: CsvReport, imported: Any,
                kpis: KpiSet) -> dict[str, Any]:
    lang = language()
    return {
        "series": series, "file": str(file),
        "encoding": report.encoding or None, "delimiter": report.delimiter or None,
        "imported": report.rows, "skipped": report.skipped,
        "metrics": [{"id": metric, "name": kpis.metric(metric).label(lang), "rows": rows,
                     "first_period_end": imported.first[metric].isoformat(),
                     "last_period_end": imported.last[metric].isoformat()}
                    for metric, rows in sorted(imported.rows.items())],
        "problems": [{"line": p.line or None, "message": value_problem(p.message)}
                     for p in report.problems],
        "more_problems": report.more_problems,
        "fatal": report.fatal,
    }


# --- show -----------------------------------------------------------------------------------


@kpi_group.command("show")
@click.argument("series", required=False)
@click.option("--period-end", type=DAY, metavar="DATE",
              help="A day of the period to show: 2026-12-05, 05.12.2026 or 05.12 (default: "
                   "today); the period is the days after one meeting up to the next.")
@series_alias
@json_option("kpi-show")
@click.pass_obj
def kpi_show(app: AppContext, series: str | None, period_end: date | None,
             series_option: str | None, as_json: bool) -> None:
    """Print the KPI scorecard of a period: every agenda block, against the previous period
    and the targets."""
    from planerka_sync.render.plain import to_plain
    from planerka_sync.service.kpi import kpi_report, kpis_of

    state = open_app(app)
    try:
        chosen = chosen_series(state, series, series_option, "kpi show")
        kpis = kpis_of(state, chosen)
        report = kpi_report(state, chosen, period_end, fetch_sources=False, chart=False)
    finally:
        state.store.close()
    if as_json:
        emit_json(show_json(chosen.id, kpis, report.scorecard))
        return
    out_console.print(to_plain(report.document), markup=False, highlight=False)


def period_json(period: Period | None) -> dict[str, Any] | None:
    if period is None:
        return None
    return {"start": period.start.isoformat() if period.start else None,
            "end": period.end.isoformat()}


def show_json(series: str, kpis: KpiSet, card: Any) -> dict[str, Any]:
    """The scorecard as data: every block in agenda order with every metric of its own, numbers
    as stored (a "%" metric as a fraction), names in the config's language."""
    from planerka_sync.domain.kpi import Reason

    lang = language()
    blocks = []
    for block in card.blocks:
        rows = {row.metric.id: row for row in block.rows}
        metrics = []
        for metric in kpis.metrics:
            if metric.block != block.key:
                continue
            row = rows.get(metric.id)
            metrics.append(row_json(metric, row, lang) if row is not None else {
                **metric_basics(metric, lang), "value": None, "previous": None,
                "change": None, "status": "no_data", "note": Reason("no_value").text(lang),
                "last_known": None, "source_error": None})
        blocks.append({"key": block.key, "title": block.title, "metrics": metrics,
                       "see_also": [{"name": r.title, "block": r.home}
                                    for r in block.references]})
    return {"series": series, "kpi_set": kpis.id, "locale": lang,
            "period": period_json(card.current), "previous_period": period_json(card.previous),
            "blocks": blocks}


def metric_basics(metric: MetricDef, lang: Locale) -> dict[str, Any]:
    return {"id": metric.id, "name": metric.label(lang), "unit": metric.unit,
            "better": metric.better, "target": metric.target, "tolerance": metric.tolerance,
            "headline": metric.headline}


def row_json(metric: MetricDef, row: ScoreRow, lang: Locale) -> dict[str, Any]:
    from planerka_sync.domain.kpi import Reason, source_error_text

    failure = None
    if row.reason is not None and row.reason.kind == "source_error":
        failure = {"code": row.reason.detail,
                   "message": source_error_text(row.reason.detail, lang)}
    note = None
    if row.value is None:
        note = row.note or Reason("no_value").text(lang)
    last = None
    if row.last is not None:
        value, period = row.last
        last = {"value": value, "period": period_json(period)}
    return {**metric_basics(metric, lang), "value": row.value, "previous": row.previous,
            "change": row.change, "status": row.status, "note": note, "last_known": last,
            "source_error": failure}


# --- metrics --------------------------------------------------------------------------------

_UNITS_RU = {"count": "шт.", "s": "с", "days": "дн.", "months": "мес.", "ratio": "отношение",
             "position": "позиция", "score": "баллы"}


@kpi_group.command("pull")
@click.argument("series", required=False)
@click.option("--period-end", type=DAY, metavar="DATE",
              help="A day of the last period to pull: 2026-12-05, 05.12.2026 or 05.12 "
                   "(default: today).")
@click.option("--periods", "count", type=click.IntRange(1, 60), default=2, show_default=True,
              help="How many periods up to that one (the first time: 13 fills the chart).")
@click.option("--dry-run", is_flag=True, help="Ask the sources and show it; store nothing.")
@json_option("kpi-pull")
@click.pass_obj
def kpi_pull(app: AppContext, series: str | None, period_end: date | None, count: int,
             dry_run: bool, as_json: bool) -> int:
    """Ask every KPI source of the config (Yandex Metrica, Google Analytics 4, Yandex Direct,
    a sheet, http-json) for its values, period by period, and store them.

    Exits 6 when it finished but a source could not give some values (each is named)."""
    from planerka_sync.errors import INCOMPLETE_EXIT_CODE
    from planerka_sync.service.kpi import kpis_of, pull_sources

    state = open_app(app)
    try:
        chosen = one_series(state, series, "kpi pull")
        if not state.config.kpi_sources:
            raise PlanerkaError(t(
                "the config has no kpi_sources; add one (see the README's KPI sources) or "
                "record values with `planerka-sync kpi record`",
                "в конфиге нет kpi_sources; добавьте источник (раздел README об источниках "
                "KPI) или вносите значения командой `planerka-sync kpi record`"))
        kpis = kpis_of(state, chosen)
        with progress_shown(state):
            pulls = pull_sources(state, chosen, period_end, count=count, dry_run=dry_run)
    finally:
        state.store.close()
    lang = language()
    if as_json:
        emit_json(pull_json(chosen.id, kpis, pulls, dry_run, lang))
    else:
        print_pulls(kpis, pulls, lang, dry_run)
    return INCOMPLETE_EXIT_CODE if any(p.pulled.failures for p in pulls) else 0


def in_agenda_order(kpis: KpiSet, by_metric: dict[str, Any]) -> list[tuple[str, Any]]:
    """A source's metrics in the order the scorecard lists them, as the lead reads them."""
    place = {metric.id: n for n, metric in enumerate(kpis.metrics)}
    return sorted(by_metric.items(), key=lambda item: (place.get(item[0], len(place)), item[0]))


def pull_json(series: str, kpis: KpiSet, pulls: list[Any], dry_run: bool,
              lang: Locale) -> dict[str, Any]:
    from planerka_sync.domain.kpi import source_error_text

    return {"series": series, "dry_run": dry_run, "pulls": [
        {"source": p.kind, "label": p.label, "period": period_json(p.period),
         "values": [{"id": m, "name": _words(kpis.metric(m).title, lang), "value": v}
                    for m, v in in_agenda_order(kpis, p.pulled.values)],
         "failures": [{"id": m, "name": _words(kpis.metric(m).title, lang), "code": e.code,
                       "message": source_error_text(e.code, lang)}
                      for m, e in in_agenda_order(kpis, p.pulled.failures)],
         "notes": list(p.pulled.notes)} for p in pulls]}


def print_pulls(kpis: KpiSet, pulls: list[Any], lang: Locale, dry_run: bool) -> None:
    """A table per period: each metric a source gave, with its value as the scorecard shows
    it, or why it has none."""
    from rich.table import Table

    from planerka_sync.domain.kpi import format_value, source_error_text
    from planerka_sync.domain.scorecard import period_text

    if not pulls:
        out_console.print(t("No source provides a metric of this KPI set.",
                            "Ни один источник не даёт показателей этого набора KPI."))
    for period in dict.fromkeys(p.period for p in pulls):
        table = Table(title=period_text(period, lang), title_justify="left", box=None)
        for column in (t("source", "источник"), t("metric", "показатель"),
                       t("value", "значение")):
            table.add_column(column)
        for pull in (p for p in pulls if p.period == period):
            for metric, value in in_agenda_order(kpis, pull.pulled.values):
                m = kpis.metric(metric)
                table.add_row(escape(pull.label), escape(_words(m.title, lang)),
                              format_value(value, m.unit, lang, m.decimals))
            for metric, error in in_agenda_order(kpis, pull.pulled.failures):
                table.add_row(escape(pull.label), escape(_words(kpis.metric(metric).title, lang)),
                              f"[red]{escape(source_error_text(error.code, lang))}[/]")
            for note in pull.pulled.notes:
                table.add_row(escape(pull.label), "", f"[yellow]{escape(note)}[/]")
        out_console.print(table)
    if dry_run:
        out_console.print(t("[bold]Dry run[/]: nothing was stored.",
                            "[bold]Пробный запуск[/]: ничего не сохранено."))


@kpi_group.command("metrics")
@click.argument("series", required=False)
@series_alias
@json_option("kpi-metrics")
@click.pass_obj
def kpi_metrics(app: AppContext, series: str | None, series_option: str | None,
                as_json: bool) -> None:
    """List the series' metrics: the ids `kpi record` and `kpi import` take, their names,
    units, blocks, targets and where their values come from."""
    from planerka_sync.kpi_sources.base import make_source
    from planerka_sync.service.kpi import kpis_of

    state = open_app(app)
    try:
        chosen = chosen_series(state, series, series_option, "kpi metrics")
        kpis = kpis_of(state, chosen)
        fed: dict[str, list[str]] = {}
        for source in state.config.kpi_sources:
            for metric in make_source(source).provides():
                fed.setdefault(metric, []).append(source.kind)
    finally:
        state.store.close()
    lang = language()
    blocks = {b.key: b for b in kpis.blocks}
    listed = [{**metric_basics(m, lang), "block": m.block,
               "block_title": _words(blocks[m.block].title, lang), "also_in": m.also_in,
               "decimals": m.decimals, "formula": m.formula,
               "recordable": m.id in kpis.recordable(), "sources": sources(m, fed)}
              for m in kpis.metrics]
    if as_json:
        emit_json({"series": chosen.id, "kpi_set": kpis.id, "locale": lang,
                   "metrics": listed})
        return
    print_metrics(kpis, listed, lang)


def _words(title: Any, lang: Locale) -> str:
    from planerka_sync.domain.agenda import words

    return words(title, lang)


def sources(metric: MetricDef, fed: dict[str, list[str]]) -> list[str]:
    """Where the metric's values come from: a formula, the tracker, or kpi record / import and
    every configured source that provides it (by kind)."""
    if metric.formula is not None:
        return ["formula"]
    if metric.source == "tracker":
        return ["tracker"]
    return ["manual", *dict.fromkeys(fed.get(metric.id, []))]


def print_metrics(kpis: KpiSet, listed: list[dict[str, Any]], lang: Locale) -> None:
    from rich.table import Table

    from planerka_sync.domain.kpi import format_value

    source_words = {"manual": t("kpi record / import", "kpi record / import"),
                    "http-json": "http-json", "tracker": t("the tracker", "трекер")}
    for block in kpis.blocks:
        table = Table(title=_words(block.title, lang), title_justify="left", box=None,
                      pad_edge=False, show_edge=False)
        for header in (t("id", "id"), t("name", "название"), t("unit", "ед."),
                       t("target", "цель"), t("values from", "откуда значения")):
            table.add_column(header)
        for entry in (e for e in listed if e["block"] == block.key):
            metric = kpis.metric(entry["id"])
            target = ("—" if metric.target is None else
                      format_value(metric.target, metric.unit, lang, metric.decimals))
            unit = _UNITS_RU.get(metric.unit, metric.unit) if lang == "ru" else metric.unit
            origin = (t(f"formula: {metric.formula}", f"формула: {metric.formula}")
                      if metric.formula else
                      ", ".join(source_words.get(s, s) for s in entry["sources"]))
            table.add_row(metric.id, escape(entry["name"]), escape(unit), target,
                          escape(origin))
        out_console.print(table)
        out_console.print()
    out_console.print(t("Record with: planerka-sync kpi record ID=VALUE ...",
                        "Записать: planerka-sync kpi record ID=ЗНАЧЕНИЕ ..."))
