"""The command group, the app context every command shares, and the entry point: errors
become exit codes here. The commands live beside it, one module per area."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from functools import cached_property
from importlib import import_module
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, cast

import click

from planerka_sync import __version__
from planerka_sync.errors import ConfigError, PlanerkaError
from planerka_sync.messages import locale, t, use_config_locale

if TYPE_CHECKING:
    from rich.console import Console

    from planerka_sync.config import Config
    from planerka_sync.service import App


__all__ = ["locale", "t"]  # the commands take them from here with the rest

EXIT_INTERNAL = 70
SCHEMAS = Path(__file__).parent / "schemas"  # the JSON Schema of every --json output


# Nothing heavy at import: `--help` must start about as fast as click itself (bench/startup.py,
# tests/unit/test_startup_imports.py). rich, the config's models, the store and the trackers
# are imported by the commands that use them.
class _LazyConsole:
    """A rich Console made on first use, with these options."""

    def __init__(self, **options: Any) -> None:
        object.__setattr__(self, "_options", options)
        object.__setattr__(self, "_console", None)

    def _made(self) -> Console:
        console = self._console
        if console is None:
            from rich.console import Console

            console = Console(**self._options)
            object.__setattr__(self, "_console", console)
        return console

    def __getattr__(self, name: str) -> Any:
        if name == "quiet" and self._console is None:
            return self._options.get("quiet", False)
        return getattr(self._made(), name)

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "quiet" and self._console is None:  # --json, -q: rich still not needed
            self._options["quiet"] = value
            return
        setattr(self._made(), name, value)

    def print(self, *objects: Any, **options: Any) -> None:
        """A quiet console prints nothing: under --json or -q rich is never imported."""
        if self._console is None and self._options.get("quiet"):
            return
        self._made().print(*objects, **options)

    # Special methods are looked up on the type, not through __getattr__: rich's Live does
    # `with console:` (Console's only other ones are __init__ and __repr__).
    def __enter__(self) -> Console:
        return self._made().__enter__()

    def __exit__(self, *exc_info: Any) -> None:
        self._made().__exit__(*exc_info)

    def __repr__(self) -> str:
        return repr(self._made())


err_console = cast("Console", _LazyConsole(stderr=True, highlight=False, soft_wrap=True))
out_console = cast("Console", _LazyConsole(highlight=False, soft_wrap=True))


def escape(markup: str) -> str:
    """rich's markup escape, imported when first needed."""
    from rich.markup import escape as rich_escape

    return rich_escape(markup)

@dataclass
class AppContext:
    verbose: int
    config_option: str | None

    @cached_property
    def config_path(self) -> Path:
        from planerka_sync.config import find_config

        return find_config(self.config_option)

    @cached_property
    def config(self) -> Config:
        from planerka_sync.config import load_config
        from planerka_sync.observability import log_times_in, redact_also, secrets_of

        redact_also(self._referenced_variables())  # first: a config error may quote them
        config = load_config(self.config_path)
        use_config_locale(config.locale)
        redact_also(secrets_of(config))
        log_times_in(config.timezone)  # log lines read in the team's zone, like everything else
        return config

    def _referenced_variables(self) -> list[str]:
        """Values of the ${VAR}s the config file uses; none when it cannot be read (then
        load_config says why)."""
        from planerka_sync.config import read_yaml
        from planerka_sync.observability import referenced_variables

        try:
            return referenced_variables(read_yaml(self.config_path))
        except ConfigError:
            return []


# Which module defines each command: a command's module is imported when the command is asked
# for, so `sync` does not pay for init, demo or check (--help and completion list every one).
COMMAND_MODULES = {
    "check": "check", "run": "daemon", "serve": "daemon", "demo": "demo", "init": "init",
    "kpi": "kpi", "prepare": "meetings", "sync": "meetings", "decide": "meetings",
    "decisions": "meetings", "progress": "meetings", "report": "meetings",
    "completion": "tools", "sandbox": "tools", "config": "tools", "webhooks": "webhooks",
}


