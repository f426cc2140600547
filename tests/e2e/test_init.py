"""`planerka-sync init` as a script runs it (no terminal, never a prompt), against each sandbox
seeded with people the demo seed does not have: the written config passes `check`, and a
decision naming a new person in the meeting item becomes a task assigned to their account.
Also: the .env (0600) holds the secrets and the YAML none, a second init without --force
changes nothing, a missing answer is named (exit 2), and --from-sandbox works right away."""

from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from planerka_sync.config import load_config, read_env_file
from planerka_sync.sandbox import make_emulator
from planerka_sync.sandbox.seed import DEFAULT_PEOPLE, SeedPerson
from planerka_sync.sandbox.server import SandboxServer
from planerka_sync.service.onboarding import aliases_for, propose_people
from planerka_sync.trackers.discovery import Account

KEY = "initkey0123456789abcdef0123456789"
TOKEN = "INITTOKEN0123456789abcdef0123456789abcdef"
JIRA_EMAIL = "anna@example.org"
SECRET_VARIABLES = ("TRELLO_API_KEY", "TRELLO_TOKEN", "JIRA_EMAIL", "JIRA_TOKEN", "SANDBOX_URL")
NEW_ACCOUNT = "712020:0d6f1c5e-4a43-4f1b-9c3e-5b6f1e0e9a77"  # a Cloud accountId as Cloud makes
NEW_TRELLO_ID = "5f0000000000000000000a01"


def _new(pid: str, name: str, username: str, account: str, trello_id: str,
         **extra: Any) -> SeedPerson:
    person: SeedPerson = {"id": pid, "name": name, "email": f"{username}@example.org",
                          "trello_username": username, "trello_id": trello_id,
                          "jira_account_id": account, "jira_username": username}
    person.update(extra)  # type: ignore[typeddict-item]
    return person


NEWCOMERS = [
    _new("polina", "Полина Новикова", "newperson", NEW_ACCOUNT, NEW_TRELLO_ID),
    _new("sasha", "Александр Белов", "sbelov", "712020:aaaa0000-0000-4000-8000-000000000002",
         "5f0000000000000000000a02"),
]
# Jira only: an automation account and a deactivated one are listed, never proposed.
NOT_PEOPLE = [
    _new("robot", "Automation for Jira", "automation", "557058:automation",
         "5f0000000000000000000a03", account_type="app"),
    _new("gone", "Борис Ушедший", "bgone", "712020:bbbb0000-0000-4000-8000-000000000004",
         "5f0000000000000000000a04", active=False),
]


def seed(flavour: str) -> dict[str, Any]:
    """The demo seed plus the newcomers; only the credentials below are accepted."""
    emulator = make_emulator(flavour)
    base = emulator.default_seed()
    if flavour == "trello":
        base["members"] += [{"id": p["trello_id"], "username": p["trello_username"],
                             "fullName": p["name"], "email": p["email"]} for p in NEWCOMERS]
        base["credentials"] = [{"key": KEY, "token": TOKEN, "member": "anna"}]
        return base
    base["people"] = [*DEFAULT_PEOPLE, *NEWCOMERS, *NOT_PEOPLE]
    base["credentials"] = [{"person": "anna", "email": JIRA_EMAIL, "token": TOKEN}]
    return base


@pytest.fixture(params=["trello", "jira-cloud", "jira-dc"])
def seeded(request: pytest.FixtureRequest) -> Iterator[tuple[str, SandboxServer]]:
    server = SandboxServer(make_emulator(request.param, seed(request.param))).start()
    try:
        yield request.param, server
    finally:
        server.stop()


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str

    @property
    def text(self) -> str:
        return self.stdout + self.stderr


def clean_env(**extra: str) -> dict[str, str]:
    """This machine's environment without any tracker secret: what the config needs must come
    from the .env init wrote."""
    env = {k: v for k, v in os.environ.items() if k not in SECRET_VARIABLES}
    return {**env, "COLUMNS": "200", "LANG": "ru_RU.UTF-8", **extra}


def run(root: Path, *args: str, env: dict[str, str] | None = None) -> Result:
    done = subprocess.run([sys.executable, "-m", "planerka_sync", *args], cwd=root,
                          capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
                          env=env or clean_env(), check=False)
    return Result(done.returncode, done.stdout, done.stderr)


