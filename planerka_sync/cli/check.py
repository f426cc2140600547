"""planerka-sync check: a doctor for the config. Every list, status, issue type, person and
KPI source the config names is verified where it lives, each once; a failed row says which
option to fix and what exists. Exit 1 when any row failed."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from planerka_sync.cli.base import (
    AppContext,
    cli,
    emit_json,
    err_console,
    escape,
    json_option,
    locale,
    open_app,
    out_console,
    t,
)

if TYPE_CHECKING:
    from planerka_sync.domain.model import CheckResult


@cli.command("check")
@json_option("check")
@click.pass_obj
def check_command(app: AppContext, as_json: bool) -> int:
    """Check the config, the state DB, the board/project with every list, status and issue type
    the config names, every person's account and every KPI source."""
    from planerka_sync import service
    from planerka_sync.domain.model import CheckResult
    from planerka_sync.store import redact_url

    results = [CheckResult(f"config {app.config_path}", True, id="config", area="config",
                           ru=(f"конфиг {app.config_path}", ""))]
    state = open_app(app)  # a config or state DB that cannot be opened stops here, as before
    url = redact_url(state.store.url)
    results.append(CheckResult(f"state DB {url}", True, id="state_db", area="state",
                               options=("database",), ru=(f"база состояния {url}", "")))
    try:
        results += service.check(state)
    finally:
        state.store.close()
    failed = sum(not r.ok for r in results)
    if as_json:
        emit_json({"ok": not failed, "failed": failed, "checks": [_row(r) for r in results]})
    else:
        _print_table(results)
    if failed:
        # Not an exception: with --json the one object on stdout is the checks, not an error.
        message = t(f"{failed} check{'s' if failed > 1 else ''} failed; see the advice above",
                    f"не пройдено проверок: {failed}; что исправить — в таблице выше")
        if as_json:
            message = t(f"{failed} check{'s' if failed > 1 else ''} failed; see the advice in "
                        "the JSON", f"не пройдено проверок: {failed}; что исправить — в JSON")
        err_console.print(f"[red]{t('error', 'ошибка')}:[/] {escape(message)}")
        return 1
    return 0


def _texts(result: CheckResult) -> tuple[str, str]:
    """What and advice in the user's language, redacted as every message is (a tracker's own
    error text may echo what it was sent)."""
    from planerka_sync.observability import redact

    what, advice = result.text(locale())
    return redact(what), redact(advice)


def _row(result: CheckResult) -> dict[str, Any]:
    what, advice = _texts(result)
    return {"id": result.id, "area": result.area, "what": what, "ok": result.ok,
            "advice": advice, "options": list(result.options)}


def _print_table(results: list[CheckResult]) -> None:
    from rich.table import Table

    table = Table(title="planerka-sync check")
    for column in ("", t("what", "что проверено"), t("advice", "что сделать")):
        table.add_column(column)
    for result in results:
        what, advice = _texts(result)
        mark = "[green]✔[/]" if result.ok else "[red]✘[/]"
        table.add_row(mark, escape(what), escape(advice))
    out_console.print(table)
