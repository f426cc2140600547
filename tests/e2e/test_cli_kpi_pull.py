"""`planerka-sync kpi pull` as a lead runs it, against the analytics sandboxes over HTTP: Yandex
Metrica, Yandex Direct and a sheet in a file beside the config. What it prints as JSON is what
it stored, a source that fails is named while the others fill their metrics, a dry run stores
nothing, and `sandbox --service` serves each API."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from planerka_sync.errors import INCOMPLETE_EXIT_CODE
from planerka_sync.sandbox import make_emulator
from planerka_sync.sandbox.server import SandboxServer
from planerka_sync.sandbox.yandex_metrica import COUNTER, TOKEN
from tests.e2e.cli_json import valid_json
from tests.e2e.test_cli_prepare import config_file, run
from tests.e2e.test_kill_and_stop import query

SERIES = "marketing-weekly"


@pytest.fixture
def services() -> Iterator[dict[str, SandboxServer]]:
    servers = {kind: SandboxServer(make_emulator(kind)).start()
               for kind in ("yandex-metrica", "yandex-direct")}
    try:
        yield servers
    finally:
        for server in servers.values():
            server.stop()


def team(tmp_path: Path, trello: SandboxServer, services: dict[str, SandboxServer],
         direct_token: str = "direct-token") -> Path:
    path = config_file(tmp_path, trello)
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    raw["kpi_sources"] = [
        {"kind": "yandex-metrica", "token": TOKEN, "counter": COUNTER, "goals": [1001],
         "url": services["yandex-metrica"].url, "timeout": 5},
        {"kind": "yandex-direct", "token": direct_token, "url": services["yandex-direct"].url,
         "timeout": 5, "max_wait": 0},
        {"kind": "sheet", "url": "kpi-sheet.csv",  # relative: beside the config, not the cwd
         "metrics": {"followers": "followers", "sessions": ""}},
    ]
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return path


def pull(config: Path, *args: str) -> tuple[int, dict[str, Any]]:
    result = subprocess.run([sys.executable, "-m", "planerka_sync", "-c", str(config), "kpi",
                             "pull", "--json", *args], capture_output=True, text=True,
                            timeout=120, cwd="/", check=False)
    assert "Traceback" not in result.stderr, result.stderr
    return result.returncode, valid_json("kpi-pull", result.stdout)


def by_source(payload: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [p for p in payload["pulls"] if p["source"] == kind]


def test_pull_fills_each_source_s_metrics_for_each_period(
        tmp_path: Path, trello: SandboxServer, services: dict[str, SandboxServer]) -> None:
    config = team(tmp_path, trello, services)
    code, planned = pull(config, "--dry-run", "--periods", "2")
    assert query(config, "SELECT metric FROM kpi_values") == []  # a dry run stores nothing
    ends = sorted({p["period"]["end"] for p in planned["pulls"]})
    assert len(ends) == 2
    (tmp_path / "kpi-sheet.csv").write_text(
        "metric,period_end,value\n" + "".join(f"followers,{end},{1000 + n}\n"
                                             for n, end in enumerate(ends)), encoding="utf-8")

    code, pulled = pull(config, "--periods", "2")
    assert code == 0, pulled
    metrica = by_source(pulled, "yandex-metrica")
    assert [p["period"]["end"] for p in metrica] == ends
    for entry in metrica:
        got = {v["id"]: v["value"] for v in entry["values"]}
        assert {"sessions", "unique_visitors", "bounce_rate", "conversions",
                "organic_sessions"} <= set(got)
        assert 0 < got["bounce_rate"] < 1  # a fraction, as "%" metrics are stored
        assert entry["failures"] == []
    sheet = {p["period"]["end"]: {v["id"]: v["value"] for v in p["values"]}
             for p in by_source(pulled, "sheet")}
    assert sheet == {ends[0]: {"followers": 1000}, ends[1]: {"followers": 1001}}
    direct = by_source(pulled, "yandex-direct")
    assert all(any(v["id"] == "ad_spend_search" for v in p["values"]) for p in direct)

    stored = {(metric, str(end)): (value, source) for metric, end, value, source in
              query(config, "SELECT metric, period_end, value, source FROM kpi_values")}
    for entry in pulled["pulls"]:  # what it said it stored is what is stored, by source
        for value in entry["values"]:
            assert stored[(value["id"], entry["period"]["end"])] == (
                pytest.approx(value["value"]), entry["source"])
    again_code, _ = pull(config, "--periods", "2")  # a re-pull replaces, never adds a row
    assert again_code == 0
    assert len(query(config, "SELECT id FROM kpi_values")) == len(stored)


def test_a_failing_source_is_named_and_the_others_fill(
        tmp_path: Path, trello: SandboxServer, services: dict[str, SandboxServer]) -> None:
    config = team(tmp_path, trello, services, direct_token="not-a-direct-token")
    (tmp_path / "kpi-sheet.csv").write_text("metric,period_end,value\n", encoding="utf-8")
    code, pulled = pull(config, "--periods", "1")
    assert code == INCOMPLETE_EXIT_CODE
    [direct] = by_source(pulled, "yandex-direct")
    assert direct["values"] == [] and direct["failures"]
    assert {f["code"] for f in direct["failures"]} == {"denied:401"}
    assert all(f["message"] for f in direct["failures"])  # in the team's words
    [metrica] = by_source(pulled, "yandex-metrica")
    assert metrica["failures"] == [] and metrica["values"]
    human = run("-c", str(config), "kpi", "pull")
    assert human.returncode == INCOMPLETE_EXIT_CODE
    assert "Визиты" in human.stdout and "источник" in human.stdout


@pytest.mark.parametrize("service", ["yandex-metrica", "yandex-direct", "sheet",
                                     "google-analytics-4"])
def test_sandbox_serves_each_analytics_api(service: str) -> None:
    process = subprocess.Popen([sys.executable, "-m", "planerka_sync", "sandbox", "--service",
                                service], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")
        log = requests.get(f"{url}/_sandbox/requests", timeout=5)
        assert log.status_code == 200 and log.json() == []
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_check_names_what_to_fix_for_each_source(
        tmp_path: Path, trello: SandboxServer, services: dict[str, SandboxServer]) -> None:
    """check proves each source with one small request and says, in the team's words, which
    option to look at: a Direct token refused, a sheet that is not there."""
    config = team(tmp_path, trello, services, direct_token="not-a-direct-token")
    result = subprocess.run([sys.executable, "-m", "planerka_sync", "-c", str(config), "check",
                             "--json"], capture_output=True, text=True, timeout=120,
                            check=False)
    assert result.returncode == 1, result.stderr
    rows = {c["id"]: c for c in valid_json("check", result.stdout)["checks"]}
    assert rows["kpi_source:0"]["ok"]  # Metrica answers with this token and counter
    assert not rows["kpi_source:1"]["ok"]
    assert "kpi_sources[1].token" in rows["kpi_source:1"]["advice"]
    assert "Директ" in rows["kpi_source:1"]["advice"]
    assert not rows["kpi_source:2"]["ok"]  # no kpi-sheet.csv beside the config yet