def init_args(flavour: str, url: str) -> list[str]:
    return ["init", "--tracker", flavour, "--url", url, "--locale", "ru"]


def run_init(root: Path, flavour: str, server: SandboxServer, *more: str) -> Result:
    """Trello's secrets from the environment; Jira's from an answers file."""
    if flavour == "trello":
        return run(root, *init_args(flavour, server.url), "--non-interactive", *more,
                   env=clean_env(TRELLO_API_KEY=KEY, TRELLO_TOKEN=TOKEN))
    answers = root / "answers.yaml"
    given = {"token": TOKEN, "place": "Переговорная 3", "time": "10:00"}
    if flavour == "jira-cloud":
        given["email"] = JIRA_EMAIL
    answers.write_text(yaml.safe_dump(given, allow_unicode=True), encoding="utf-8")
    return run(root, *init_args(flavour, server.url), "--answers", str(answers), *more)


def write_decision(flavour: str, server: SandboxServer, meeting: tuple[str, str], line: str
                   ) -> None:
    """What the team types in the meeting item: a comment with the decision line."""
    item_id, item_key = meeting
    if flavour == "trello":
        response = requests.post(f"{server.url}/1/cards/{item_id}/actions/comments", timeout=10,
                                 params={"key": KEY, "token": TOKEN, "text": line})
    elif flavour == "jira-cloud":
        body = {"type": "doc", "version": 1, "content": [
            {"type": "paragraph", "content": [{"type": "text", "text": line}]}]}
        response = requests.post(f"{server.url}/rest/api/3/issue/{item_key}/comment",
                                 json={"body": body}, auth=(JIRA_EMAIL, TOKEN), timeout=10)
    else:
        response = requests.post(f"{server.url}/rest/api/2/issue/{item_key}/comment",
                                 json={"body": line}, timeout=10,
                                 headers={"Authorization": f"Bearer {TOKEN}"})
    response.raise_for_status()


def assignee_of(flavour: str, server: SandboxServer, title: str) -> str | list[str]:
    """The stored task's owner as the tracker keeps it: Trello idMembers, Cloud accountId, DC
    username."""
    state = requests.get(f"{server.url}/_sandbox/state", timeout=10).json()
    if flavour == "trello":
        [card] = [c for c in state["cards"].values() if c["name"].startswith(title)]
        return list(card["idMembers"])
    [issue] = [i for i in state["issues"].values() if i["summary"].startswith(title)]
    person = state["people"][issue["assignee"]]
    return str(person["jira_account_id"] if flavour == "jira-cloud" else person["jira_username"])


def test_init_writes_a_config_that_checks_and_assigns_a_new_member(
        tmp_path: Path, seeded: tuple[str, SandboxServer]) -> None:
    flavour, server = seeded
    result = run_init(tmp_path, flavour, server)
    assert result.returncode == 0, result.text
    assert "Traceback" not in result.text and "✘" not in result.stdout
    config_path, env_path = tmp_path / "planerka.yaml", tmp_path / ".env"

    # The secrets are in the .env (0600), the YAML only names them.
    assert stat.S_IMODE(env_path.stat().st_mode) == 0o600
    text = config_path.read_text(encoding="utf-8")
    assert TOKEN not in text and KEY not in text and "${" in text
    assert TOKEN in env_path.read_text(encoding="utf-8")
    raw = yaml.safe_load(text)
    people = {p["id"]: p for p in raw["people"]}
    account = {"trello": "newperson", "jira-cloud": NEW_ACCOUNT, "jira-dc": "newperson"}[flavour]
    assert people["newperson"][{"trello": "trello"}.get(flavour, "jira")] == account
    assert people["newperson"]["name"] == "Полина Новикова"
    assert {"Полина", "Поля", "Polina"} <= set(people["newperson"]["aliases"])
    assert "automation" not in people and "bgone" not in people  # not people / not active
    assert raw["meetings"][0]["weekday"] == "MO" and raw["meetings"][0]["time"] == "10:00"
    assert set(raw["meetings"][0]["participants"]) == set(people)

    # Without any secret in the environment, the config works: check, prepare, sync.
    checked = run(tmp_path, "check")
    assert checked.returncode == 0, checked.text
    assert "newperson" in checked.stdout and "✘" not in checked.stdout
    prepared = run(tmp_path, "prepare")
    assert prepared.returncode == 0, prepared.text
    with sqlite3.connect(tmp_path / "planerka.db") as db:
        [meeting] = db.execute("SELECT item_id, item_key FROM meetings").fetchall()
    due = (date.today() + timedelta(days=10)).strftime("%d.%m")
    write_decision(flavour, server, meeting, f"- [ ] Обновить лендинг @newperson до {due}")
    synced = run(tmp_path, "sync")
    assert synced.returncode == 0, synced.text
    expected = [NEW_TRELLO_ID] if flavour == "trello" else account
    assert assignee_of(flavour, server, "Обновить лендинг") == expected


