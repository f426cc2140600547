"""The Trello sandbox driven over HTTP by the real py-trello client (and plain requests where
py-trello has no wrapper): what later adapter code relies on."""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests
from trello.exceptions import ResourceUnavailable, Unauthorized

from planerka_sync.sandbox import seed as demo
from planerka_sync.sandbox.server import SandboxServer
from tests.conftest import request_log
from tests.integration.trello_client import sandbox_client

AUTH = {"key": "sandbox-key", "token": "sandbox-token"}
PEOPLE = {p["trello_username"]: p for p in demo.DEFAULT_PEOPLE}


@pytest.fixture
def client(trello_sandbox: SandboxServer) -> Any:
    return sandbox_client(trello_sandbox.url)


@pytest.fixture
def board(client: Any) -> Any:
    return client.list_boards()[0]


@pytest.fixture
def lists(board: Any) -> dict[str, Any]:
    return {lst.name: lst for lst in board.list_lists()}


def api(server: SandboxServer, method: str, path: str, **params: Any) -> requests.Response:
    """A raw Trello call with key/token in the query string."""
    return requests.request(method, f"{server.url}/1{path}", params={**AUTH, **params}, timeout=10)


def control(server: SandboxServer, method: str, what: str, body: Any = None) -> requests.Response:
    return requests.request(method, f"{server.url}/_sandbox/{what}", json=body, timeout=10)


# --- members, boards, lists -------------------------------------------------------------------


def test_members_me_is_the_default_actor(client: Any) -> None:
    me = client.get_member("me")
    anna = PEOPLE[demo.DEFAULT_ACTOR]
    assert (me.id, me.username, me.full_name) == (anna["trello_id"], "anna", anna["name"])
    assert me.email == anna["email"]
    other = client.get_member("ivan")
    assert other.id == PEOPLE["ivan"]["trello_id"]
    assert other.email is None  # Trello shows e-mail addresses to their owner only


def test_board_has_seed_lists_in_order_and_every_person(board: Any) -> None:
    lists = board.list_lists()
    assert [lst.name for lst in lists] == demo.TRELLO_LISTS
    assert [lst.pos for lst in lists] == sorted(lst.pos for lst in lists)
    assert {m.username for m in board.all_members()} == set(PEOPLE)


def test_board_by_short_link_and_nested_resources(
    trello_sandbox: SandboxServer, board: Any
) -> None:
    short = api(trello_sandbox, "GET", f"/boards/{board.id}").json()["shortUrl"].rsplit("/", 1)[1]
    body = api(
        trello_sandbox,
        "GET",
        f"/boards/{short}",
        lists="open",
        members="all",
        labels="all",
        fields="name",
    ).json()
    assert body["id"] == board.id and body["name"] == "Marketing"
    assert [lst["name"] for lst in body["lists"]] == demo.TRELLO_LISTS
    assert {m["username"] for m in body["members"]} == set(PEOPLE)
    assert {lb["color"] for lb in body["labels"]} >= {"green", "red"}
    assert "desc" not in body  # fields=name


def test_unknown_and_malformed_ids(trello_sandbox: SandboxServer) -> None:
    malformed = api(trello_sandbox, "GET", "/cards/not-an-id")
    missing = api(trello_sandbox, "GET", "/cards/" + "a" * 24)
    assert (malformed.status_code, malformed.text) == (400, "invalid id")
    assert (missing.status_code, missing.text) == (404, "The requested resource was not found.")
    assert missing.headers["Content-Type"].startswith("text/plain")


def test_create_and_rename_list(trello_sandbox: SandboxServer, board: Any) -> None:
    created = board.add_list("Backlog", pos="bottom")
    created.set_name("Ideas")
    body = api(trello_sandbox, "GET", f"/lists/{created.id}").json()
    assert body["name"] == "Ideas" and body["idBoard"] == board.id
    assert body["pos"] > max(lst.pos for lst in board.list_lists() if lst.id != created.id)


# --- cards ---------------------------------------------------------------------------------------