class LazyGroup(click.Group):
    """The root group, its commands registered by importing their module on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.commands, *COMMAND_MODULES})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands:
            module = COMMAND_MODULES.get(cmd_name)
            # An unknown name: every module, so click's "did you mean" sees every command.
            for name in [module] if module else sorted(set(COMMAND_MODULES.values())):
                import_module(f"planerka_sync.cli.{name}")
        command = super().get_command(ctx, cmd_name)
        if command is not None and command not in _WITH_VERBOSITY:
            add_verbosity_options(command)  # -v/-q after every command name, not only before
            _WITH_VERBOSITY.add(command)
        return command


_WITH_VERBOSITY: set[click.Command] = set()


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]},
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
    """-vv: DEBUG; -v: INFO; -q: ERROR; none: WARNING, but INFO for the daemons, whose log is
    their output."""
    import logging

    if verbose > 1:
        return logging.DEBUG
    if verbose < 0:
        return logging.ERROR
    return logging.INFO if verbose or daemon else logging.WARNING


def add_verbosity_options(command: click.Command) -> None:
    """-v and -q after any command name too (``planerka-sync sync -v``), not only before it;
    for a group, on each of its commands."""
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            add_verbosity_options(sub)
        return
    command.params += [
        click.Option(["-v", "--verbose"], count=True, expose_value=False, callback=_louder,
                     help="More detail (-vv: debug); shows tracebacks on errors."),
        click.Option(["-q", "--quiet"], is_flag=True, expose_value=False, callback=_quieter,
                     help="Only errors and warnings; exit codes still tell the outcome."),
    ]


def _louder(ctx: click.Context, _param: click.Parameter, count: int) -> None:
    if count:
        _set_verbosity(ctx, count)


def _quieter(ctx: click.Context, _param: click.Parameter, quiet: bool) -> None:
    if quiet:
        out_console.quiet = True
        _set_verbosity(ctx, -1)


def _set_verbosity(ctx: click.Context, verbose: int) -> None:
    from planerka_sync.observability import secrets_in_environment, setup_logging

    app = ctx.find_object(AppContext)
    if app is not None:
        app.verbose = verbose if verbose < 0 else max(app.verbose, 0) + verbose
        setup_logging(log_level(app.verbose), "text", secrets_in_environment())


# --- what several commands take ---------------------------------------------------------------


class DayParam(click.ParamType):
    """A day in any of the forms the team writes (domain.days): 2026-12-05, 05.12.2026, 05.12."""

    name = "date"

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> date:
        from planerka_sync.domain.days import read_day

        if isinstance(value, date):
            return value
        try:
            return read_day(str(value), _today(ctx))
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


DAY = DayParam()


def _today(ctx: click.Context | None) -> date:
    """Today where the team is (the config's zone), or here when there is no readable config."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    app = ctx.find_object(AppContext) if ctx is not None else None
    try:
        zone = ZoneInfo(app.config.timezone) if app is not None else None
    except PlanerkaError:
        zone = None
    return datetime.now(zone).date()


def json_option(schema: str) -> Callable[[Any], Any]:
    """``--json``: print one JSON object, shaped as ``cli/schemas/<schema>.schema.json``, and
    nothing else on stdout (warnings and errors still go to stderr)."""
    def quiet_for_json(_ctx: click.Context, _param: click.Parameter, value: bool) -> bool:
        if value:
            out_console.quiet = True
        return value

    return click.option("--json", "as_json", is_flag=True, callback=quiet_for_json,
                        is_eager=True,
                        help=f"Print JSON for scripts (schema: {schema}.schema.json).")


def emit_json(payload: dict[str, Any]) -> None:
    import json

    click.echo(json.dumps(payload, ensure_ascii=False, indent=2, default=str))


def one_series(state: App, series: str | None, command: str) -> Any:
    """The series named, or the only one; with several, the user is asked to name one."""
    chosen = state.series(series)
    if series is None and len(chosen) > 1:
        ids = ", ".join(s.id for s in chosen)
        raise PlanerkaError(t(f"the config has several meeting series ({ids}); name one: "
                              f"planerka-sync {command} SERIES",
                              f"в конфиге несколько серий встреч ({ids}); укажите одну: "
                              f"planerka-sync {command} SERIES"))
    return chosen[0]


# --- the lead's commands -------------------------------------------------------------------


@contextmanager
def progress_shown(state: App) -> Iterator[None]:
    """Bars for the long steps (the status pull, decisions becoming tasks, imports) while the
    block runs, on a terminal only: in a pipe, a log or under --json/-q nothing is drawn."""
    if out_console.quiet or not out_console.is_terminal:  # quiet first: rich unimported
        yield
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from planerka_sync.service.app import no_progress

    bars: dict[str, Any] = {}
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  console=out_console, transient=True) as shown:
        def advance(what: str, done: int, total: int | None) -> None:
            if what not in bars:
                bars[what] = shown.add_task(what, total=total)
            shown.update(bars[what], completed=done, total=total)

        state.progress = advance
        try:
            yield
        finally:
            state.progress = no_progress


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
    args = sys.argv[1:] if argv is None else argv
    code = _run(lambda: cli.main(args=argv, prog_name="planerka-sync", standalone_mode=False),
                _wants_verbose(args), as_json="--json" in args)
    sys.exit(code)


