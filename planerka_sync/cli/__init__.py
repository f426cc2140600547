"""Click commands only: parse options, call a use case, print. Errors become exit codes in
:mod:`planerka_sync.cli.base`; each area's commands are a module here, registered on import."""

from planerka_sync.cli import (  # noqa: F401  (importing registers the commands)
    check,
    daemon,
    demo,
    init,
    kpi,
    meetings,
    tools,
    webhooks,
)
from planerka_sync.cli.base import AppContext, add_verbosity_options, cli, main, open_app

add_verbosity_options(cli)  # -v/-q after every command name, not only before it

__all__ = ["AppContext", "cli", "main", "open_app"]