def test_add_card_with_member_and_due(board: Any, lists: dict[str, Any], client: Any) -> None:
    ivan = client.get_member("ivan")
    card = lists["To Do"].add_card(
        "Запустить рассылку", desc="planerka:abc", due="2026-02-01", assign=[ivan]
    )
    assert card.idMembers == [ivan.id]
    assert card.due == "2026-02-01T00:00:00.000Z"
    found = {c.id: c for c in board.get_cards()}
    assert found[card.id].desc == "planerka:abc" and found[card.id].idList == lists["To Do"].id


def test_moving_card_between_lists_records_list_before_after(
    board: Any, lists: dict[str, Any]
) -> None:
    card = lists["To Do"].add_card("Отчёт по SEO")
    card.change_list(lists["Done"].id)
    card.fetch(eager=False)
    assert card.idList == lists["Done"].id
    moves = board.fetch_actions("updateCard:idList")
    assert moves[0]["data"]["listBefore"]["name"] == "To Do"
    assert moves[0]["data"]["listAfter"]["name"] == "Done"
    assert moves[0]["data"]["old"] == {"idList": lists["To Do"].id}


def test_put_card_changes_fields_and_records_old_values(
    trello_sandbox: SandboxServer, lists: dict[str, Any]
) -> None:
    card = lists["To Do"].add_card("Draft")
    changed = requests.put(
        f"{trello_sandbox.url}/1/cards/{card.id}",
        params=AUTH,
        timeout=10,
        data={"name": "Final", "dueComplete": "true"},
    ).json()
    assert (changed["name"], changed["dueComplete"]) == ("Final", True)
    actions = api(trello_sandbox, "GET", f"/cards/{card.id}/actions", filter="updateCard").json()
    olds = [a["data"]["old"] for a in actions]
    assert {"name": "Draft"} in olds and {"dueComplete": False} in olds


def test_card_members_added_and_removed(client: Any, lists: dict[str, Any]) -> None:
    card = lists["To Do"].add_card("KPI")
    maria = client.get_member("maria")
    card.add_member(maria)
    card.fetch(eager=False)
    assert card.idMembers == [maria.id]
    card.remove_member(maria)
    card.fetch(eager=False)
    assert card.idMembers == []
    kinds = [a["type"] for a in card.fetch_actions("addMemberToCard,removeMemberFromCard")]
    assert kinds == ["removeMemberFromCard", "addMemberToCard"]


def test_deleted_card_is_gone(trello_sandbox: SandboxServer, lists: dict[str, Any]) -> None:
    card = lists["To Do"].add_card("Temp")
    card.delete()
    assert api(trello_sandbox, "GET", f"/cards/{card.id}").status_code == 404


# --- checklists -----------------------------------------------------------------------------------


def test_checklist_with_native_member_and_due_items(
    trello_sandbox: SandboxServer, client: Any, board: Any, lists: dict[str, Any]
) -> None:
    card = lists["Планёрки"].add_card("Планёрка 12.01")
    checklist = client.fetch_json(
        f"/cards/{card.id}/checklists", http_method="POST", post_args={"name": "Решения"}
    )
    oleg = PEOPLE["oleg"]["trello_id"]
    item = client.fetch_json(
        f"/checklists/{checklist['id']}/checkItems",
        http_method="POST",
        post_args={"name": "Бюджет на Q1", "due": "2026-01-19T09:00:00Z", "idMember": oleg},
    )
    assert (item["idMember"], item["due"], item["state"]) == (
        oleg,
        "2026-01-19T09:00:00.000Z",
        "incomplete",
    )
    cards = api(trello_sandbox, "GET", f"/boards/{board.id}/cards", checklists="all").json()
    ours = next(c for c in cards if c["id"] == card.id)
    assert ours["checklists"][0]["checkItems"][0]["idMember"] == oleg
    done = client.fetch_json(
        f"/cards/{card.id}/checkItem/{item['id']}",
        http_method="PUT",
        post_args={"state": "complete"},
    )
    assert done["state"] == "complete"
    states = client.fetch_json(f"/cards/{card.id}/checkItemStates")
    assert states == [{"idCheckItem": item["id"], "state": "complete"}]
    ticks = board.fetch_actions("updateCheckItemStateOnCard")
    assert ticks[0]["data"]["checkItem"] == {
        **ticks[0]["data"]["checkItem"],
        "id": item["id"],
        "state": "complete",
    }