def _run(command: Callable[[], Any], verbose: bool, *, as_json: bool = False) -> int:
    try:
        result = command()
        return result if isinstance(result, int) else 0
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except click.Abort:
        err_console.print(t("Aborted.", "Прервано."))
        return 130
    except PlanerkaError as exc:
        if verbose:
            _print_traceback()
        _print_error(exc)
        if as_json:  # a script reads stdout: the error is there too (schema: error)
            _print_json_error(exc)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    except Exception:
        if verbose:
            _print_traceback()
        err_console.print(t(
            "[red]planerka-sync hit an internal error.[/] Run again with -v to see the details "
            "and report them.",
            "[red]Внутренняя ошибка planerka-sync.[/] Запустите команду ещё раз с -v, чтобы "
            "увидеть подробности, и сообщите о них разработчикам."
        ))
        return EXIT_INTERNAL


def _print_traceback() -> None:
    """The traceback of the exception being handled, redacted like a log line: its frames'
    messages may hold a URL with a token, a header or a config value."""
    import traceback

    from planerka_sync.observability import redact

    sys.stderr.write(redact(traceback.format_exc()))
    sys.stderr.flush()


def _print_error(exc: PlanerkaError) -> None:
    """The messages are built to hold no secret; redacted all the same, as the last line of
    defence (a tracker may echo what it was sent)."""
    from planerka_sync.observability import redact

    if isinstance(exc, ConfigError):
        for problem in exc.problems:
            err_console.print(f"[red]{t('error', 'ошибка')}:[/] {escape(redact(problem))}")
        return
    err_console.print(f"[red]{t('error', 'ошибка')}:[/] {escape(redact(exc.message))}")
    if exc.detail:
        err_console.print(f"  {escape(redact(exc.detail))}")


def _print_json_error(exc: PlanerkaError) -> None:
    from planerka_sync.observability import redact

    problems = exc.problems if isinstance(exc, ConfigError) else [exc.message]
    emit_json({"error": {"message": redact(exc.message),
                         "detail": redact(exc.detail) if exc.detail else None,
                         "problems": [redact(p) for p in problems],
                         "exit_code": exc.exit_code}})


def _wants_verbose(argv: list[str]) -> bool:
    return any(a == "--verbose" or (a.startswith("-v") and set(a[1:]) == {"v"}) for a in argv)

