"""The long-running commands: run and serve."""

from __future__ import annotations

import sys
import threading
from typing import TYPE_CHECKING, Any, Literal

import click

from planerka_sync.cli.base import (
    AppContext,
    cli,
    log_level,
    open_app,
    t,
)

if TYPE_CHECKING:
    pass

@cli.command("run")
@click.option("--once", is_flag=True, help="Run what is due now and exit (cron, CronJob).")
@click.option("--http", "http_address", metavar="HOST:PORT",
              help="Also serve what `serve` does (webhooks, the Power-Up, /healthz, /metrics) "
                   "here, e.g. 127.0.0.1:9108.")
@click.option("--log-format", type=click.Choice(["text", "json"]), default="text",
              show_default=True)
@click.pass_obj
def run_command(app: AppContext, once: bool, http_address: str | None, log_format: str) -> None:
    """The daemon: prepare, progress and sync every series on schedule."""
    import logging
    import signal

    from planerka_sync.daemon import Daemon
    from planerka_sync.observability import instrument_trackers
    from planerka_sync.trackers.http import STOPPING

    configure_logging(app, log_format)
    state = open_app(app)  # an unreachable DB stops here with a clear error
    daemon = Daemon(state)
    stop_counting = instrument_trackers()
    server = start_web_for(app, http_address, daemon.health) if http_address else None

    def stop(signum: int, _frame: object) -> None:
        logging.getLogger("planerka_sync.daemon").info(
            "signal %s: stopping after the tracker call in flight", signum)
        # between steps, and between tracker calls and in retry waits (Kubernetes grants 20 s)
        set_from_signal(daemon.stop, STOPPING)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    logging.getLogger("planerka_sync.daemon").info(
        "planerka-sync run as %s: %d series, state %s", daemon.holder,
        len(state.config.meetings), state.store.url)
    try:
        daemon.run(once=once)
    finally:
        stop_counting()
        if server is not None:
            server.stop()
        state.store.close()


def set_from_signal(*events: threading.Event) -> None:
    """Set events from a signal handler. The handler runs in the main thread, which may be
    holding an event's internal lock at that instant (entering or leaving ``wait``); setting it
    there would deadlock, so a short-lived thread sets them once the lock is free."""
    def set_all() -> None:
        for event in events:
            event.set()

    threading.Thread(target=set_all, daemon=True).start()


def configure_logging(app: AppContext, log_format: str) -> None:
    """The group's logging setup again, in the chosen format and at the daemons' level; the
    secrets already known are kept (observability.setup_logging)."""
    from planerka_sync.observability import secrets_of, setup_logging

    fmt: Literal["text", "json"] = "json" if log_format == "json" else "text"
    setup_logging(log_level(app.verbose, daemon=True), fmt, secrets_of(app.config))


def start_web_for(app: AppContext, address: str, health: Any = None, flag: str = "--http"
                  ) -> Any:
    """The web app of `serve` on ``address``, its worker using its own tracker client."""
    import logging

    from planerka_sync.web.app import start_web

    running = start_web(app.config, lambda: open_app(app), address, health=health, flag=flag)
    logging.getLogger("planerka_sync.web").info(
        "serving webhooks, the Power-Up, /healthz and /metrics at %s", running.url)
    return running


@cli.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on (0.0.0.0 for every interface).")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(0, 65535),
              help="Port to listen on (0 picks a free one).")
@click.option("--log-format", type=click.Choice(["text", "json"]), default="text",
              show_default=True)
@click.pass_obj
def serve_command(app: AppContext, host: str, port: int, log_format: str) -> None:
    """Receive Trello/Jira webhooks and serve the Trello Power-Up and its API.

    Decisions typed in a meeting item become tasks within seconds; the daemon (`run`) stays
    the safety net. Stop with Ctrl+C or SIGTERM.
    """
    import signal

    from planerka_sync.observability import instrument_trackers
    from planerka_sync.service.webhook_setup import callback_url
    from planerka_sync.web.app import public_base

    configure_logging(app, log_format)
    shown = f"[{host}]" if ":" in host else host
    running = start_web_for(app, f"{shown}:{port}", flag="--host/--port")
    stop_counting = instrument_trackers()
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: set_from_signal(stopped))
    signal.signal(signal.SIGINT, lambda *_: set_from_signal(stopped))
    base = public_base(app.config, running.url)
    click.echo(t(f"planerka-sync serve: listening on {running.url}",
                 f"planerka-sync serve: принимает запросы на {running.url}"), nl=True)
    click.echo(t(f"  webhooks: {callback_url(app.config, base)}",
                 f"  вебхуки: {callback_url(app.config, base)}"))
    click.echo(t(f"  Power-Up connector: {base}/powerup/index.html",
                 f"  адрес Power-Up: {base}/powerup/index.html"))
    sys.stdout.flush()
    try:
        stopped.wait()
    finally:
        stop_counting()
        running.stop()