def test_py_trello_checklist_helpers(client: Any, lists: dict[str, Any]) -> None:
    card = lists["To Do"].add_card("Agenda")
    checklist = card.add_checklist("Повестка", ["Трафик", "Конверсии"], [False, True])
    checklist.set_checklist_item("Трафик", True)
    checklist.rename("Agenda")
    card = client.get_card(card.id)  # Card.fetch() keeps py-trello's stale checklist count
    assert card.badges["checkItems"] == 2 and card.badges["checkItemsChecked"] == 2
    assert [c.name for c in card.checklists] == ["Agenda"]


# --- comments -------------------------------------------------------------------------------------


def test_comment_add_and_edit(board: Any, lists: dict[str, Any]) -> None:
    card = lists["Планёрки"].add_card("Планёрка")
    posted = card.comment("Прогресс: 3 из 5")
    assert posted["type"] == "commentCard" and posted["memberCreator"]["username"] == "anna"
    edited = card.update_comment(posted["id"], "Прогресс: 4 из 5")
    assert edited["id"] == posted["id"] and edited["data"]["text"] == "Прогресс: 4 из 5"
    assert [c["data"]["text"] for c in card.fetch_comments(force=True)] == ["Прогресс: 4 из 5"]
    assert board.fetch_actions("updateComment")[0]["data"]["old"] == {"text": "Прогресс: 3 из 5"}


def test_comment_delete(trello_sandbox: SandboxServer, lists: dict[str, Any]) -> None:
    card = lists["To Do"].add_card("C")
    posted = card.comment("x")
    assert api(trello_sandbox, "DELETE", f"/actions/{posted['id']}").status_code == 200
    assert card.fetch_comments(force=True) == []


# --- attachments ----------------------------------------------------------------------------------


def test_attach_file_keeps_bytes_and_serves_them(
    trello_sandbox: SandboxServer, lists: dict[str, Any]
) -> None:
    card = lists["Планёрки"].add_card("Планёрка")
    content = b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n"
    attached = card.attach(name="invite.ics", mimeType="text/calendar", file=io.BytesIO(content))
    assert attached["bytes"] == len(content) and attached["isUpload"] is True
    [listed] = card.get_attachments()
    assert listed.name == "invite.ics" and listed.mime_type == "text/calendar"
    download = requests.get(listed.url, params=AUTH, timeout=10)
    assert download.content == content and download.headers["Content-Type"] == "text/calendar"
    card.remove_attachment(listed.id)
    assert card.get_attachments() == []


def test_attach_url(lists: dict[str, Any]) -> None:
    card = lists["To Do"].add_card("Link")
    attached = card.attach(name="Dashboard", url="https://example.org/kpi")
    assert (attached["url"], attached["isUpload"], attached["name"]) == (
        "https://example.org/kpi",
        False,
        "Dashboard",
    )


# --- copying a template card ----------------------------------------------------------------------


def test_copy_card_with_checklists_in_one_request(
    trello_sandbox: SandboxServer, client: Any, lists: dict[str, Any]
) -> None:
    template = lists["Планёрки"].add_card("Шаблон планёрки", desc="agenda")
    checklist = template.add_checklist("Повестка", ["Трафик", "Конверсии"])
    control(trello_sandbox, "DELETE", "requests")
    copy = lists["Планёрки"].add_card("Планёрка 19.01", source=template.id)
    assert len(request_log(trello_sandbox)) == 1
    assert copy.desc == "agenda" and copy.name == "Планёрка 19.01"
    [copied] = client.fetch_json(f"/cards/{copy.id}/checklists")
    assert copied["name"] == "Повестка" and copied["id"] != checklist.id
    assert [i["name"] for i in copied["checkItems"]] == ["Трафик", "Конверсии"]
    assert {i["id"] for i in copied["checkItems"]}.isdisjoint({i["id"] for i in checklist.items})


