"""Commands about planerka-sync itself: the config, shell completion, the sandbox."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from planerka_sync.cli.base import (
    AppContext,
    cli,
    t,
)
from planerka_sync.errors import ConfigError, PlanerkaError

if TYPE_CHECKING:
    pass

# --- config ----------------------------------------------------------------------------------


@cli.group("config")
def config_group() -> None:
    """Inspect and validate the configuration."""


@config_group.command("schema")
def config_schema() -> None:
    """Print the JSON Schema of the config file."""
    import json

    from planerka_sync.config import json_schema

    click.echo(json.dumps(json_schema(), ensure_ascii=False, indent=2))


@config_group.command("validate")
@click.pass_obj
def config_validate(app: AppContext) -> None:
    """Read the config file and report every problem in it."""
    config = app.config
    click.echo(t(
        f"{app.config_path}: OK — tracker {config.tracker.kind}, "
        f"{len(config.people)} people, {len(config.meetings)} meeting series",
        f"{app.config_path}: всё в порядке — трекер {config.tracker.kind}, "
        f"людей: {len(config.people)}, серий встреч: {len(config.meetings)}"
    ))


# --- sandbox ---------------------------------------------------------------------------------


SERVICES = ("yandex-metrica", "google-analytics-4", "yandex-direct", "sheet")


@cli.command("sandbox")
@click.option("--tracker", type=click.Choice(["trello", "jira-cloud", "jira-dc"]),
              help="Which tracker API to emulate.")
@click.option("--service", type=click.Choice(SERVICES),
              help="Or which analytics API a KPI source reads.")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=0, type=click.IntRange(0, 65535), help="0 picks a free port.")
@click.option("--seed", "seed_file", type=click.Path(dir_okay=False), help="YAML/JSON seed file.")
def sandbox(tracker: str | None, service: str | None, host: str, port: int,
            seed_file: str | None) -> None:
    """Serve a local emulator of a tracker's REST API, or of an analytics API (for demos and
    tests): `--tracker trello|jira-cloud|jira-dc` or `--service yandex-metrica|...`.

    Prints its base URL as the first line, then serves until Ctrl-C.
    """
    from planerka_sync.sandbox import make_emulator
    from planerka_sync.sandbox.server import SandboxServer

    if (tracker is None) == (service is None):
        raise click.UsageError(t("give one of --tracker or --service",
                                 "укажите что-то одно: --tracker или --service"))
    flavour = str(tracker or service)
    seed = _read_seed(Path(seed_file)) if seed_file else None
    try:
        server = SandboxServer(make_emulator(flavour, seed), host, port)
    except OSError as exc:
        message = t(f"cannot listen on {host}:{port}: {exc.strerror}; try --port 0",
                    f"не удаётся слушать {host}:{port}: {exc.strerror}; попробуйте --port 0")
        raise PlanerkaError(message) from exc
    click.echo(server.url)
    click.echo(t(f"# {flavour} sandbox; control at {server.url}/_sandbox/ ; Ctrl-C stops",
                 f"# песочница {flavour}; управление: {server.url}/_sandbox/ ; остановить: "
                 "Ctrl-C"), err=True)
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
        raise ConfigError([t(f"{path}: no such seed file",
                             f"{path}: такого файла с начальными данными нет")]) from None
    except yaml.YAMLError as exc:
        raise ConfigError([t(f"{path}: not valid YAML/JSON: {exc}",
                             f"{path}: это не корректный YAML/JSON: {exc}")]) from None


@cli.command("completion")
@click.argument("shell", type=click.Choice(["bash", "zsh", "fish"]))
def completion_command(shell: str) -> None:
    """Print the completion script for bash, zsh or fish.

    Add `eval "$(planerka-sync completion bash)"` to ~/.bashrc (zsh: ~/.zshrc), or save the fish
    one as ~/.config/fish/completions/planerka-sync.fish."""
    from click.shell_completion import get_completion_class

    completion_class = get_completion_class(shell)
    assert completion_class is not None  # click knows the three shells the choice allows
    click.echo(completion_class(cli, {}, "planerka-sync", "_PLANERKA_SYNC_COMPLETE").source())


