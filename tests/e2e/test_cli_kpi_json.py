"""The kpi commands for scripts and in the team's language: --json that validates and agrees with
what was recorded and with `kpi show`, `kpi metrics`, positional SERIES (and the old --series),
the day forms of --period-end, and messages in the config's locale."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from planerka_sync.demo import demo_config
from planerka_sync.domain.days import read_day
from planerka_sync.domain.kpi import format_change, format_value
from planerka_sync.sandbox.server import SandboxServer
from planerka_sync.service import App
from planerka_sync.service.kpi import record_failures
from planerka_sync.store import open_store
from planerka_sync.templates import kpi_set
from tests.e2e.cli_json import valid_json
from tests.e2e.test_cli_prepare import config_file

SERIES = "marketing-weekly"


def run(*args: str, lang: str = "ru_RU.UTF-8") -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LC_")}
    env |= {"COLUMNS": "200", "LANG": lang}
    return subprocess.run([sys.executable, "-m", "planerka_sync", *args], capture_output=True,
                          text=True, timeout=120, env=env, check=False)


def ok(*args: str, lang: str = "ru_RU.UTF-8") -> str:
    result = run(*args, lang=lang)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def edited(path: Path, **changes: Any) -> Path:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    raw |= changes
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return path


def two_series(path: Path) -> Path:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    return edited(path, meetings=[raw["meetings"][0], {**raw["meetings"][0], "id": "sales-weekly",
                                                       "title": "Планёрка продаж"}])


def metric_of(shown: dict[str, Any], metric_id: str) -> dict[str, Any]:
    [found] = [m for block in shown["blocks"] for m in block["metrics"] if m["id"] == metric_id]
    return found


def test_record_import_show_json_agree_with_each_other_and_the_text(
        tmp_path: Path, trello: SandboxServer) -> None:
    path = str(config_file(tmp_path, trello))
    recorded = valid_json("kpi-record", ok(
        "-c", path, "kpi", "record", "sessions=18 000", "conversions=450", "followers=1 200",
        "bounce_rate=41,5%", "--period-end", "2026-11-29", "--json"))
    assert recorded == {
        "series": SERIES, "period_end": "2026-11-29",
        "period": {"start": "2026-11-24", "end": "2026-11-30"},
        "recorded": [{"id": "sessions", "name": "Визиты", "unit": "count", "value": 18000},
                     {"id": "conversions", "name": "Число конверсий", "unit": "count",
                      "value": 450},
                     {"id": "followers", "name": "Подписчики", "unit": "count",
                      "value": 1200},
                     {"id": "bounce_rate", "name": "Показатель отказов", "unit": "%",
                      "value": pytest.approx(0.415)}]}
    csv = tmp_path / "week.csv"
    csv.write_text("metric,period_end,value\n"
                   "sessions,2026-12-06,20000\n"
                   "conversions,2026-12-06,500\n"
                   "sesions,2026-12-06,1\n"
                   "bounce_rate,06.12.2026,38%\n", encoding="utf-8")
    imported = run("-c", path, "kpi", "import", str(csv), "--json")
    assert imported.returncode == 1  # a row had a problem; the object is still all of stdout
    answer = valid_json("kpi-import", imported.stdout)
    assert (answer["imported"], answer["skipped"], answer["fatal"]) == (3, 1, False)
    assert (answer["encoding"], answer["delimiter"]) == ("UTF-8", ",")
    assert [(m["id"], m["rows"], m["last_period_end"]) for m in answer["metrics"]] == [
        ("bounce_rate", 1, "2026-12-06"), ("conversions", 1, "2026-12-06"),
        ("sessions", 1, "2026-12-06")]
    [problem] = answer["problems"]
    assert problem["line"] == 4 and "sesions" in problem["message"]
    assert "sessions" in problem["message"] and "kpi metrics" in problem["message"]
    assert "строка 4" in imported.stderr and "Traceback" not in imported.stderr

    # The source of followers failed for the current period (stored as `progress` stores it).
    app = App(demo_config("trello", trello.url), open_store(f"sqlite:///{tmp_path / 'state.db'}"),
              lambda: None)
    try:
        record_failures(app, SERIES, {"followers": "unreachable"}, date(2026, 12, 6), "http-json")
    finally:
        app.store.close()

    shown = valid_json("kpi-show", ok("-c", path, "kpi", "show", "--period-end", "2026-12-05",
                                      "--json"))
    assert shown["period"] == {"start": "2026-12-01", "end": "2026-12-07"}
    assert shown["previous_period"] == {"start": "2026-11-24", "end": "2026-11-30"}
    assert shown["locale"] == "ru" and shown["series"] == SERIES
    kpis = kpi_set("marketing", None)
    assert [b["key"] for b in shown["blocks"]] == [b.key for b in kpis.blocks]
    assert sorted(m["id"] for b in shown["blocks"] for m in b["metrics"]) == sorted(
        m.id for m in kpis.metrics)
    sessions = metric_of(shown, "sessions")
    assert (sessions["value"], sessions["previous"]) == (20000, 18000)
    assert sessions["change"] == pytest.approx(2000 / 18000)
    assert metric_of(shown, "conversion_rate")["value"] == pytest.approx(500 / 20000)
    assert metric_of(shown, "bounce_rate")["value"] == pytest.approx(0.38)
    followers = metric_of(shown, "followers")
    assert followers["value"] is None and followers["status"] == "no_data"
    assert followers["last_known"] == {"value": 1200,
                                       "period": {"start": "2026-11-24", "end": "2026-11-30"}}
    assert followers["source_error"] == {"code": "unreachable", "message": "источник недоступен"}
    assert followers["note"] == "нет данных за период: источник недоступен"
    ltv_cac = metric_of(shown, "ltv_cac")
    assert ltv_cac["target"] == 3 and ltv_cac["value"] is None

    # Every number of the JSON is what `kpi show` prints, formatted the team's way.
    text = ok("-c", path, "kpi", "show", "--period-end", "2026-12-05")
    for block in shown["blocks"]:
        for metric in block["metrics"]:
            if metric["value"] is not None:
                definition = kpis.metric(metric["id"])
                line = next(line for line in text.splitlines()
                            if line.startswith(f"- {metric['name']}:"))
                assert format_value(metric["value"], metric["unit"], "ru",
                                    definition.decimals) in line
                if metric["change"] is not None:
                    assert format_change(metric["change"], "ru") in line
    assert "Подписчики: нет данных за период: источник недоступен; последнее " \
           "значение 1\xa0200 (период до 30.11.2026)" in text


def test_kpi_metrics_lists_every_id_of_the_set(tmp_path: Path, trello: SandboxServer) -> None:
    path = str(config_file(tmp_path, trello))
    listed = valid_json("kpi-metrics", ok("-c", path, "kpi", "metrics", "--json"))
    kpis = kpi_set("marketing", None)
    assert [m["id"] for m in listed["metrics"]] == [m.id for m in kpis.metrics]
    assert listed["kpi_set"] == "marketing" and listed["series"] == SERIES
    by_id = {m["id"]: m for m in listed["metrics"]}
    assert by_id["sessions"] == {
        "id": "sessions", "name": "Визиты", "unit": "count", "better": "higher",
        "target": None, "tolerance": None, "headline": True, "block": "kpi-traffic",
        "block_title": "1. Трафик сайта", "also_in": [], "decimals": None, "formula": None,
        "recordable": True, "sources": ["manual"]}
    assert by_id["ltv_cac"]["target"] == 3 and by_id["ltv_cac"]["sources"] == ["formula"]
    assert by_id["decisions_on_time_pct"]["sources"] == ["tracker"]
    assert not by_id["conversion_rate"]["recordable"]
    assert {m["id"] for m in listed["metrics"] if m["recordable"]} == set(kpis.recordable())
    text = ok("-c", path, "kpi", "metrics")
    for metric in kpis.metrics:
        assert re.search(rf"^{metric.id}\s+{re.escape(metric.label('ru'))}\s", text, re.M), \
            metric.id
    assert "формула: conversions / sessions" in text
    fed = edited(Path(path), kpi_sources=[{"kind": "http-json", "url": "http://127.0.0.1:9/kpi",
                                           "pointers": {"followers": "/followers"}}])
    listed = valid_json("kpi-metrics", ok("-c", str(fed), "kpi", "metrics", "--json"))
    assert {m["id"]: m["sources"] for m in listed["metrics"]}["followers"] == [
        "manual", "http-json"]


def test_an_unknown_metric_points_to_kpi_metrics_and_the_closest_id(
        tmp_path: Path, trello: SandboxServer) -> None:
    path = str(config_file(tmp_path, trello))
    result = run("-c", path, "kpi", "record", "visits=1", "conversion_rate=2")
    assert result.returncode == 2 and result.stdout == ""
    assert ("'visits=1': неизвестный показатель 'visits' (может быть, sessions?); список: "
            "`planerka-sync kpi metrics`") in result.stderr
    assert "conversion_rate (Конверсия сайта) вычисляется по формуле" in result.stderr
    assert "Traceback" not in result.stderr
    as_json = run("-c", path, "kpi", "record", "visits=1", "--json")
    assert as_json.returncode == 2
    error = valid_json("error", as_json.stdout)["error"]
    assert "sessions" in error["message"] and error["exit_code"] == 2


def test_series_positional_or_as_option_and_named_when_there_are_two(
        tmp_path: Path, trello: SandboxServer) -> None:
    path = str(two_series(config_file(tmp_path, trello)))
    csv = tmp_path / "week.csv"
    csv.write_text("metric,period_end,value\nsessions,2026-12-06,700\n", encoding="utf-8")
    for command in (("record", "sessions=1"), ("import", str(csv)), ("show",), ("metrics",)):
        unnamed = run("-c", path, "kpi", *command)
        assert unnamed.returncode == 1, unnamed.stderr
        assert "marketing-weekly, sales-weekly" in unnamed.stderr
        assert f"planerka-sync kpi {command[0]} SERIES" in unnamed.stderr
        assert "Traceback" not in unnamed.stderr
    day = ("--period-end", "2026-12-05")
    ok("-c", path, "kpi", "record", SERIES, "sessions=100", *day)
    ok("-c", path, "kpi", "record", "--series", "sales-weekly", "sessions=200", *day)
    ok("-c", path, "kpi", "import", "sales-weekly", str(csv))
    shown = {series: metric_of(valid_json("kpi-show", ok(
        "-c", path, "kpi", "show", *how, *day, "--json")), "sessions")["value"]
        for series, how in ((SERIES, (SERIES,)), ("sales-weekly", ("--series", "sales-weekly")))}
    assert shown == {SERIES: 100, "sales-weekly": 700}  # 06.12 is the later day of the period
    listed = valid_json("kpi-metrics", ok("-c", path, "kpi", "metrics", "sales-weekly",
                                          "--json"))
    assert listed["series"] == "sales-weekly"
    twice = run("-c", path, "kpi", "show", SERIES, "--series", "sales-weekly")
    assert twice.returncode == 2 and "Traceback" not in twice.stderr
    unknown = run("-c", path, "kpi", "record", "sessions", "100")
    assert unknown.returncode == 1
    assert "нет серии встреч 'sessions'" in unknown.stderr and "sessions=ЗНАЧЕНИЕ" in unknown.stderr


def test_period_end_in_every_form_the_team_writes(tmp_path: Path, trello: SandboxServer) -> None:
    path = str(config_file(tmp_path, trello))

    def recorded_for(day: str) -> str:
        answer = valid_json("kpi-record", ok("-c", path, "kpi", "record", "sessions=1",
                                             "--period-end", day, "--json"))
        return str(answer["period_end"])

    assert recorded_for("2026-12-05") == recorded_for("05.12.2026") == "2026-12-05"
    # Without a year, the nearest such day (05.12 is 2026-12-05 from June 2026 to June 2027).
    assert recorded_for("05.12") == read_day("05.12", date.today()).isoformat()
    soon = date.today() + timedelta(days=10)
    assert recorded_for(f"{soon:%d.%m}") == soon.isoformat()
    periods = {day: valid_json("kpi-show", ok("-c", path, "kpi", "show", "--period-end", day,
                                              "--json"))["period"]
               for day in ("2026-12-05", "05.12.2026", "2026-12-01", "07.12.2026")}
    assert list(periods.values()) == [{"start": "2026-12-01", "end": "2026-12-07"}] * 4
    bad = run("-c", path, "kpi", "show", "--period-end", "31.02.2026")
    assert bad.returncode == 2 and "31.02.2026" in bad.stderr and "Traceback" not in bad.stderr


def test_messages_in_the_configs_language(tmp_path: Path, trello: SandboxServer) -> None:
    russian = str(config_file(tmp_path, trello))
    said = ok("-c", russian, "kpi", "record", "sessions=1", "--period-end", "2026-11-29",
              lang="en_US.UTF-8")  # the config's locale wins over LANG
    assert said.strip() == "записано значений: 1 (marketing-weekly, период до 29.11.2026)"
    metrics = ok("-c", russian, "kpi", "metrics")
    assert "название" in metrics and "Визиты" in metrics and "Visits" not in metrics

    english_dir = tmp_path / "en"
    english_dir.mkdir()
    english = str(edited(config_file(english_dir, trello), locale="en"))
    said = ok("-c", english, "kpi", "record", "sessions=1", "conversions=2", "--period-end",
              "2026-11-29", lang="en_US.UTF-8")
    assert said.strip() == "recorded 2 value(s) for marketing-weekly, period ending 2026-11-29"
    wrong = run("-c", english, "kpi", "record", "visits=1", lang="en_US.UTF-8")
    assert ("'visits=1': unknown metric 'visits' (did you mean sessions?); see "
            "`planerka-sync kpi metrics`") in wrong.stderr
    assert not re.search("[а-яё]", wrong.stderr, re.I)
    metrics = ok("-c", english, "kpi", "metrics", lang="en_US.UTF-8")
    assert "Visits" in metrics and "1. Site traffic" in metrics
    assert not re.search("[а-яё]", metrics, re.I)
    listed = valid_json("kpi-metrics", ok("-c", english, "kpi", "metrics", "--json"))
    assert listed["locale"] == "en" and listed["metrics"][0]["name"] == "Visits"
    csv = english_dir / "week.csv"
    csv.write_text("metric,period_end,value\nsessions,2026-12-06,сорок\n", encoding="utf-8")
    imported = run("-c", english, "kpi", "import", str(csv), lang="en_US.UTF-8")
    assert imported.returncode == 1
    assert "imported 0 row(s) for marketing-weekly (UTF-8, delimiter ','), skipped 1 row(s)" \
        in imported.stdout
    assert "line 2: sessions: not a number: 'сорок'" in imported.stderr
    ru_imported = run("-c", russian, "kpi", "import", str(csv))
    assert "импортировано строк: 0 (marketing-weekly; UTF-8, разделитель ','), пропущено: 1" \
        in ru_imported.stdout
    assert "строка 2: sessions: не число: 'сорок'" in ru_imported.stderr
    assert "проблем: 1, пропущено строк: 1; верные строки сохранены" in ru_imported.stderr
    said = (ru_imported.stdout + ru_imported.stderr).replace(str(csv), "FILE")
    for english_word in ("imported", "skipped", "line", "not a number", "problem"):
        assert english_word not in said
