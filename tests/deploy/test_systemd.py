"""The systemd units: `systemd-analyze verify` where available, plus static checks everywhere."""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
from datetime import datetime
from pathlib import Path

import pytest

from tests.deploy.common import DEPLOY

UNITS = ["planerka-sync.service", "planerka-sync-once.service", "planerka-sync-once.timer"]
EXECUTABLE = "/usr/local/bin/planerka-sync"


def unit(name: str) -> dict[str, dict[str, list[str]]]:
    """[Section] -> key -> values (a key may repeat, e.g. Environment=)."""
    sections: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] = {}
    for line in (DEPLOY / name).read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], {})
            continue
        key, sep, value = line.partition("=")
        assert sep, f"{name}: not Key=value: {line!r}"
        current.setdefault(key.strip(), []).append(value.strip())
    return sections


def one(section: dict[str, list[str]], key: str) -> str:
    values = section[key]
    assert len(values) == 1, (key, values)
    return values[0]


@pytest.mark.skipif(
    shutil.which("systemd-analyze") is None,
    reason="systemd-analyze is not installed (Debian package `systemd`)",
)
def test_systemd_analyze_verify(tmp_path: Path) -> None:
    # verify also checks that ExecStart's program exists and is executable; planerka-sync is not
    # installed at /usr/local/bin on a test machine, so verify copies of the units in which that
    # path is replaced by an executable that exists (`true`). Everything else is verified as is.
    stand_in = shutil.which("true")
    assert stand_in
    for name in UNITS:
        text = (DEPLOY / name).read_text(encoding="utf-8")
        (tmp_path / name).write_text(text.replace(EXECUTABLE, stand_in), encoding="utf-8")
    result = subprocess.run(
        ["systemd-analyze", "verify", *(str(tmp_path / name) for name in UNITS)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    # Unknown keys and unparsable values are only warnings (exit code 0): fail on those too.
    ours = [line for line in output.splitlines() if any(name in line for name in UNITS)]
    assert ours == [], "\n".join(ours)


def test_daemon_unit() -> None:
    service = unit("planerka-sync.service")["Service"]
    assert one(service, "Type") == "simple"
    assert one(service, "User") == "planerka"
    assert one(service, "EnvironmentFile") == "/etc/planerka-sync/env"
    assert one(service, "ExecStart") == (
        f"{EXECUTABLE} --config /etc/planerka-sync/planerka.yaml run --http 127.0.0.1:9108"
    )
    assert one(service, "Restart") == "on-failure"
    assert one(service, "KillSignal") == "SIGTERM"
    assert int(one(service, "TimeoutStopSec")) > 10  # the daemon exits within 10 s of SIGTERM
    for key in ("NoNewPrivileges", "ProtectHome", "PrivateTmp"):
        assert one(service, key) == "yes", key
    assert one(service, "ProtectSystem") == "strict"
    assert one(service, "StateDirectory") == "planerka-sync"
    assert "/var/lib/planerka-sync" in one(service, "ReadWritePaths").split()
    assert "multi-user.target" in unit("planerka-sync.service")["Install"]["WantedBy"]


def test_timer_alternative() -> None:
    once = unit("planerka-sync-once.service")["Service"]
    assert one(once, "Type") == "oneshot"
    assert one(once, "ExecStart").split()[0] == EXECUTABLE
    assert one(once, "ExecStart").endswith(" run --once")
    assert one(once, "EnvironmentFile") == "/etc/planerka-sync/env"
    assert "Restart" not in once
    timer = unit("planerka-sync-once.timer")
    assert one(timer["Timer"], "Unit") == "planerka-sync-once.service"
    assert one(timer["Timer"], "Persistent") == "true"
    assert "timers.target" in timer["Install"]["WantedBy"]


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze missing")
def test_timer_fires_every_five_minutes() -> None:
    spec = one(unit("planerka-sync-once.timer")["Timer"], "OnCalendar")
    result = subprocess.run(
        ["systemd-analyze", "calendar", "--iterations=3", spec],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        env={**os.environ, "LC_ALL": "C", "TZ": "UTC"},
    )
    times = [
        datetime.strptime(line.split(":", 1)[1].strip(), "%a %Y-%m-%d %H:%M:%S %Z")
        for line in result.stdout.splitlines()
        if line.strip().startswith(("Next elapse:", "Iter. #"))
    ]
    assert len(times) == 3, result.stdout
    assert {(b - a).total_seconds() for a, b in itertools.pairwise(times)} == {300.0}
