"""`webhooks list` for scripts (--json) and in the config's language."""

from __future__ import annotations

from pathlib import Path

import requests

from planerka_sync.sandbox.server import SandboxServer
from tests.e2e.cli_json import valid_json
from tests.e2e.test_cli_kpi_json import edited, ok, run
from tests.e2e.test_cli_prepare import config_file
from tests.e2e.test_cli_serve import dc_config, jira_dc, with_serve

__all__ = ["jira_dc"]  # the fixture

PUBLIC = "https://planerka.example.org"


def board_id(server: SandboxServer) -> str:
    state = requests.get(f"{server.url}/_sandbox/state", timeout=5).json()
    [board] = [b for b in state["boards"].values() if b["name"] == "Marketing"]
    return str(board["id"])


def test_webhooks_list_json_lists_the_installed_webhook(tmp_path: Path,
                                                        trello: SandboxServer) -> None:
    path = str(with_serve(config_file(tmp_path, trello), public_url=PUBLIC))
    requests.post(f"{trello.url}/_sandbox/options", json={"webhook_head_check": False},
                  timeout=5).raise_for_status()  # nobody answers at example.org
    empty = valid_json("webhooks-list", ok("-c", path, "webhooks", "list", "--json"))
    assert empty == {"tracker": "trello", "webhooks": []}
    assert "вебхуков planerka-sync нет" in ok("-c", path, "webhooks", "list")
    installed = ok("-c", path, "webhooks", "install")
    assert f"доставляет события на {PUBLIC}/webhooks/trello" in installed
    listed = valid_json("webhooks-list", ok("-c", path, "webhooks", "list", "--json"))
    [hook] = listed["webhooks"]
    [registered] = requests.get(f"{trello.url}/_sandbox/state", timeout=5).json()[
        "webhooks"].values()
    assert hook == {"id": registered["id"], "url": f"{PUBLIC}/webhooks/trello",
                    "watches": board_id(trello), "active": True}
    text = ok("-c", path, "webhooks", "list")
    assert f"{hook['id']}  активен  {PUBLIC}/webhooks/trello  (доска {hook['watches']})" in text
    copy = tmp_path / "english.yaml"
    copy.write_text(Path(path).read_text(encoding="utf-8"), encoding="utf-8")
    english = str(edited(copy, locale="en"))
    text = ok("-c", english, "webhooks", "list", lang="en_US.UTF-8")
    assert f"{hook['id']}  active  {PUBLIC}/webhooks/trello  (board {hook['watches']})" in text
    assert "removed " + hook["id"] in ok("-c", english, "webhooks", "remove")
    assert "удалять нечего" in ok("-c", path, "webhooks", "remove")
    assert valid_json("webhooks-list", ok("-c", path, "webhooks", "list", "--json"))[
        "webhooks"] == []


def test_webhooks_list_json_on_jira_data_center(tmp_path: Path,
                                                jira_dc: SandboxServer) -> None:
    path = str(dc_config(tmp_path, jira_dc))
    ok("-c", path, "webhooks", "install")
    listed = valid_json("webhooks-list", ok("-c", path, "webhooks", "list", "--json"))
    assert listed["tracker"] == "jira-dc"
    [hook] = listed["webhooks"]
    assert hook["url"] == f"{PUBLIC}/webhooks/jira" and hook["watches"] == "labels = planerka"
    failed = run("-c", path, "webhooks", "remove", "nope", "--json")
    assert failed.returncode == 2 and "Traceback" not in failed.stderr
