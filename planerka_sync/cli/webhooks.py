"""webhooks install, list, remove."""

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

if TYPE_CHECKING:
    pass

@cli.group("webhooks")
def webhooks_group() -> None:
    """Point the tracker's webhooks at `planerka-sync serve`."""


@webhooks_group.command("install")
@click.option("--url", "base", metavar="URL",
              help="Where the tracker reaches serve, e.g. https://planerka.example.org "
                   "(default: serve.public_url).")
@click.pass_obj
def webhooks_install(app: AppContext, base: str | None) -> None:
    """Register the webhook (Trello, Jira Data Center) or print the admin steps (Jira Cloud)."""
    from planerka_sync.service import webhook_setup

    state = open_app(app)
    try:
        done = webhook_setup.install(state, base)
    finally:
        state.store.close()
    if done.webhook is None:
        click.echo(done.steps)
        return
    out_console.print(f"[green]✔[/] webhook {escape(done.webhook.id)} delivers to "
                      f"{escape(done.webhook.url)}")
    if app.config.tracker.kind == "trello" and app.config.serve.trello_app_secret is None:
        out_console.print("[yellow]![/] set serve.trello_app_secret (the Secret at "
                          "https://trello.com/app-key): serve refuses deliveries it cannot verify")


@webhooks_group.command("list")
@click.pass_obj
def webhooks_list(app: AppContext) -> None:
    """planerka-sync's webhooks registered with the tracker."""
    from planerka_sync.service import webhook_setup

    state = open_app(app)
    try:
        hooks = webhook_setup.listed(state)
    finally:
        state.store.close()
    if not hooks:
        out_console.print("no planerka-sync webhooks; `planerka-sync webhooks install` adds one")
    for hook in hooks:
        mark = "[green]active[/]" if hook.active else "[red]inactive[/]"
        out_console.print(f"{escape(hook.id)}  {mark}  {escape(hook.url)}  "
                          f"({escape(hook.watches)})")


@webhooks_group.command("remove")
@click.argument("webhook_ids", nargs=-1, metavar="[ID]...")
@click.pass_obj
def webhooks_remove(app: AppContext, webhook_ids: tuple[str, ...]) -> None:
    """Remove the given webhooks (default: every planerka-sync webhook)."""
    from planerka_sync.service import webhook_setup

    state = open_app(app)
    try:
        removed = webhook_setup.remove(state, list(webhook_ids) or None)
    finally:
        state.store.close()
    for hook in removed:
        out_console.print(f"removed {escape(hook.id)} ({escape(hook.url)})")
    if not removed:
        out_console.print("nothing to remove")


