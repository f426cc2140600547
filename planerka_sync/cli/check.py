"""planerka-sync check."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click
from rich.markup import escape

from planerka_sync.cli.base import (
    AppContext,
    cli,
    open_app,
    out_console,
)
from planerka_sync.errors import PlanerkaError

if TYPE_CHECKING:
    pass

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