def test_a_second_init_without_force_changes_nothing(
        tmp_path: Path, trello_sandbox: SandboxServer) -> None:
    url = trello_sandbox.url
    first = run(tmp_path, "init", "--from-sandbox", "--url", url)
    assert first.returncode == 0, first.text
    files = [tmp_path / "planerka.yaml", tmp_path / ".env"]
    before = [(f.read_bytes(), f.stat().st_mtime_ns) for f in files]
    again = run(tmp_path, "init", "--from-sandbox", "--url", url, "--tracker", "jira-dc")
    assert again.returncode != 0
    assert "--force" in again.stderr and "Traceback" not in again.text
    assert [(f.read_bytes(), f.stat().st_mtime_ns) for f in files] == before
    forced = run(tmp_path, "init", "--from-sandbox", "--url", url, "--force")
    assert forced.returncode == 0, forced.text


@pytest.mark.parametrize(("args", "named"), [
    (["--non-interactive"], "--tracker"),
    (["--non-interactive", "--tracker", "jira-cloud"], "--url"),
    (["--non-interactive", "--tracker", "jira-cloud", "--url", "http://127.0.0.1:9"],
     "JIRA_EMAIL"),
    (["--non-interactive", "--tracker", "trello"], "TRELLO_API_KEY"),
])
def test_a_missing_answer_is_named_with_exit_2(tmp_path: Path, args: list[str],
                                               named: str) -> None:
    result = run(tmp_path, "init", *args, env=clean_env(LANG="en_US.UTF-8"))
    assert result.returncode == 2, result.text
    assert "missing answer" in result.stderr and named in result.stderr
    assert "Traceback" not in result.text
    assert not (tmp_path / "planerka.yaml").exists() and not (tmp_path / ".env").exists()


def test_several_boards_need_a_choice_and_missing_lists_need_consent(
        tmp_path: Path) -> None:
    base = seed("trello")
    base["boards"] = [{"name": "Marketing", "lists": ["Backlog", "Готово"]},
                      {"name": "Sales", "lists": ["To Do"]}]
    server = SandboxServer(make_emulator("trello", base)).start()
    try:
        env = clean_env(TRELLO_API_KEY=KEY, TRELLO_TOKEN=TOKEN, LANG="en_US.UTF-8")
        args = ["init", "--tracker", "trello", "--url", server.url, "--non-interactive",
                "--locale", "en"]
        no_board = run(tmp_path, *args, env=env)
        assert no_board.returncode == 2 and "--board" in no_board.stderr, no_board.text
        no_consent = run(tmp_path, *args, "--board", "Marketing", env=env)
        assert no_consent.returncode == 2 and "--create-lists" in no_consent.stderr
        assert "Meetings" in no_consent.stderr, no_consent.text
        created = run(tmp_path, *args, "--board", "Marketing", "--create-lists", env=env)
        assert created.returncode == 0, created.text
        state = requests.get(f"{server.url}/_sandbox/state", timeout=10).json()
        names = {x["name"] for x in state["lists"].values()}
        assert {"Meetings", "Backlog", "Готово"} <= names
        tracker = yaml.safe_load((tmp_path / "planerka.yaml").read_text("utf-8"))["tracker"]
        assert tracker["meetings_list"] == "Meetings" and tracker["tasks_list"] == "Backlog"
        assert tracker["done_lists"] == ["Готово"]
    finally:
        server.stop()


