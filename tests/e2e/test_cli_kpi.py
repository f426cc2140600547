"""KPI commands as a person uses them: record, import a CSV with mistakes, show."""

from __future__ import annotations

from pathlib import Path

from planerka_sync.sandbox.server import SandboxServer
from tests.e2e.test_cli_prepare import config_file, run


def test_record_import_show(tmp_path: Path, trello: SandboxServer) -> None:
    path = str(config_file(tmp_path, trello))
    recorded = run("-c", path, "kpi", "record", "sessions=18 000", "conversions=450",
                   "--period-end", "2026-11-29")
    assert recorded.returncode == 0, recorded.stderr
    assert "записано значений: 2 (marketing-weekly, период до 29.11.2026)" in recorded.stdout
    csv = tmp_path / "week.csv"
    csv.write_text("metric,period_end,value\n"
                   "sessions,2026-12-06,20000\n"
                   "conversions,2026-12-06,500\n"
                   "sesions,2026-12-06,1\n"
                   "bounce_rate,06.12.2026,сорок\n"
                   "followers,2026-13-01,10\n", encoding="utf-8")
    imported = run("-c", path, "kpi", "import", str(csv))
    assert imported.returncode == 1
    assert "импортировано строк: 2" in imported.stdout
    errors = imported.stderr.splitlines()
    assert any("строка 4" in e and "sesions" in e and "kpi metrics" in e for e in errors)
    assert any("строка 5: bounce_rate: не число: 'сорок'" in e for e in errors)
    assert any("строка 6" in e for e in errors)
    assert "Traceback" not in imported.stderr
    # The meeting of Monday 07.12 covers 01.12-07.12 (the CSV's 06.12) against 24.11-30.11
    # (the 29.11 recorded by hand); a day of the period in Russian notation works too.
    shown = run("-c", path, "kpi", "show", "--period-end", "05.12.2026")
    assert shown.returncode == 0, shown.stderr
    text = shown.stdout.replace("\xa0", " ")
    assert "период 01.12–07.12.2026, сравнение с периодом 24.11–30.11.2026" in text
    assert "Визиты" in text and "20 000" in text and "+11,1" in text


def test_record_rejects_an_unknown_metric(tmp_path: Path, trello: SandboxServer) -> None:
    result = run("-c", str(config_file(tmp_path, trello)), "kpi", "record", "sesions=10")
    assert result.returncode == 2
    assert "sesions" in result.stderr and "sessions" in result.stderr
    assert "Traceback" not in result.stderr
