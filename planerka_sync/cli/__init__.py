"""Click commands only: parse options, call a use case, print. Errors become exit codes in
:mod:`planerka_sync.cli.base`; each area's commands are a module here, imported (and so
registered) when the command is first asked for (base.COMMAND_MODULES)."""

from planerka_sync.cli.base import AppContext, cli, main, open_app

__all__ = ["AppContext", "cli", "main", "open_app"]
