"""webhooks install, list, remove: in the config's language; `list --json` for scripts."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from planerka_sync.cli.base import (
    AppContext,
    cli,
    emit_json,
    escape,
    json_option,
    open_app,
    out_console,
    t,
)

if TYPE_CHECKING:
    from planerka_sync.domain.model import Webhook

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
    hook, url = escape(done.webhook.id), escape(done.webhook.url)
    out_console.print("[green]✔[/] " + t(f"webhook {hook} delivers to {url}",
                                         f"вебхук {hook} доставляет события на {url}"))
    if app.config.tracker.kind == "trello" and app.config.serve.trello_app_secret is None:
        out_console.print("[yellow]![/] " + t(
            "set serve.trello_app_secret (the Secret at https://trello.com/app-key): serve "
            "refuses deliveries it cannot verify",
            "задайте serve.trello_app_secret (Secret на https://trello.com/app-key): serve "
            "отклоняет доставки, которые не может проверить"))


@webhooks_group.command("list")
@json_option("webhooks-list")
@click.pass_obj
def webhooks_list(app: AppContext, as_json: bool) -> None:
    """planerka-sync's webhooks registered with the tracker."""
    from planerka_sync.service import webhook_setup

    state = open_app(app)
    try:
        hooks = webhook_setup.listed(state)
    finally:
        state.store.close()
    if as_json:
        emit_json({"tracker": tracker_name(app), "webhooks": [hook_json(h) for h in hooks]})
        return
    if not hooks:
        out_console.print(t("no planerka-sync webhooks; `planerka-sync webhooks install` adds "
                            "one",
                            "вебхуков planerka-sync нет; добавить: "
                            "`planerka-sync webhooks install`"))
    for hook in hooks:
        mark = (f"[green]{t('active', 'активен')}[/]" if hook.active
                else f"[red]{t('inactive', 'не активен')}[/]")
        watches = t(f"board {hook.watches}", f"доска {hook.watches}") \
            if app.config.tracker.kind == "trello" else f"JQL: {hook.watches}"
        out_console.print(f"{escape(hook.id)}  {mark}  {escape(hook.url)}  ({escape(watches)})")


def tracker_name(app: AppContext) -> str:
    tracker = app.config.tracker
    if tracker.kind == "trello":
        return "trello"
    return "jira-cloud" if tracker.deployment == "cloud" else "jira-dc"


def hook_json(hook: Webhook) -> dict[str, Any]:
    return {"id": hook.id, "url": hook.url, "watches": hook.watches, "active": hook.active}


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
        out_console.print(t(f"removed {escape(hook.id)} ({escape(hook.url)})",
                            f"удалён {escape(hook.id)} ({escape(hook.url)})"))
    if not removed:
        out_console.print(t("nothing to remove", "удалять нечего"))


