"""Every Trello sandbox endpoint planerka-sync uses, checked against the official spec's
response schemas (leniently, see ``openapi.py``).

Where the published spec contradicts the live API the emulator follows the live API; the test
rewrites exactly those fields into their documented form (:func:`as_documented`) before
validating, so any other drift still fails, and :func:`test_live_forms_the_spec_gets_wrong`
pins that the emulator really sends the live forms.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests

from planerka_sync.sandbox.server import SandboxServer
from tests.contract.openapi import SpecValidator

AUTH = {"key": "contract-key", "token": "contract-token"}


@dataclass(frozen=True)
class Call:
    method: str
    path: str  # formatted with the ids of :func:`world` (without the /1 prefix)
    params: dict[str, str] = field(default_factory=dict)
    files: bool = False


def _ok(response: requests.Response) -> Any:
    assert response.status_code == 200, f"{response.request.method} {response.url}: {response.text}"
    return response.json()


def _call(server: SandboxServer, method: str, path: str, files: Any = None, **params: Any) -> Any:
    url = f"{server.url}/1{path}"
    if method == "GET":
        return requests.get(url, params={**AUTH, **params}, timeout=10)
    return requests.request(method, url, params=AUTH, data=params, files=files, timeout=10)


def world(server: SandboxServer) -> dict[str, str]:
    """A board with a card carrying a checklist item, a comment, an attachment, a label and a
    webhook: the ids every call below refers to."""
    ids: dict[str, str] = {}
    me = _ok(_call(server, "GET", "/members/me"))
    board = _ok(_call(server, "GET", "/members/me/boards"))[0]
    lists = _ok(_call(server, "GET", f"/boards/{board['id']}/lists"))
    ids.update(
        board=board["id"],
        list=lists[1]["id"],
        list2=lists[2]["id"],
        me=me["id"],
        other=_ok(_call(server, "GET", "/members/ivan"))["id"],
        token=AUTH["token"],
    )
    card = _ok(
        _call(
            server,
            "POST",
            "/cards",
            idList=ids["list"],
            name="Contract",
            due="2026-01-12",
            idMembers=ids["other"],
        )
    )
    checklist = _ok(_call(server, "POST", f"/cards/{card['id']}/checklists", name="Решения"))
    item = _ok(
        _call(
            server,
            "POST",
            f"/checklists/{checklist['id']}/checkItems",
            name="Отчёт",
            idMember=ids["other"],
            due="2026-01-19T09:00:00Z",
        )
    )
    comment = _ok(_call(server, "POST", f"/cards/{card['id']}/actions/comments", text="Привет"))
    upload = {"file": ("notes.txt", io.BytesIO(b"minutes"), "text/plain")}
    attachment = _ok(_call(server, "POST", f"/cards/{card['id']}/attachments", files=upload))
    label = _ok(_call(server, "POST", "/labels", idBoard=ids["board"], name="KPI", color="green"))
    hook = _ok(
        _call(
            server,
            "POST",
            "/webhooks",
            callbackURL="https://example.org/hook",
            idModel=ids["board"],
        )
    )
    ids.update(
        card=card["id"],
        checklist=checklist["id"],
        item=item["id"],
        comment=comment["id"],
        attachment=attachment["id"],
        label=label["id"],
        hook=hook["id"],
    )
    ids["organization"] = board["idOrganization"]
    ids["spare"] = _ok(_call(server, "POST", "/cards", idList=ids["list"], name="Spare"))["id"]
    return ids


CALLS: dict[str, Call] = {
    "member me": Call("GET", "/members/me"),
    "member by username": Call("GET", "/members/ivan", {"fields": "all"}),
    "member boards": Call("GET", "/members/me/boards", {"filter": "open", "lists": "open"}),
    "board": Call("GET", "/boards/{board}"),
    "board nested": Call(
        "GET",
        "/boards/{board}",
        {
            "cards": "open",
            "card_checklists": "all",
            "card_fields": "all",
            "lists": "open",
            "list_fields": "all",
            "checklists": "all",
            "members": "all",
            "labels": "all",
        },
    ),
    "board cards": Call(
        "GET",
        "/boards/{board}/cards",
        {"checklists": "all", "attachments": "true", "members": "true"},
    ),
    "board cards filter": Call("GET", "/boards/{board}/cards/all", {"limit": "10"}),
    "board lists": Call("GET", "/boards/{board}/lists", {"cards": "open"}),
    "board lists filter": Call("GET", "/boards/{board}/lists/all"),
    "board members": Call("GET", "/boards/{board}/members"),
    "board labels": Call("GET", "/boards/{board}/labels"),
    "board checklists": Call("GET", "/boards/{board}/checklists"),
    "board actions": Call(
        "GET", "/boards/{board}/actions", {"filter": "commentCard,updateCard", "limit": "5"}
    ),
    "list": Call("GET", "/lists/{list}"),
    "list cards": Call("GET", "/lists/{list}/cards"),
    "create list": Call(
        "POST", "/lists", {"name": "Backlog", "idBoard": "{board}", "pos": "bottom"}
    ),
    "update list": Call("PUT", "/lists/{list2}", {"name": "Doing", "closed": "false"}),
    "create card": Call(
        "POST",
        "/cards",
        {"idList": "{list}", "name": "New", "idMembers": "{other}", "due": "2026-02-01T09:00:00Z"},
    ),
    "copy card": Call(
        "POST", "/cards", {"idList": "{list}", "idCardSource": "{card}", "keepFromSource": "all"}
    ),
    "card": Call(
        "GET",
        "/cards/{card}",
        {"checklists": "all", "attachments": "true", "members": "true", "actions": "commentCard"},
    ),
    "update card": Call(
        "PUT",
        "/cards/{card}",
        {"name": "Renamed", "idList": "{list2}", "dueComplete": "true", "idMembers": "{me}"},
    ),
    "delete card": Call("DELETE", "/cards/{spare}"),
    "card members": Call("GET", "/cards/{card}/members"),
    "add card member": Call("POST", "/cards/{card}/idMembers", {"value": "{me}"}),
    "remove card member": Call("DELETE", "/cards/{card}/idMembers/{other}"),
    "add card label": Call("POST", "/cards/{card}/idLabels", {"value": "{label}"}),
    "create label": Call("POST", "/labels", {"idBoard": "{board}", "name": "SEO", "color": "blue"}),
    "card checklists": Call("GET", "/cards/{card}/checklists"),
    "create card checklist": Call(
        "POST", "/cards/{card}/checklists", {"name": "Повестка", "idChecklistSource": "{checklist}"}
    ),
    "create checklist": Call("POST", "/checklists", {"idCard": "{card}", "name": "Другое"}),
    "checklist": Call("GET", "/checklists/{checklist}"),
    "update checklist": Call("PUT", "/checklists/{checklist}", {"name": "Decisions"}),
    "delete checklist": Call("DELETE", "/checklists/{checklist}"),
    "check items": Call("GET", "/checklists/{checklist}/checkItems"),
    "create check item": Call(
        "POST",
        "/checklists/{checklist}/checkItems",
        {"name": "Новое", "pos": "top", "checked": "true", "due": "2026-01-20", "idMember": "{me}"},
    ),
    "card check item": Call("GET", "/cards/{card}/checkItem/{item}"),
    "update check item": Call(
        "PUT", "/cards/{card}/checkItem/{item}", {"state": "complete", "name": "Отчёт v2"}
    ),
    "delete check item": Call("DELETE", "/cards/{card}/checkItem/{item}"),
    "check item states": Call("GET", "/cards/{card}/checkItemStates"),
    "add comment": Call("POST", "/cards/{card}/actions/comments", {"text": "Ещё"}),
    "edit comment": Call("PUT", "/actions/{comment}", {"text": "Изменено"}),
    "edit comment text": Call("PUT", "/actions/{comment}/text", {"value": "Изменено"}),
    "delete comment": Call("DELETE", "/actions/{comment}"),
    "action": Call("GET", "/actions/{comment}"),
    "card actions": Call("GET", "/cards/{card}/actions", {"filter": "all", "limit": "10"}),
    "card attachments": Call("GET", "/cards/{card}/attachments"),
    "add attachment file": Call("POST", "/cards/{card}/attachments", files=True),
    "add attachment url": Call(
        "POST", "/cards/{card}/attachments", {"url": "https://example.org", "name": "Site"}
    ),
    "card attachment": Call("GET", "/cards/{card}/attachments/{attachment}"),
    "delete attachment": Call("DELETE", "/cards/{card}/attachments/{attachment}"),
    "batch": Call("GET", "/batch", {"urls": "/boards/{board},/cards/{card}"}),
    "create webhook": Call(
        "POST",
        "/webhooks",
        {"callbackURL": "https://example.org/other", "idModel": "{card}", "description": "card"},
    ),
    "token webhooks": Call("GET", "/tokens/{token}/webhooks"),
    "organization": Call("GET", "/organizations/{organization}"),
    "webhook": Call("GET", "/webhooks/{hook}"),
    "update webhook": Call(
        "PUT", "/webhooks/{hook}", {"description": "renamed", "active": "false"}
    ),
    "delete webhook": Call("DELETE", "/webhooks/{hook}"),
}

# Endpoints documented as answering an array of attachments; Trello answers the one attachment.
SINGLE_ATTACHMENT = {"add attachment file", "add attachment url", "card attachment"}


def as_documented(name: str, body: Any) -> Any:
    """``body`` with the fields where the spec contradicts the live API in their documented form."""
    body = _documented(body)
    return [body] if name in SINGLE_ATTACHMENT else body


def _documented(body: Any) -> Any:
    if isinstance(body, list):
        return [_documented(item) for item in body]
    if not isinstance(body, dict):
        return body
    out = {key: _documented(value) for key, value in body.items()}
    if "isUpload" in out and isinstance(out.get("bytes"), int):
        out["bytes"] = str(out["bytes"])  # Attachment.bytes is typed string; Trello sends a size
    if "labelNames" in out and "prefs" in out:  # a board
        if out.get("descData") is None:
            out.pop("descData", None)  # typed string; Trello sends null for a plain description
        if out["prefs"].get("permissionLevel") in ("private", "public"):
            out["prefs"]["permissionLevel"] = "board"  # the enum lacks Trello's commonest values
        if isinstance(out.get("memberships"), list):
            out["memberships"] = json.dumps(out["memberships"])  # typed string; Trello: an array
    if "username" in out and "email" in out and out["email"] is None:
        del out["email"]  # not nullable; Trello sends null for other people's addresses
    return out


@pytest.fixture
def validator() -> SpecValidator:
    return SpecValidator.load("trello")


@pytest.mark.parametrize("name", sorted(CALLS))
def test_response_matches_the_spec(
    name: str, trello_sandbox: SandboxServer, validator: SpecValidator
) -> None:
    ids = world(trello_sandbox)
    call = CALLS[name]
    path = call.path.format(**ids)
    params = {k: v.format(**ids) for k, v in call.params.items()}
    files = (
        {"file": ("agenda.ics", io.BytesIO(b"BEGIN:VCALENDAR"), "text/calendar")}
        if call.files
        else None
    )
    response = _call(trello_sandbox, call.method, path, files=files, **params)
    assert response.status_code == 200, response.text
    body = as_documented(name, response.json())
    assert validator.problems(call.method, "/1" + path, 200, body) == []


def test_live_forms_the_spec_gets_wrong(trello_sandbox: SandboxServer) -> None:
    """What :func:`as_documented` rewrites is really what the emulator (like Trello) sends."""
    ids = world(trello_sandbox)
    attachment = _ok(
        _call(trello_sandbox, "GET", f"/cards/{ids['card']}/attachments/{ids['attachment']}")
    )
    assert isinstance(attachment, dict) and attachment["bytes"] == len(b"minutes")
    board = _ok(_call(trello_sandbox, "GET", f"/boards/{ids['board']}", fields="all"))
    assert board["prefs"]["permissionLevel"] == "private" and board["descData"] is None
    assert {m["idMember"] for m in board["memberships"]} >= {ids["me"], ids["other"]}
    assert _ok(_call(trello_sandbox, "GET", "/members/ivan"))["email"] is None


def test_validator_catches_a_wrong_shape(
    trello_sandbox: SandboxServer, validator: SpecValidator
) -> None:
    """Guards the guard: a card whose fields have the wrong types is reported."""
    ids = world(trello_sandbox)
    card = _ok(_call(trello_sandbox, "GET", f"/cards/{ids['card']}"))
    assert validator.problems("GET", f"/1/cards/{ids['card']}", 200, card) == []
    broken = {**card, "closed": "no", "idMembers": "x"}
    assert len(validator.problems("GET", f"/1/cards/{ids['card']}", 200, broken)) == 2
