"""Every time the command line shows a Moscow team is Moscow time, labelled as such.

The lead's commands run as subprocesses against the Trello sandbox over HTTP, with the clock of
the use cases stopped at known moments (tests/e2e/clock_cli.py). Every time of day in what they
print - stdout, errors, log lines - must be the Moscow time of something known: the meeting
(10:00-11:00, its agenda's slots), a lease's start and expiry, the moment a log line was written.
The same moments in UTC (07:xx) must not appear, nor the word UTC.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import requests

from planerka_sync.sandbox.server import SandboxServer
from planerka_sync.service import leases
from planerka_sync.store import open_store
from tests.e2e.test_cli_prepare import config_file

ROOT = Path(__file__).resolve().parents[2]
MOSCOW = ZoneInfo("Europe/Moscow")
AUTH = {"key": "k", "token": "t"}

BEFORE = datetime(2026, 12, 4, 9, tzinfo=UTC)  # Fri 12:00 Moscow: prepare Monday's meeting
MIDNIGHT = datetime(2026, 12, 6, 22, 30, tzinfo=UTC)  # Mon 01:30 Moscow, still Sunday in UTC
AFTER = datetime(2026, 12, 7, 9, tzinfo=UTC)  # Mon 12:00 Moscow: the meeting (10:00) is over
WEEKEND = datetime(2026, 12, 13, 9, tzinfo=UTC)  # Sun: prepare the next one
MORNING = datetime(2026, 12, 14, 6, 30, tzinfo=UTC)  # Mon 09:30 Moscow: progress before it
LEASED = datetime(2026, 12, 14, 6, 31, 5, tzinfo=UTC)  # another process took the status pull

TIME = re.compile(r"(?<![\d:.])(\d{1,2}):(\d{2})(?::(\d{2}))?(?![\d:])")
LABELLED = re.compile(r"\d{1,2}:\d{2}(?::\d{2})? \(([^()]*[+-]\d{2}:\d{2})\)")
OFFSET = re.compile(r"\([^()]*[+-]\d{2}:\d{2}\)")  # "(Москва, +03:00)", checked above
URL = re.compile(r"https?://\S+")


@dataclass
class Session:
    """One team's config and state DB; every command's output is kept."""

    path: Path
    outputs: list[tuple[str, str]] = field(default_factory=list)  # (command, stdout + stderr)

    def run(self, now: datetime, *args: str, lease_wait: float | None = None
            ) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "COLUMNS": "200", "PLANERKA_TEST_NOW": now.isoformat()}
        if lease_wait is not None:
            env["PLANERKA_TEST_LEASE_WAIT"] = str(lease_wait)
        result = subprocess.run(
            [sys.executable, "-m", "tests.e2e.clock_cli", "-c", str(self.path), *args],
            capture_output=True, text=True, timeout=120, env=env, cwd=ROOT, check=False)
        self.outputs.append((" ".join(args), result.stdout + result.stderr))
        return result

    def ok(self, now: datetime, *args: str) -> str:
        result = self.run(now, *args)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "Traceback" not in result.stderr
        return result.stdout


def meeting_card(server: SandboxServer, title_part: str) -> dict:
    board = requests.get(f"{server.url}/1/members/me/boards",
                         params={**AUTH, "lists": "open"}, timeout=5).json()[0]
    meetings = next(lst for lst in board["lists"] if lst["name"] == "Планёрки")
    cards = requests.get(f"{server.url}/1/lists/{meetings['id']}/cards",
                         params={**AUTH, "fields": "name,due,isTemplate"}, timeout=5).json()
    return next(c for c in cards if title_part in c["name"] and not c["isTemplate"])


def moscow(moment: datetime) -> time:
    return moment.astimezone(MOSCOW).time().replace(microsecond=0)


def allowed(clock: time, started: datetime, finished: datetime) -> bool:
    """A time of day the output may show: the meetings' hour (10:00-11:00 Moscow, its agenda's
    slots included), the lease's start and end, or when a log line was written (Moscow)."""
    if time(10, 0) <= clock <= time(11, 0):
        return True
    if clock in (moscow(LEASED), moscow(LEASED + leases.WORK_TTL)):
        return True
    days = {moment.astimezone(MOSCOW).date() for moment in (started, finished)}
    return any(started - timedelta(minutes=1) <= datetime.combine(day, clock, tzinfo=MOSCOW)
               <= finished + timedelta(minutes=1) for day in days)


