"""The command group, the app context every command shares, and the entry point: errors
become exit codes here. The commands live beside it, one module per area."""

from __future__ import annotations

import logging
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click
from rich.console import Console
from rich.markup import escape

from planerka_sync import __version__
from planerka_sync.config import Config, find_config, load_config, read_yaml
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

# --- entry point -----------------------------------------------------------------------------
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

