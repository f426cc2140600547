"""`planerka-sync webhooks install|list|remove`: point the tracker's webhooks at `serve`.

Trello: registered over REST for the board (Trello first checks the URL answers a HEAD).
Jira Data Center: registered through ``/rest/webhooks/1.0/webhook`` when the token is an
administrator's. Jira Cloud: admin webhooks are made in its settings (REST registration is for
Connect/OAuth apps only), so the exact steps and the JSON are printed instead, as they are when
a Data Center token lacks admin rights.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import cast

from planerka_sync.config import Config
from planerka_sync.domain.model import Webhook
from planerka_sync.errors import ConfigError, TrackerAuthError
from planerka_sync.messages import t
from planerka_sync.service.app import App
from planerka_sync.trackers.base import WebhookAdmin
from planerka_sync.trackers.jira import WEBHOOK_EVENTS, WEBHOOK_JQL, webhook_definition

TRELLO_PATH, JIRA_PATH = "/webhooks/trello", "/webhooks/jira"
SECRET_PLACEHOLDER = "<the value of serve.jira_webhook_secret>"


@dataclass(frozen=True)
class Installed:
    webhook: Webhook | None  # None: a person has to do it, following ``steps``
    steps: str | None = None


def callback_url(config: Config, base: str | None) -> str:
    """Where the tracker delivers: ``base`` (or serve.public_url) + the tracker's path."""
    root = (base or config.serve.public_url or "").rstrip("/")
    if not root.startswith(("http://", "https://")):
        raise ConfigError([t("webhooks: the address the tracker reaches `serve` at is unknown; "
                             "set serve.public_url in the config or pass --url https://...",
                             "webhooks: неизвестен адрес, по которому трекер достучится до "
                             "`serve`; задайте `serve.public_url` в конфиге или передайте "
                             "--url https://...")])
    return root + (TRELLO_PATH if config.tracker.kind == "trello" else JIRA_PATH)


def install(app: App, base: str | None = None) -> Installed:
    config = app.config
    url = callback_url(config, base)
    tracker = config.tracker
    if tracker.kind == "jira" and tracker.deployment == "cloud":
        return Installed(None, jira_cloud_steps(config, url))
    secret = config.serve.jira_webhook_secret
    try:
        hook = _admin(app).add_webhook(url, secret.get_secret_value() if secret else None)
    except TrackerAuthError:
        if tracker.kind == "trello":
            raise
        return Installed(None, t("Your Jira token cannot register webhooks (that takes a Jira "
                                 "administrator). Ask an administrator to do this:\n\n",
                                 "Ваш токен Jira не может регистрировать вебхуки (для этого "
                                 "нужен администратор Jira). Попросите администратора "
                                 "сделать следующее:\n\n")
                         + jira_cloud_steps(config, url, data_center=True))
    return Installed(hook)


def listed(app: App) -> list[Webhook]:
    return _admin(app).webhooks()


def remove(app: App, webhook_ids: list[str] | None = None) -> list[Webhook]:
    """Remove the given webhooks, or every planerka-sync webhook when none are given."""
    admin = _admin(app)
    known = admin.webhooks()
    chosen = known if not webhook_ids else [h for h in known if h.id in webhook_ids]
    missing = set(webhook_ids or []) - {h.id for h in chosen}
    if missing:
        raise ConfigError([t(f"webhooks remove: no planerka-sync webhook {m!r}; "
                             "`planerka-sync webhooks list` shows them",
                             f"webhooks remove: вебхука planerka-sync {m!r} нет; список "
                             "вебхуков: `planerka-sync webhooks list`") for m in sorted(missing)])
    for hook in chosen:
        admin.remove_webhook(hook.id)
    return chosen


def jira_cloud_steps(config: Config, url: str, *, data_center: bool = False) -> str:
    tracker = config.tracker
    site = tracker.url.rstrip("/")
    where = (t("Administration → System → WebHooks", "Администрирование → Система → Веб-хуки")
             if data_center else
             t("Settings (⚙) → System → WebHooks", "Настройки (⚙) → Система → Веб-хуки"))
    definition = webhook_definition(url, SECRET_PLACEHOLDER)
    secret_step = t("Secret: the same value as serve.jira_webhook_secret in planerka-sync's "
                    "config (e.g. $PLANERKA_JIRA_WEBHOOK_SECRET)",
                    "Секрет: то же значение, что `serve.jira_webhook_secret` в конфиге "
                    "planerka-sync (например, $PLANERKA_JIRA_WEBHOOK_SECRET)")
    if config.serve.jira_webhook_secret is None:
        secret_step += t(" — not set yet: set it first, or the deliveries are refused",
                         " — он ещё не задан: задайте его сначала, иначе доставки будут "
                         "отклонены")
    events = ", ".join(WEBHOOK_EVENTS)
    return "\n".join([
        t("A Jira administrator creates the webhook once:",
          "Администратор Jira один раз создаёт вебхук:"),
        t(f"  1. Open {site}/plugins/servlet/webhooks ({where}) → Create a WebHook.",
          f"  1. Откройте {site}/plugins/servlet/webhooks ({where}) → «Создать веб-хук»."),
        t("  2. Name: planerka-sync", "  2. Имя: planerka-sync"),
        f"  3. URL: {url}",
        f"  4. {secret_step}",
        t(f"  5. Events: issue created, updated, deleted; comment created, updated, deleted "
          f"({events})",
          f"  5. События: задача создана, изменена, удалена; комментарий создан, изменён, "
          f"удалён ({events})"),
        t(f"  6. JQL filter: {WEBHOOK_JQL}", f"  6. Фильтр JQL: {WEBHOOK_JQL}"),
        t("  7. Leave “Exclude body” off, and save.",
          "  7. Оставьте флажок «Исключить тело» выключенным и сохраните."),
        "",
        t("The same webhook as JSON (for your records or the REST API):",
          "Тот же вебхук в виде JSON (для справки или для REST API):"),
        json.dumps(definition, indent=2, ensure_ascii=False),
    ])


def _admin(app: App) -> WebhookAdmin:
    tracker = app.tracker
    if not all(hasattr(tracker, m) for m in ("webhooks", "add_webhook", "remove_webhook")):
        raise ConfigError([t(f"webhooks: the {tracker.kind} adapter cannot manage webhooks",
                             f"webhooks: адаптер {tracker.kind} не умеет управлять вебхуками")])
    return cast(WebhookAdmin, tracker)
