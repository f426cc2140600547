"""planerka-sync demo: the whole loop on a built-in sandbox."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from planerka_sync.cli.base import (
    cli,
    escape,
    out_console,
)
from planerka_sync.cli.kpi import print_pulls
from planerka_sync.cli.meetings import show_prepared, show_synced
from planerka_sync.errors import PlanerkaError
from planerka_sync.messages import t, use_config_locale

if TYPE_CHECKING:
    pass

@cli.command("demo")
@click.option("--tracker", "flavour", type=click.Choice(["trello", "jira-cloud", "jira-dc"]),
              default="trello", show_default=True, help="Which sandbox tracker to run against.")
@click.option("--webhooks", is_flag=True,
              help="Show the event-driven path: the tracker calls `serve` back and decisions "
                   "become tasks within seconds, no polling.")
def demo_command(flavour: str, webhooks: bool) -> None:
    """The whole loop against a built-in sandbox tracker: prepare, decisions, tasks, progress."""
    from datetime import timedelta

    from planerka_sync import service
    from planerka_sync.demo import DEMO_DECISIONS, DEMO_SHEET, running_demo
    from planerka_sync.domain.model import ItemRef
    from planerka_sync.render.plain import to_plain
    from planerka_sync.service.kpi import kpis_of, pull_sources
    from planerka_sync.service.progress import progress
    from planerka_sync.service.status import sync

    with running_demo(flavour) as demo:
        app, real_now = demo.app, demo.app.clock()
        use_config_locale(app.locale)  # the demo team's language, as a config read would set
        step(t("1. planerka-sync prepare — the next meeting with its agenda",
               "1. planerka-sync prepare — следующая встреча с повесткой"))
        [first] = service.prepare(app)
        show_prepared([first], dry_run=False)
        out_console.print(first.agenda_text, markup=False, highlight=False)
        lines = DEMO_DECISIONS[app.locale]
        serving = demo.serve() if webhooks else None
        if serving is not None:
            out_console.print(t(f"\n  planerka-sync serve is listening at {serving.url}; the "
                                f"{flavour} sandbox's webhook points at it",
                                f"\n  planerka-sync serve принимает запросы на {serving.url}; "
                                f"вебхук песочницы {flavour} направлен туда"))
        try:
            step(t("2. In the meeting, the team records decisions in a comment",
                   "2. На встрече команда записывает решения в комментарий"))
            out_console.print("\n".join(f"  {escape(line)}" for line in lines))
            if first.ref is not None:
                demo.write_decisions(first.ref, lines)
            if serving is not None and first.ref is not None:
                created = show_webhook_path(demo, first.ref, len(lines), flavour)
            else:
                step(t("3. planerka-sync sync — decisions become tasks",
                       "3. planerka-sync sync — решения становятся задачами"))
                _, reports = sync(app)
                show_synced(reports, app.config, dry_run=False)
                created = [row for report in reports for row in report.created]
        finally:
            if serving is not None:
                serving.stop()
        step(t("4. During the week: one task is done; the KPIs fill themselves from Yandex "
               "Metrica, Yandex Direct and the team's sheet",
               "4. За неделю: одна задача выполнена; KPI сами приходят из Яндекс Метрики, "
               "Яндекс Директа и таблицы команды"))
        if created:
            demo.finish_task(ItemRef(created[0].task_id or "", created[0].task_url or "",
                                     created[0].task_key))
            out_console.print(t("  done: ", "  выполнена: ") + escape(created[0].title or ""))
        start = first.plan.occurrence.starts_at
        # The period up to the first meeting and the one up to the next: the next meeting's
        # KPI comment compares its own period with the one before. Nobody types a number.
        series = first.plan.series
        ends = [(start + timedelta(days=7 * weeks)).date() for weeks in (0, 1)]
        demo.write_sheet(dict(zip(ends, DEMO_SHEET, strict=True)))
        pulls = pull_sources(app, series, ends[-1], count=2)
        print_pulls(kpis_of(app, series), pulls, app.locale, dry_run=False)
        step(t("5. Before the next meeting: prepare, then progress + KPIs (comment and chart)",
               "5. Перед следующей встречей: prepare, затем progress и KPI (комментарий и "
               "график)"))
        app.clock = lambda: start + timedelta(days=3)
        show_prepared(service.prepare(app), dry_run=False)
        app.clock = lambda: start + timedelta(days=7) - timedelta(hours=1)
        for outcome in progress(app):
            out_console.print(to_plain(outcome.document), markup=False, highlight=False)
            if outcome.kpi is not None:
                out_console.print(to_plain(outcome.kpi.document), markup=False, highlight=False)
        app.clock = lambda: real_now
        requests_sent = len(demo.server.emulator.log)
        out_console.print(t(f"\n{flavour} sandbox at {demo.server.url}: "
                            f"{requests_sent} requests. Run it yourself with "
                            f"`planerka-sync sandbox --tracker {flavour}`.",
                            f"\nПесочница {flavour} на {demo.server.url}: запросов — "
                            f"{requests_sent}. Запустите её сами: "
                            f"`planerka-sync sandbox --tracker {flavour}`."))


def show_webhook_path(demo: Any, meeting: Any, count: int, flavour: str) -> list[Any]:
    """`demo --webhooks`, step 3: wait for the tasks the webhook makes, then let the poller
    (the safety net) show there is nothing left for it."""
    import time

    from planerka_sync.service.status import sync

    tracker = "Trello" if flavour == "trello" else "Jira"
    step(t(f"3. {tracker} calls planerka-sync serve back (a signed webhook) — no polling",
           f"3. {tracker} сам вызывает planerka-sync serve (подписанный вебхук) — без опроса"))
    started = time.monotonic()
    created = demo.wait_for_tasks(meeting, count)
    elapsed = time.monotonic() - started
    for row in created:
        out_console.print(f"  [green]✔[/] {escape(row.title or '')} → "
                          f"{escape(row.task_key or row.task_url or '')}")
    out_console.print(t(f"  {len(created)} of {count} task(s) created {elapsed:.1f} s after the "
                        "comment, by the webhook",
                        f"  задач создано вебхуком: {len(created)} из {count}, через "
                        f"{elapsed:.1f} с после комментария"))
    _, reports = sync(demo.app)
    again = sum(len(r.created) for r in reports)
    out_console.print(t(f"  the poller's next sync, the safety net, created {again} more",
                        f"  следующая страховочная синхронизация по расписанию создала ещё: "
                        f"{again}"))
    if len(created) < count:
        raise PlanerkaError(t(f"only {len(created)} of {count} tasks arrived by webhook; "
                              "see the log with -v",
                              f"по вебхуку пришло задач: только {len(created)} из {count}; "
                              "подробности в журнале с -v"))
    return list(created)


def step(title: str) -> None:
    out_console.rule(f"[bold]{escape(title)}[/]", align="left")


