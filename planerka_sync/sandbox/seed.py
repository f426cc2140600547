"""The default seed every emulator shares: the demo team (matches config/demo.yaml)."""

from __future__ import annotations

from typing import NotRequired, TypedDict


class SeedPerson(TypedDict):
    id: str
    name: str
    email: str
    trello_username: str
    trello_id: str
    jira_account_id: str
    jira_username: str
    # Jira: a deactivated account (shown, never assignable); Cloud: "app" or "customer" for
    # accounts that are not people (bots, service desk customers), never assignable either.
    active: NotRequired[bool]
    account_type: NotRequired[str]


def _person(pid: str, name: str, n: int) -> SeedPerson:
    return {
        "id": pid,
        "name": name,
        "email": f"{pid}@example.org",
        "trello_username": pid,
        # Trello ids are 24 hex digits; deterministic so seeds and tests agree.
        "trello_id": f"5f00000000000000000000{n:02x}",
        "jira_account_id": f"557058:{pid}",
        "jira_username": pid,
    }


DEFAULT_PEOPLE: list[SeedPerson] = [
    _person("anna", "Анна Смирнова", 1),
    _person("ivan", "Иван Петров", 2),
    _person("maria", "Мария Иванова", 3),
    _person("oleg", "Олег Кузнецов", 4),
    _person("dmitry", "Дмитрий Соколов", 5),
]

# The account the API credentials belong to (the lead who runs planerka-sync).
DEFAULT_ACTOR = "anna"

TRELLO_BOARD_NAME = "Marketing"
TRELLO_LISTS = ["Планёрки", "To Do", "In Progress", "Done"]
JIRA_PROJECT_KEY = "MKT"
JIRA_PROJECT_NAME = "Marketing"
JIRA_ISSUE_TYPES = ["Task", "Sub-task"]
JIRA_WORKFLOW = [("To Do", "new"), ("In Progress", "indeterminate"), ("Done", "done")]