def test_copy_card_explicit_fields_override_source(client: Any, lists: dict[str, Any]) -> None:
    ivan, maria = PEOPLE["ivan"]["trello_id"], PEOPLE["maria"]["trello_id"]
    template = client.fetch_json(
        "/cards",
        http_method="POST",
        post_args={
            "idList": lists["To Do"].id,
            "name": "T",
            "desc": "source",
            "due": "2026-01-01",
            "idMembers": ivan,
        },
    )
    copy = client.fetch_json(
        "/cards",
        http_method="POST",
        post_args={
            "idList": lists["To Do"].id,
            "idCardSource": template["id"],
            "keepFromSource": "all",
            "desc": "mine",
            "due": "2026-03-01T10:00:00Z",
            "idMembers": maria,
        },
    )
    assert (copy["name"], copy["desc"]) == ("T", "mine")
    assert copy["due"] == "2026-03-01T10:00:00.000Z" and copy["idMembers"] == [maria]
    partial = client.fetch_json(
        "/cards",
        http_method="POST",
        post_args={
            "idList": lists["To Do"].id,
            "idCardSource": template["id"],
            "keepFromSource": "checklists",
        },
    )
    assert partial["due"] is None and partial["idMembers"] == []


# --- actions --------------------------------------------------------------------------------------


def test_board_actions_since_an_action_id_and_a_date(
    trello_sandbox: SandboxServer, board: Any, lists: dict[str, Any]
) -> None:
    card = lists["To Do"].add_card("Since")
    cursor = board.fetch_actions("all", action_limit=1)[0]
    card.comment("after the cursor")
    newer = board.fetch_actions("all", since=cursor["id"])
    assert [a["type"] for a in newer] == ["commentCard"]
    by_date = api(trello_sandbox, "GET", f"/boards/{board.id}/actions", since=cursor["date"]).json()
    assert [a["id"] for a in by_date] == [a["id"] for a in newer]
    older = board.fetch_actions("all", before=newer[0]["id"])
    assert newer[0]["id"] not in {a["id"] for a in older} and cursor["id"] in {
        a["id"] for a in older
    }


def test_action_ids_order_like_their_dates(board: Any, lists: dict[str, Any]) -> None:
    card = lists["To Do"].add_card("Order")
    for n in range(5):
        card.comment(f"c{n}")
    actions = board.fetch_actions("all")
    assert [a["id"] for a in actions] == sorted((a["id"] for a in actions), reverse=True)
    assert [a["date"] for a in actions] == sorted((a["date"] for a in actions), reverse=True)


def test_list_cards_paginate_by_id_cursor(lists: dict[str, Any]) -> None:
    """py-trello's list_cards_iter pages with limit + before=<smallest id seen>."""
    created = [lists["In Progress"].add_card(f"Card {n}").id for n in range(7)]
    paged = [c.id for c in lists["In Progress"].list_cards_iter(batch=3)]
    assert sorted(paged) == sorted(created) and len(paged) == 7


def test_actions_limit_is_capped(trello_sandbox: SandboxServer, board: Any) -> None:
    response = api(trello_sandbox, "GET", f"/boards/{board.id}/actions", limit=1001)
    assert response.status_code == 400


# --- batch ----------------------------------------------------------------------------------------


def test_batch_answers_each_route_and_logs_one_request(
    trello_sandbox: SandboxServer, client: Any, board: Any, lists: dict[str, Any]
) -> None:
    card = lists["To Do"].add_card("Batch")
    control(trello_sandbox, "DELETE", "requests")
    urls = f"/boards/{board.id},/cards/{card.id}?fields=name,/cards/{'b' * 24}"
    answers = client.fetch_json("/batch", query_params={"urls": urls})
    assert answers[0]["200"]["name"] == "Marketing"
    assert answers[1]["200"] == {"id": card.id, "name": "Batch"}
    assert list(answers[2]) == ["404"]
    assert [e["path"] for e in request_log(trello_sandbox)] == ["/1/batch"]
    too_many = api(trello_sandbox, "GET", "/batch", urls=",".join(["/members/me"] * 11))
    assert too_many.status_code == 400


# --- auth and realism -----------------------------------------------------------------------------


def test_missing_and_invalid_credentials(trello_sandbox: SandboxServer) -> None:
    no_key = requests.get(f"{trello_sandbox.url}/1/members/me", timeout=10)
    assert (no_key.status_code, no_key.text) == (401, "invalid key")
    control(
        trello_sandbox,
        "POST",
        "seed",
        {
            "members": [{"username": "anna", "fullName": "Anna"}],
            "credentials": [{"key": "k1", "token": "t1", "member": "anna"}],
        },
    )
    assert sandbox_client(trello_sandbox.url, "k1", "t1").get_member("me").username == "anna"
    with pytest.raises(Unauthorized, match="invalid token"):
        sandbox_client(trello_sandbox.url, "k1", "wrong").get_member("me")
    with pytest.raises(Unauthorized, match="invalid key"):
        sandbox_client(trello_sandbox.url, "k2", "t1").get_member("me")


