"""``planerka-sync check``: everything the config refers to, verified where it lives - the
tracker's board or project, its lists, statuses and issue types, each person's account, each
KPI source - as rows the CLI shows as a table or JSON. Each thing is one row, naming every
option that refers to it; a failed row says which option to fix and what exists."""

from __future__ import annotations

from urllib.parse import urlsplit

from planerka_sync.config import KpiSourceSettings
from planerka_sync.domain.kpi import source_error_text
from planerka_sync.domain.model import CheckResult
from planerka_sync.errors import PlanerkaError
from planerka_sync.kpi_sources.base import make_source
from planerka_sync.kpi_sources.http_json import HttpJsonSettings
from planerka_sync.service.app import App


def check(app: App) -> list[CheckResult]:
    """The tracker's rows (a tracker that cannot be reached or refuses the credentials is one
    failed row, with its message), then one row per KPI source; never raises for what the
    config or the tracker holds."""
    return _once([*_tracker_rows(app), *_kpi_source_rows(app)])


def _tracker_rows(app: App) -> list[CheckResult]:
    tracker = app.config.tracker
    accounts = [(p.id, app.account(p)) for p in app.config.people]
    try:
        return list(app.tracker.check(accounts))
    except PlanerkaError as exc:
        name = "Trello" if tracker.kind == "trello" else "Jira"
        return [CheckResult(f"{name} at {_host(tracker.url)}", False, exc.message,
                            id="tracker", area="tracker", options=("tracker",),
                            ru=(f"{name} на {_host(tracker.url)}", exc.message))]


def _once(rows: list[CheckResult]) -> list[CheckResult]:
    """One row per id (an adapter's row without an id is its own): the first, or the first
    that failed; rows keep their order."""
    chosen: dict[str, CheckResult] = {}
    for index, row in enumerate(rows):
        if not row.area:  # a third-party adapter's plain row
            row = CheckResult(row.what, row.ok, row.advice, row.id or f"tracker:{index}",
                              "tracker", row.options, row.ru)
        key = row.id or f"#{index}"
        if key not in chosen or (chosen[key].ok and not row.ok):
            chosen[key] = row
    return list(chosen.values())


# --- KPI sources -------------------------------------------------------------------------------

def _kpi_source_rows(app: App) -> list[CheckResult]:
    return [_kpi_source_row(index, source) for index, source in enumerate(app.config.kpi_sources)]


def _kpi_source_row(index: int, source: KpiSourceSettings) -> CheckResult:
    """One GET, as a report makes it; the failure in the words the team reads on the scorecard,
    and which option to look at. The URL (it may carry a token) is shown by its host alone."""
    option = f"kpi_sources[{index}]"
    host = _host(source.url) if isinstance(source, HttpJsonSettings) else source.label()
    row = CheckResult(f"KPI source {host} ({option})", True, id=f"kpi_source:{index}",
                      area="kpi_source", options=(option,),
                      ru=(f"источник KPI {host} ({option})", ""))
    failure = make_source(source).probe()
    if failure is None:
        return row
    kind = failure.code.partition(":")[0]
    fix_en, fix_ru = _KIND_FIXES.get((source.kind, kind)) or _SOURCE_FIXES.get(
        kind, _SOURCE_FIXES["http"])
    # The source's own words say which metric, goal or field it refused (never a secret).
    detail = f" ({failure})" if kind in ("missing", "http") and str(failure) else ""
    return row.failed(
        f"{source_error_text(failure.code, 'en')}{detail}: "
        + fix_en.format(option=option, timeout=f"{source.timeout:g}"),
        f"{source_error_text(failure.code, 'ru')}{detail}: "
        + fix_ru.format(option=option, timeout=f"{source.timeout:g}"))


# An analytics source's own advice, by (source kind, failure kind).
_KIND_FIXES: dict[tuple[str, str], tuple[str, str]] = {
    ("http-json", "denied"): ("check the token in {option}.headers",
                              "проверьте токен в {option}.headers"),
    ("yandex-metrica", "denied"): (
        "check the OAuth token in {option}.token (metrika:read) and that it may read counter "
        "{option}.counter", "проверьте OAuth-токен в {option}.token (metrika:read) и что ему "
        "доступен счётчик {option}.counter"),
    ("yandex-direct", "denied"): (
        "check the token in {option}.token (Direct API access approved?) and, for an agency, "
        "{option}.client_login", "проверьте токен в {option}.token (доступ к API Директа "
        "одобрен?) и, для агентства, {option}.client_login"),
    ("google-analytics-4", "denied"): (
        "check {option}.credentials and that the service account is a Viewer of property "
        "{option}.property", "проверьте {option}.credentials и что сервисный аккаунт добавлен "
        "в ресурс {option}.property с ролью «Читатель»"),
    ("sheet", "denied"): (
        "publish the sheet to the web as CSV (File > Share > Publish to web), or check "
        "{option}.token", "опубликуйте таблицу в интернете как CSV («Файл → Поделиться → "
        "Опубликовать в интернете») или проверьте {option}.token"),
    ("sheet", "unreadable"): ("{option}.url must give a CSV (metric, period_end, value)",
                              "{option}.url должен давать CSV (metric, period_end, value)"),
    ("yandex-metrica", "quota"): ("Metrica's quota renews within a day; try later",
                                  "квота Метрики обновится в течение суток; повторите позже"),
    ("yandex-direct", "quota"): ("Direct's points renew every hour; try later",
                                 "баллы Директа обновляются каждый час; повторите позже"),
}

# What to do about a source's failure, by its kind (SourceFailure.code before the colon).
_SOURCE_FIXES: dict[str, tuple[str, str]] = {
    "unreachable": ("check {option}.url and that the service is running",
                    "проверьте {option}.url и что сервис работает"),
    "timeout": ("no answer within {timeout} s; check the service or raise {option}.timeout",
                "нет ответа за {timeout} с; проверьте сервис или увеличьте {option}.timeout"),
    "denied": ("check the credentials in {option}", "проверьте учётные данные в {option}"),
    "quota": ("wait for the quota to renew, or ask its owner for more",
              "дождитесь обновления квоты или попросите у владельца больше"),
    "http": ("check {option}.url", "проверьте {option}.url"),
    "unreadable": ("{option}.url must answer with JSON",
                   "{option}.url должен отвечать в формате JSON"),
    "missing": ("fix {option}.pointers", "исправьте {option}.pointers"),
}


def _host(url: str) -> str:
    """Where a URL points, without its path, query or user info (they may carry a token)."""
    try:
        parts = urlsplit(url)
        return parts.hostname + (f":{parts.port}" if parts.port else "") if parts.hostname else "?"
    except ValueError:
        return "?"