def test_every_time_the_cli_prints_for_a_moscow_team_is_moscow_time(
    tmp_path: Path, trello: SandboxServer
) -> None:
    started = datetime.now(UTC).replace(microsecond=0)
    team = Session(config_file(tmp_path, trello))

    dry = team.ok(BEFORE, "prepare", "marketing-weekly", "--for", "2026-12-07", "--dry-run")
    assert "пн, 7 декабря 2026, 10:00" in dry  # the agenda's "when"
    prepared = team.ok(BEFORE, "prepare", "marketing-weekly", "--for", "2026-12-07")
    assert "07.12.2026 10:00" in prepared  # the item's title
    card = meeting_card(trello, "07.12.2026")
    assert card["due"] == "2026-12-07T07:00:00.000Z"  # for Trello a moment: 10:00 Moscow
    requests.post(f"{trello.url}/1/cards/{card['id']}/actions/comments", params={
        **AUTH, "text": "Решение: Подготовить отчёт по SEO, отв. Олег, до 11.12"},
        timeout=5).raise_for_status()

    planned = team.ok(AFTER, "sync", "--dry-run")
    assert "marketing-weekly 07.12.2026 10:00 (Москва, +03:00) → " in planned
    assert "будет создана  Подготовить отчёт по SEO (oleg, 11.12.2026)" in planned
    synced = team.ok(AFTER, "sync")
    assert "marketing-weekly 07.12.2026 10:00 (Москва, +03:00) → " in synced
    assert "создана  Подготовить отчёт по SEO (oleg, 11.12.2026) → " in synced
    decided = team.ok(AFTER, "decide", "marketing-weekly", "Обновить лендинг", "--owner",
                      "maria", "--due", "2026-12-18", "--meeting", "2026-12-07")
    assert "создана  Обновить лендинг (maria, 18.12.2026) → " in decided
    team.ok(AFTER, "check")
    team.ok(AFTER, "kpi", "record", "sessions=18000", "conversions=450",
            "--period-end", "2026-11-29")
    # No --period-end: today is the team's date, 7 Dec at 01:30 Moscow (6 Dec in UTC).
    recorded = team.ok(MIDNIGHT, "kpi", "record", "sessions=20000", "conversions=500")
    assert "период до 07.12.2026" in recorded  # the team's date, in its words
    team.ok(AFTER, "kpi", "show")

    assert "14.12.2026 10:00" in team.ok(WEEKEND, "prepare")
    team.ok(MORNING, "progress", "--dry-run")
    team.ok(MORNING, "progress")
    team.ok(MORNING, "-v", "sync")
    ran = team.run(MORNING, "-v", "run", "--once")
    assert ran.returncode == 0, ran.stderr
    assert re.search(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} \(Moscow, \+03:00\) INFO ",
                     ran.stderr, re.M), ran.stderr  # the daemon's log lines

    # Another process holds the status pull: the Busy error says since and until when.
    store = open_store(f"sqlite:///{tmp_path / 'state.db'}")
    try:
        assert leases.take(store, "status:trello:Marketing", "another-replica", LEASED,
                           leases.WORK_TTL)
    finally:
        store.close()
    busy = team.run(LEASED + timedelta(seconds=10), "sync", lease_wait=0)
    assert busy.returncode == 5, busy.stdout + busy.stderr
    assert ("(с 09:31:05 (Москва, +03:00); блокировка снимется в 09:31:35 (Москва, +03:00)"
            in busy.stderr)

    finished = datetime.now(UTC)
    seen = 0
    for command, output in team.outputs:
        text = URL.sub("<url>", output)
        assert "UTC" not in text, (command, text)
        for label in LABELLED.findall(text):
            assert label in ("Москва, +03:00", "Moscow, +03:00"), (command, label, text)
        for match in TIME.finditer(OFFSET.sub("(offset)", text)):
            hour, minute, second = (int(g or 0) for g in match.groups())
            clock = time(hour, minute, second)
            assert allowed(clock, started, finished), (command, match.group(0), text)
            seen += 1
    assert seen >= 20  # the check looked at something: agendas, titles, the lease, log lines
