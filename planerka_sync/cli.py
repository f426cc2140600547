"""Click commands only: parse options, call a use case, print. Errors become exit codes here."""

from __future__ import annotations

import json
import logging
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, NoReturn

import click
from rich.console import Console
from rich.markup import escape

from planerka_sync import __version__
from planerka_sync.config import Config, find_config, json_schema, load_config
from planerka_sync.errors import ConfigError, PlanerkaError

EXIT_INTERNAL = 70

err_console = Console(stderr=True, highlight=False, soft_wrap=True)


@dataclass
class AppContext:
    verbose: int
    config_option: str | None

    @cached_property
    def config_path(self) -> Path:
        return find_config(self.config_option)

    @cached_property
    def config(self) -> Config:
        return load_config(self.config_path)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
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
    logging.basicConfig(
        level=logging.DEBUG if verbose > 1 else logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    ctx.obj = AppContext(verbose=verbose, config_option=config_option)


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
            traceback.print_exc()
        _print_error(exc)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    except Exception:
        if verbose:
            traceback.print_exc()
        err_console.print(
            "[red]planerka-sync hit an internal error.[/] Run again with -v to see the details "
            "and report them."
        )
        return EXIT_INTERNAL


def _print_error(exc: PlanerkaError) -> None:
    if isinstance(exc, ConfigError):
        for problem in exc.problems:
            err_console.print(f"[red]error:[/] {escape(problem)}")
        return
    err_console.print(f"[red]error:[/] {escape(exc.message)}")
    if exc.detail:
        err_console.print(f"  {escape(exc.detail)}")


def _wants_verbose(argv: list[str]) -> bool:
    return any(a == "--verbose" or (a.startswith("-v") and set(a[1:]) == {"v"}) for a in argv)


if __name__ == "__main__":
    main()