def test_wrong_credentials_are_refused_without_writing_or_echoing_them(
        tmp_path: Path, seeded: tuple[str, SandboxServer]) -> None:
    flavour, server = seeded
    wrong = "WRONGTOKEN0123456789abcdef0123456789"
    env = clean_env(TRELLO_API_KEY=KEY, TRELLO_TOKEN=wrong, JIRA_EMAIL=JIRA_EMAIL,
                    JIRA_TOKEN=wrong)
    result = run(tmp_path, *init_args(flavour, server.url), "--non-interactive", env=env)
    assert result.returncode == 4, result.text
    assert "Traceback" not in result.text and wrong not in result.text
    assert not (tmp_path / "planerka.yaml").exists()


@pytest.mark.parametrize("flavour", ["trello", "jira-cloud", "jira-dc"])
def test_from_sandbox_writes_the_demo_team(tmp_path: Path, flavour: str) -> None:
    server = SandboxServer(make_emulator(flavour)).start()
    try:
        result = run(tmp_path, "init", "--from-sandbox", "--tracker", flavour,
                     env=clean_env(SANDBOX_URL=server.url))
        assert result.returncode == 0, result.text
        assert "✘" not in result.stdout and "anna" in result.stdout
        checked = run(tmp_path, "check", env=clean_env(SANDBOX_URL=server.url))
        assert checked.returncode == 0, checked.text
    finally:
        server.stop()
    raw = yaml.safe_load((tmp_path / "planerka.yaml").read_text("utf-8"))
    assert [p["id"] for p in raw["people"]] == ["anna", "ivan", "maria", "oleg", "dmitry"]
    assert raw["tracker"]["url"] == "${SANDBOX_URL:-http://127.0.0.1:8400}"


def test_from_sandbox_without_a_sandbox_says_how_to_start_one(tmp_path: Path) -> None:
    result = run(tmp_path, "init", "--from-sandbox", "--url", "http://127.0.0.1:9",
                 env=clean_env(LANG="en_US.UTF-8"))
    assert result.returncode == 0, result.text
    assert "planerka-sync sandbox --tracker trello --port 8400" in result.stdout


# --- the .env beside the config --------------------------------------------------------------


def test_the_env_file_is_read_strictly_and_the_environment_wins(tmp_path: Path,
                                                                 monkeypatch: Any) -> None:
    env = tmp_path / ".env"
    env.write_text('# comment\nexport A=plain # trailing\nB="x \\"q\\" \\n y"\nC=\'$lit\'\n'
                   "D=\n", encoding="utf-8")
    assert read_env_file(env) == {"A": "plain", "B": 'x "q" \n y', "C": "$lit", "D": ""}
    env.write_text("GOOD=1\nthis line is not a variable SECRETVALUE\n", encoding="utf-8")
    with pytest.raises(Exception, match="line 2") as failed:
        read_env_file(env)
    assert "SECRETVALUE" not in str(failed.value)
    assert read_env_file(tmp_path / "absent.env") == {}

    server_url = "http://127.0.0.1:9"
    env.write_text(f'SANDBOX_URL="{server_url}"\nTRELLO_TOKEN="from-dotenv-token"\n',
                   encoding="utf-8")
    config = tmp_path / "planerka.yaml"
    config.write_text(Path("config/demo.yaml").read_text("utf-8"), encoding="utf-8")
    monkeypatch.delenv("SANDBOX_URL", raising=False)
    monkeypatch.setenv("TRELLO_TOKEN", "from-the-environment")
    loaded = load_config(config)
    assert loaded.tracker.url == server_url
    assert loaded.tracker.token.get_secret_value() == "from-the-environment"


def test_dotenv_secrets_never_show_in_a_verbose_log(tmp_path: Path,
                                                    trello_sandbox: SandboxServer) -> None:
    assert run(tmp_path, "init", "--from-sandbox", "--url", trello_sandbox.url).returncode == 0
    secret = "DOTENVSECRET0123456789abcdef0123456789"
    env = tmp_path / ".env"
    env.write_text(env.read_text("utf-8").replace("sandbox-token", secret), encoding="utf-8")
    result = run(tmp_path, "-vv", "check")
    assert result.returncode == 0, result.text
    assert "/1/boards" in result.text  # the request log is there...
    assert secret not in result.text  # ...without the token


# --- proposals ---------------------------------------------------------------------------------


