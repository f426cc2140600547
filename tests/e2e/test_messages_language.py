"""Every message a user reads at the terminal is in the config's language (issue 15): the same
error, run against the same sandbox with a ru config and an en config, says the same facts in
Russian and in English; a Russian run of the lead's everyday commands shows no English words of
ours."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from planerka_sync.config import read_yaml
from planerka_sync.sandbox.seed import JIRA_PROJECT_KEY
from planerka_sync.sandbox.server import SandboxServer
from planerka_sync.templates import builtin_dir

SERIES = "marketing-weekly"
CYRILLIC = re.compile(r"[а-яё]", re.I)
# Words of our English messages; none may reach a Russian user (names in backticks and the
# tracker's or driver's own words aside, which these runs do not produce).
ENGLISH = re.compile(r"\b(created|updated|error|would|recorded|seen|changed|meeting|series|"
                     r"tasks?|decisions?|nothing|dry run|up to date|no such|cannot|has no)\b",
                     re.I)


def config_for(tmp_path: Path, server: SandboxServer, locale: str, flavour: str = "trello",
               **changes: Any) -> Path:
    raw = read_yaml(builtin_dir() / "demo.yaml")
    raw["locale"] = locale
    if flavour == "jira-cloud":
        raw["tracker"] = {"kind": "jira", "deployment": "cloud", "project": JIRA_PROJECT_KEY,
                          "email": "anna@example.org", "token": "sandbox-token"}
    raw["tracker"] |= {"url": server.url, **changes.pop("tracker", {})}
    raw["database"] = f"sqlite:///{tmp_path / f'{locale}.db'}"
    raw |= changes
    path = tmp_path / f"{locale}.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return path


def run(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    # LANG says English: only the config's locale may make a message Russian.
    env = {**os.environ, "COLUMNS": "200", "LANG": "C.UTF-8", "LC_ALL": "", "LC_MESSAGES": ""}
    return subprocess.run([sys.executable, "-m", "planerka_sync", "-c", str(config), *args],
                          capture_output=True, text=True, timeout=120, env=env, check=False)


def both(tmp_path: Path, server: SandboxServer, *args: str, flavour: str = "trello",
         **changes: Any) -> tuple[str, str]:
    """The error line of the same failing command with a ru and with an en config."""
    said = []
    for locale in ("ru", "en"):
        result = run(config_for(tmp_path, server, locale, flavour, **changes), *args)
        assert result.returncode != 0, result.stdout + result.stderr
        assert "Traceback" not in result.stderr, result.stderr
        said.append(result.stderr)
    return said[0], said[1]


def assert_languages(ru: str, en: str, ru_words: str, en_words: str) -> None:
    assert ru.startswith("ошибка: ") and ru_words in ru, ru
    assert not ENGLISH.search(_ours(ru)), ru
    assert en.startswith("error: ") and en_words in en, en
    assert not CYRILLIC.search(_ours(en)), en


def test_an_unknown_series(tmp_path: Path, trello: SandboxServer) -> None:
    ru, en = both(tmp_path, trello, "prepare", "weekly-typo")
    assert_languages(ru, en, "в конфиге нет серии встреч 'weekly-typo'",
                     "no meeting series 'weekly-typo' in the config")
    assert f"(серии: {SERIES})" in ru and f"(series: {SERIES})" in en


def test_no_meeting_on_a_day(tmp_path: Path, trello: SandboxServer) -> None:
    # The demo team meets on Mondays: Tuesday 8 Dec 2026 has none, the next is 14 Dec.
    ru, en = both(tmp_path, trello, "prepare", SERIES, "--for", "2026-12-08")
    assert_languages(ru, en, f"в серии '{SERIES}' нет встречи 2026-12-08",
                     f"series '{SERIES}' has no meeting on 2026-12-08")
    assert "следующая — 2026-12-14" in ru and "the next one is on 2026-12-14" in en


def test_a_list_missing_on_the_board(tmp_path: Path, trello: SandboxServer) -> None:
    ru, en = both(tmp_path, trello, "prepare", SERIES, tracker={"meetings_list": "Нет такого"})
    assert_languages(ru, en, "на доске 'Marketing' нет списка 'Нет такого'",
                     "board 'Marketing' has no list 'Нет такого'")
    for text in (ru, en):
        assert "tracker.meetings_list" in text and "Планёрки" in text


@pytest.mark.parametrize("flavour", ["trello", "jira-cloud"])
def test_rejected_credentials(tmp_path: Path, flavour: str) -> None:
    from planerka_sync.sandbox import make_emulator

    server = SandboxServer(make_emulator(flavour)).start()
    try:
        requests.post(f"{server.url}/_sandbox/faults", timeout=5, json={
            "path": "^/(1|rest)/", "count": 10_000, "status": 401,
            "body": "invalid token"}).raise_for_status()
        ru, en = both(tmp_path, server, "prepare", SERIES, flavour=flavour)
    finally:
        server.stop()
    tracker = "Trello" if flavour == "trello" else "Jira"
    assert_languages(ru, en, f"трекер {tracker} не принял учётные данные (401)",
                     f"{tracker} rejected the credentials (401)")
    assert "проверьте токен" in ru and "check the token" in en


def test_a_state_database_that_cannot_be_opened(tmp_path: Path, trello: SandboxServer) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the database's folder should be", encoding="utf-8")
    ru, en = both(tmp_path, trello, "prepare", SERIES,
                  database=f"sqlite:///{blocker / 'state.db'}")
    assert_languages(ru, en, "не удаётся открыть базу состояния", "cannot open the state database")
    for text in (ru, en):
        assert "not-a-folder" in text and "`database:`" in text


def test_a_russian_run_of_the_everyday_commands_has_no_english_words(
    tmp_path: Path, trello: SandboxServer
) -> None:
    config = config_for(tmp_path, trello, "ru")
    for args in (["prepare"], ["sync"], ["sync", "--dry-run"], ["progress", "--dry-run"],
                 ["prepare", "--dry-run"]):
        result = run(config, *args)
        assert result.returncode == 0, result.stdout + result.stderr
        for stream in (result.stdout, result.stderr):
            found = ENGLISH.search(_ours(stream))
            assert found is None, f"{args}: {found and found[0]!r} in\n{stream}"


def test_a_russian_demo_has_no_english_words() -> None:
    env = {**os.environ, "COLUMNS": "200", "LANG": "C.UTF-8", "LC_ALL": "", "LC_MESSAGES": ""}
    result = subprocess.run([sys.executable, "-m", "planerka_sync", "demo"],
                            capture_output=True, text=True, timeout=300, env=env, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "следующая встреча с повесткой" in result.stdout
    for stream in (result.stdout, result.stderr):
        found = ENGLISH.search(_ours(stream))
        assert found is None, f"{found and found[0]!r} in\n{stream}"


def _ours(text: str) -> str:
    """``text`` without what is not a sentence of ours: commands and options in backticks,
    quoted names, URLs, and the demo's Trello list names (the board's own, as the team named
    them)."""
    text = re.sub(r"`[^`]*`|'[^']*'", " ", text)  # quoted: a name the team or tracker gave
    text = re.sub(r"\((lists|списки): [^)]*\)", " ", text)
    text = re.sub(r"https?://\S+", " ", text)
    return text.replace("To Do", " ")