def test_get_with_a_body_is_forbidden(trello_sandbox: SandboxServer) -> None:
    response = requests.get(
        f"{trello_sandbox.url}/1/members/me", params=AUTH, data=b"{}", timeout=10
    )
    assert response.status_code == 403


def test_private_board_is_hidden_from_non_members(trello_sandbox: SandboxServer) -> None:
    control(
        trello_sandbox,
        "POST",
        "seed",
        {
            "members": [{"username": "anna"}, {"username": "eve"}],
            "credentials": [{"key": "k", "token": "eve", "member": "eve"}],
            "boards": [{"name": "Secret", "members": ["anna"], "lists": ["A"]}],
        },
    )
    board_id = next(iter(control(trello_sandbox, "GET", "state").json()["boards"]))
    response = requests.get(
        f"{trello_sandbox.url}/1/boards/{board_id}", params={"key": "k", "token": "eve"}, timeout=10
    )
    assert (response.status_code, response.text) == (401, "unauthorized permission requested")


def test_retry_after_fault_seen_by_two_consecutive_calls(
    trello_sandbox: SandboxServer, client: Any
) -> None:
    control(
        trello_sandbox,
        "POST",
        "faults",
        {
            "path": "^/1/members/me$",
            "status": 429,
            "count": 2,
            "headers": {"Retry-After": "1"},
            "body": "slow down",
        },
    )
    for _ in range(2):
        with pytest.raises(ResourceUnavailable) as raised:
            client.get_member("me")
        assert raised.value._status == 429
        assert client.http_service.last_response.headers["Retry-After"] == "1"
    assert client.get_member("me").username == "anna"


def test_dropped_connection_after_the_card_was_created(
    trello_sandbox: SandboxServer, board: Any, lists: dict[str, Any]
) -> None:
    control(
        trello_sandbox, "POST", "faults", {"path": "^/1/cards$", "method": "POST", "drop": True}
    )
    with pytest.raises(requests.ConnectionError):
        lists["To Do"].add_card("planerka:marker-1")
    assert [c.name for c in board.get_cards()] == ["planerka:marker-1"]


def test_rate_limit_per_token(trello_sandbox: SandboxServer) -> None:
    clock = [1_800_000_000.0]
    trello_sandbox.emulator.now = lambda: clock[0]  # type: ignore[method-assign]
    control(trello_sandbox, "POST", "options", {"rate_limit": True})
    session = requests  # one connection per call, as py-trello does
    statuses = [
        session.get(f"{trello_sandbox.url}/1/members/me", params=AUTH, timeout=10).status_code
        for _ in range(101)
    ]
    assert statuses[:100] == [200] * 100
    limited = session.get(f"{trello_sandbox.url}/1/members/me", params=AUTH, timeout=10)
    assert limited.status_code == 429 and "Retry-After" not in limited.headers
    assert limited.json()["error"] == "API_TOKEN_LIMIT_EXCEEDED"
    other_token = session.get(
        f"{trello_sandbox.url}/1/members/me", timeout=10, params={**AUTH, "token": "another"}
    )
    assert other_token.status_code == 200  # the per-key budget (300) is not spent yet
    clock[0] += 10.5
    assert (
        session.get(f"{trello_sandbox.url}/1/members/me", params=AUTH, timeout=10).status_code
        == 200
    )


# --- webhooks -------------------------------------------------------------------------------------


class _Receiver(BaseHTTPRequestHandler):
    received: list[tuple[str, dict[str, str], bytes]]
    head_status = 200

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_HEAD(self) -> None:
        self.received.append(("HEAD", dict(self.headers), b""))
        self.send_response(self.head_status)
        self.end_headers()

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append(("POST", dict(self.headers), body))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()