def test_people_proposals_ids_and_unambiguous_aliases() -> None:
    accounts = [Account("712020:a", "Александр Белов", email="a.belov@example.org"),
                Account("712020:b", "Александра Смирнова", email="alex@example.org"),
                Account("712020:c", "Мария Иванова")]
    people = propose_people(accounts, "jira-cloud")
    assert [p.id for p in people] == ["a-belov", "alex", "maria"]
    # "Саша" would name two people: neither gets it.
    assert "Саша" not in people[0].aliases + people[1].aliases
    assert people[2].aliases == ["Мария", "Маша"]  # "Maria" is the id itself
    assert aliases_for("John Smith") == ["John"]
    trello = propose_people([Account("sbelov", "Александр Белов", username="sbelov")], "trello")
    assert trello[0].id == "sbelov" and trello[0].aliases == ["Александр", "Саша", "Aleksandr"]


# --- the sandbox answers as the trackers do ------------------------------------------------------


def test_jira_assignable_users_page_as_each_flavour_does() -> None:
    cloud = SandboxServer(make_emulator("jira-cloud", seed("jira-cloud"))).start()
    dc = SandboxServer(make_emulator("jira-dc", seed("jira-dc"))).start()
    try:
        url = f"{cloud.url}/rest/api/3/user/assignable/search"
        auth = (JIRA_EMAIL, TOKEN)
        # 9 users; the window 5..8 holds sasha, robot (an app) and gone (inactive): one answer.
        window = requests.get(url, params={"project": "MKT", "startAt": 6, "maxResults": 3},
                              auth=auth, timeout=10).json()
        assert [u["displayName"] for u in window] == ["Александр Белов"]
        assert all("name" not in u for u in window)  # Cloud has no usernames
        assert requests.get(url, params={"project": "MKT", "startAt": 1000}, auth=auth,
                            timeout=10).json() == []
        dc_url = f"{dc.url}/rest/api/2/user/assignable/search"
        bearer = {"Authorization": f"Bearer {TOKEN}"}
        missing = requests.get(dc_url, params={"project": "MKT"}, headers=bearer, timeout=10)
        assert missing.status_code == 400 and "username" in missing.json()["errorMessages"][0]
        page = requests.get(dc_url, params={"project": "MKT", "username": "", "maxResults": 6},
                            headers=bearer, timeout=10).json()
        assert [u["name"] for u in page] == ["anna", "ivan", "maria", "oleg", "dmitry",
                                             "newperson"]
        rest = requests.get(dc_url, params={"project": "MKT", "username": "", "startAt": 6},
                            headers=bearer, timeout=10).json()
        assert [u["name"] for u in rest] == ["sbelov"]  # the inactive one is never assignable
    finally:
        cloud.stop()
        dc.stop()


def test_an_answers_file_picks_the_team_and_overrides_proposals(
        tmp_path: Path, trello_sandbox: SandboxServer) -> None:
    answers = {"tracker": "trello", "url": trello_sandbox.url, "api_key": KEY, "token": TOKEN,
               "locale": "en", "weekday": "Fr", "participants": ["anna", "Иван"],
               "people": [{"account": "anna", "aliases": ["Анечка"]}, "ivan"]}
    (tmp_path / "answers.yaml").write_text(yaml.safe_dump(answers, allow_unicode=True),
                                           encoding="utf-8")
    result = run(tmp_path, "init", "--answers", "answers.yaml")
    assert result.returncode == 0, result.text
    raw = yaml.safe_load((tmp_path / "planerka.yaml").read_text("utf-8"))
    assert [(p["id"], p["aliases"]) for p in raw["people"]] == [
        ("anna", ["Анечка"]), ("ivan", ["Иван", "Ваня"])]
    assert raw["meetings"][0]["weekday"] == "FR"
    assert raw["meetings"][0]["participants"] == ["anna", "ivan"]
    (tmp_path / "answers.yaml").write_text("tracker: trello\nboardd: Marketing\n", "utf-8")
    typo = run(tmp_path, "init", "--answers", "answers.yaml", "--force")
    assert typo.returncode == 2 and "'board'" in typo.stderr, typo.text
    nobody = run(tmp_path, "init", "--force", "--non-interactive", "--tracker", "trello",
                 "--url", trello_sandbox.url, "--people", "nobody",
                 env=clean_env(TRELLO_API_KEY=KEY, TRELLO_TOKEN=TOKEN))
    assert nobody.returncode == 2 and "nobody" in nobody.stderr, nobody.text
    assert "Traceback" not in typo.text + nobody.text