@pytest.fixture
def receiver() -> Iterator[tuple[str, type[_Receiver]]]:
    handler = type("Receiver", (_Receiver,), {"received": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook", handler
    finally:
        server.shutdown()
        server.server_close()


def _wait_for_post(handler: type[_Receiver], timeout: float = 5.0) -> tuple[dict[str, str], bytes]:
    done = threading.Event()
    for _ in range(int(timeout / 0.05)):
        posts = [r for r in handler.received if r[0] == "POST"]
        if posts:
            return posts[0][1], posts[0][2]
        done.wait(0.05)
    raise AssertionError("no webhook delivery arrived")


def test_webhook_head_check_and_signed_delivery(
    trello_sandbox: SandboxServer,
    client: Any,
    board: Any,
    lists: dict[str, Any],
    receiver: tuple[str, type[_Receiver]],
) -> None:
    url, handler = receiver
    control(
        trello_sandbox,
        "POST",
        "options",
        {"webhook_head_check": True, "deliver_webhooks": True, "app_secret": "s3cret"},
    )
    hook = client.create_hook(url, board.id, desc="planerka")
    assert handler.received[0][0] == "HEAD"
    assert [h.id for h in client.list_hooks()] == [hook.id]
    card = lists["To Do"].add_card("Hooked")
    headers, body = _wait_for_post(handler)
    expected = base64.b64encode(
        hmac.new(b"s3cret", body + url.encode(), hashlib.sha1).digest()
    ).decode()
    assert headers["X-Trello-Webhook"] == expected
    payload = json.loads(body)
    assert (
        payload["action"]["type"] == "createCard"
        and payload["action"]["data"]["card"]["id"] == card.id
    )
    assert payload["model"]["id"] == board.id
    hook.delete()
    assert client.list_hooks() == []


def test_webhook_refused_when_callback_does_not_answer_200(
    trello_sandbox: SandboxServer, board: Any, receiver: tuple[str, type[_Receiver]]
) -> None:
    url, handler = receiver
    handler.head_status = 404
    control(trello_sandbox, "POST", "options", {"webhook_head_check": True})
    response = requests.post(
        f"{trello_sandbox.url}/1/webhooks",
        params=AUTH,
        timeout=10,
        data={"callbackURL": url, "idModel": board.id},
    )
    assert response.status_code == 400 and "did not return 200" in response.text


# --- seeds ----------------------------------------------------------------------------------------


def test_seed_with_cards_checklists_comments_and_bulk(trello_sandbox: SandboxServer) -> None:
    seed = {
        "members": [{"username": "anna", "fullName": "Anna"}, {"username": "ivan"}],
        "boards": [
            {
                "name": "Marketing",
                "lists": ["Планёрки", "To Do"],
                "cards": [
                    {
                        "name": "Планёрка",
                        "list": "Планёрки",
                        "members": ["anna"],
                        "checklists": [
                            {
                                "name": "Решения",
                                "items": [
                                    {
                                        "name": "Отчёт",
                                        "member": "ivan",
                                        "due": "2026-01-19",
                                        "checked": True,
                                    }
                                ],
                            }
                        ],
                        "comments": [{"text": "Готово", "member": "ivan"}],
                    }
                ],
                "generate": {"cards": 1000, "list": "To Do"},
            }
        ],
    }
    assert control(trello_sandbox, "POST", "seed", seed).status_code == 204
    board = api(trello_sandbox, "GET", "/members/me/boards").json()[0]
    path = f"/boards/{board['id']}/cards"
    # At most 1,000 cards an answer, newest first: the rest is `before` the oldest one seen.
    cards = api(trello_sandbox, "GET", path, checklists="all").json()
    assert len(cards) == 1000
    cards += api(trello_sandbox, "GET", path, checklists="all",
                 before=min(c["id"] for c in cards)).json()
    assert len(cards) == 1001
    meeting = next(c for c in cards if c["name"] == "Планёрка")
    item = meeting["checklists"][0]["checkItems"][0]
    ivan = api(trello_sandbox, "GET", "/members/ivan").json()["id"]
    assert (item["idMember"], item["state"], item["due"]) == (
        ivan,
        "complete",
        "2026-01-19T00:00:00.000Z",
    )
    comments = api(trello_sandbox, "GET", f"/cards/{meeting['id']}/actions").json()
    assert [c["data"]["text"] for c in comments] == ["Готово"]
    assert meeting["badges"]["comments"] == 1
    state = control(trello_sandbox, "GET", "state").json()
    assert len(state["cards"]) == 1001 and json.dumps(state)
