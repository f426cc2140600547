"""Admin webhooks of the Jira emulators, received by a real HTTP server on loopback.

Registration goes over REST on Data Center (admins only) and through ``/_sandbox/webhooks`` on
Cloud (standing in for the admin UI); deliveries are checked as a receiver sees them: headers,
the HMAC signature (recomputed here by hand), payload shape, retries and duplicates.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar

import pytest
import requests

from planerka_sync.sandbox.server import SandboxServer
from planerka_sync.webhooks import jira_valid

SECRET = "webhook-s3cret"
LABEL_FILTER = {"issue-related-events-section": "labels = planerka"}
ALL_EVENTS = ["comment_created", "comment_updated", "jira:issue_updated", "jira:issue_created",
              "jira:issue_deleted"]
T = TypeVar("T")


# --- a receiver of deliveries ------------------------------------------------------------------


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def identifier(self) -> str:
        return self.headers["X-Atlassian-Webhook-Identifier"]


@dataclass
class Receiver:
    url: str
    posts: list[Received] = field(default_factory=list)
    answers: list[int] = field(default_factory=list)  # statuses to answer first, then 200

    def on(self, path: str) -> list[Received]:
        return [p for p in self.posts if p.path == path]

    def wait(self, count: int, path: str | None = None) -> list[Received]:
        """The posts (to ``path``) once there are at least ``count`` of them."""

        def enough() -> list[Received] | None:
            found = list(self.posts) if path is None else self.on(path)
            return found if len(found) >= count else None

        return wait_for(enough, f"{count} deliveries to {path or 'any path'}")


class _Handler(BaseHTTPRequestHandler):
    receiver: Receiver

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.receiver.posts.append(Received(self.path, dict(self.headers), body))
        status = self.receiver.answers.pop(0) if self.receiver.answers else 200
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    found = Receiver(f"http://127.0.0.1:{server.server_address[1]}")
    server.RequestHandlerClass = type("Handler", (_Handler,), {"receiver": found})
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        yield found
    finally:
        server.shutdown()
        server.server_close()


def wait_for(check: Callable[[], T | None], what: str, timeout: float = 5.0) -> T:
    """Poll until ``check`` returns something other than None; fail after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    pause = threading.Event()
    while True:
        result = check()
        if result is not None:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        pause.wait(0.02)


# --- talking to the sandbox --------------------------------------------------------------------


@dataclass
class Api:
    """REST v2 calls as one user of either flavour."""

    server: SandboxServer
    auth: dict[str, str]

    def call(self, method: str, path: str, body: Any = None) -> requests.Response:
        return requests.request(method, self.server.url + path, json=body, headers=self.auth,
                                timeout=5)

    def ok(self, method: str, path: str, body: Any = None) -> Any:
        response = self.call(method, path, body)
        assert response.status_code < 300, response.text
        return response.json() if response.content else None

    def create_issue(self, summary: str, labels: list[str]) -> dict[str, Any]:
        fields = {"project": {"key": "MKT"}, "summary": summary, "issuetype": {"name": "Task"},
                  "labels": labels}
        return dict(self.ok("POST", "/rest/api/2/issue", {"fields": fields}))

    def comment(self, key: str, text: str) -> dict[str, Any]:
        return dict(self.ok("POST", f"/rest/api/2/issue/{key}/comment", {"body": text}))

    def transition(self, key: str, to: str) -> None:
        found = self.ok("GET", f"/rest/api/2/issue/{key}/transitions")["transitions"]
        tid = next(t["id"] for t in found if t["to"]["name"] == to)
        self.ok("POST", f"/rest/api/2/issue/{key}/transitions", {"transition": {"id": tid}})


def basic(user: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def dc_admin(server: SandboxServer) -> Api:
    return Api(server, {"Authorization": "Bearer personal-access-token"})


def cloud_admin(server: SandboxServer) -> Api:
    return Api(server, basic("anna@example.org", "api-token"))


def control(server: SandboxServer, method: str, what: str, body: Any = None) -> Any:
    response = requests.request(method, f"{server.url}/_sandbox/{what}", json=body, timeout=5)
    assert response.status_code in (200, 201, 204), response.text
    return response.json() if response.content else None


def hook_spec(url: str, **extra: Any) -> dict[str, Any]:
    return {"name": "planerka", "url": url, "events": ALL_EVENTS, "filters": LABEL_FILTER,
            "excludeBody": False, "secret": SECRET, **extra}


def deliveries(server: SandboxServer) -> list[dict[str, Any]]:
    return list(control(server, "GET", "deliveries"))


def logged(server: SandboxServer, count: int) -> list[dict[str, Any]]:
    """The delivery log once it has ``count`` attempts (it is written after the answer)."""

    def enough() -> list[dict[str, Any]] | None:
        found = deliveries(server)
        return found if len(found) >= count else None

    return wait_for(enough, f"{count} logged deliveries")


def signature_of(body: bytes, secret: str = SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


# --- registration --------------------------------------------------------------------------------


def test_dc_admin_registers_lists_updates_and_deletes_over_rest(
    jira_dc_sandbox: SandboxServer, receiver: Receiver
) -> None:
    admin = dc_admin(jira_dc_sandbox)
    response = admin.call("POST", "/rest/webhooks/1.0/webhook", hook_spec(receiver.url))
    assert response.status_code == 201, response.text
    hook = response.json()
    assert hook["self"] == f"{jira_dc_sandbox.url}/rest/webhooks/1.0/webhook/1"
    assert hook["name"] == "planerka" and hook["url"] == receiver.url
    assert hook["events"] == ALL_EVENTS and hook["filters"] == LABEL_FILTER
    assert hook["enabled"] is True and hook["excludeBody"] is False
    assert isinstance(hook["lastUpdated"], int) and "secret" not in hook

    assert admin.ok("GET", "/rest/webhooks/1.0/webhook") == [hook]
    renamed = admin.ok("PUT", "/rest/webhooks/1.0/webhook/1", {"name": "renamed"})
    assert renamed["name"] == "renamed" and renamed["events"] == ALL_EVENTS
    assert admin.ok("GET", "/rest/webhooks/1.0/webhook/1")["name"] == "renamed"
    assert admin.call("DELETE", "/rest/webhooks/1.0/webhook/1").status_code == 204
    assert admin.call("GET", "/rest/webhooks/1.0/webhook/1").status_code == 404


def test_dc_rejects_a_bad_registration(jira_dc_sandbox: SandboxServer) -> None:
    admin = dc_admin(jira_dc_sandbox)
    for bad in ({"url": "not a url"}, {"filters": {"issue-related-events-section": "labels ="}},
                {"events": "jira:issue_updated"}):
        response = admin.call("POST", "/rest/webhooks/1.0/webhook",
                              hook_spec("https://example.org/hook") | bad)
        assert response.status_code == 400, bad
        assert response.json()["errors"]


def test_only_admins_manage_webhooks(jira_dc_sandbox: SandboxServer) -> None:
    ivan = Api(jira_dc_sandbox, basic("ivan", "ivan-token"))  # a user, not an admin
    assert ivan.call("GET", "/rest/api/2/myself").json()["name"] == "ivan"
    spec = hook_spec("https://example.org/hook")
    assert ivan.call("POST", "/rest/webhooks/1.0/webhook", spec).status_code == 403
    assert ivan.call("GET", "/rest/webhooks/1.0/webhook").status_code == 403

    control(jira_dc_sandbox, "POST", "seed", {"admins": ["ivan"]})
    assert ivan.call("POST", "/rest/webhooks/1.0/webhook", spec).status_code == 201
    anna = dc_admin(jira_dc_sandbox)
    assert anna.call("GET", "/rest/webhooks/1.0/webhook").status_code == 403


def test_cloud_registers_through_the_admin_ui_control(jira_cloud_sandbox: SandboxServer) -> None:
    hook = control(jira_cloud_sandbox, "POST", "webhooks", hook_spec("https://example.org/hook"))
    assert hook["id"] == "1" and hook["filters"] == LABEL_FILTER and "secret" not in hook
    assert [h["id"] for h in control(jira_cloud_sandbox, "GET", "webhooks")] == ["1"]
    control(jira_cloud_sandbox, "DELETE", "webhooks")
    assert control(jira_cloud_sandbox, "GET", "webhooks") == []


# --- deliveries ----------------------------------------------------------------------------------


def test_cloud_comment_on_a_labelled_issue_is_delivered_signed(
    jira_cloud_sandbox: SandboxServer, receiver: Receiver
) -> None:
    control(jira_cloud_sandbox, "POST", "webhooks", hook_spec(receiver.url + "/webhooks/jira"))
    anna = cloud_admin(jira_cloud_sandbox)
    issue = anna.create_issue("Отчёт по SEO", ["planerka"])
    comment = anna.comment(issue["key"], "Решение: Иван до 2026-12-01")

    posts = receiver.wait(3)
    created, commented, updated = posts
    assert [p.json()["webhookEvent"] for p in posts] == [
        "jira:issue_created", "comment_created", "jira:issue_updated"]
    for post in posts:
        assert post.path == "/webhooks/jira"
        assert post.headers["Content-Type"] == "application/json"
        assert post.headers["User-Agent"] == "Atlassian Webhook HTTP Client"
        assert post.headers["X-Hub-Signature"] == signature_of(post.body)
        assert jira_valid(SECRET, post.body, post.headers["X-Hub-Signature"])
        assert "X-Atlassian-Webhook-Retry" not in post.headers
    assert len({p.identifier for p in posts}) == 3

    event = commented.json()
    assert isinstance(event["timestamp"], int) and event["timestamp"] > 1_700_000_000_000
    assert event["comment"]["id"] == comment["id"]
    assert event["comment"]["body"] == "Решение: Иван до 2026-12-01"  # v2: a string
    assert event["issue"]["key"] == issue["key"]
    assert event["issue"]["fields"]["labels"] == ["planerka"]
    assert event["issue"]["fields"]["status"]["name"] == "To Do"

    update = updated.json()
    assert update["issue_event_type_name"] == "issue_commented"
    assert update["user"]["accountId"] == "557058:anna"
    assert update["comment"]["id"] == comment["id"]
    assert update["issue"]["fields"]["summary"] == "Отчёт по SEO"
    assert {"duedate", "assignee"} <= set(update["issue"]["fields"])
    assert created.json()["issue_event_type_name"] == "issue_created"

    log = logged(jira_cloud_sandbox, 3)
    assert [(d["event"], d["status"], d["attempt"]) for d in log] == [
        ("jira:issue_created", 200, 0), ("comment_created", 200, 0),
        ("jira:issue_updated", 200, 0)]
    assert [d["identifier"] for d in log] == [p.identifier for p in posts]


def test_an_issue_outside_the_filter_is_not_delivered(
    jira_dc_sandbox: SandboxServer, receiver: Receiver
) -> None:
    control(jira_dc_sandbox, "POST", "webhooks",
            hook_spec(receiver.url, events=["comment_created"]))
    anna = dc_admin(jira_dc_sandbox)
    other = anna.create_issue("Не для планёрки", ["misc"])
    anna.comment(other["key"], "мимо")
    labelled = anna.create_issue("Для планёрки", ["planerka"])
    anna.comment(labelled["key"], "в цель")
    # Deliveries go out in order: once the later one is here, the earlier would be too.
    post = receiver.wait(1)[0]
    assert post.json()["issue"]["key"] == labelled["key"]
    assert post.json()["comment"]["body"] == "в цель"
    assert len(receiver.posts) == 1


def test_a_transition_delivers_issue_updated_with_the_status_change(
    jira_dc_sandbox: SandboxServer, receiver: Receiver
) -> None:
    admin = dc_admin(jira_dc_sandbox)
    admin.ok("POST", "/rest/webhooks/1.0/webhook",
             hook_spec(receiver.url, events=["jira:issue_updated"]))
    issue = admin.create_issue("Запустить рассылку", ["planerka"])
    admin.transition(issue["key"], "In Progress")

    event = receiver.wait(1)[0].json()
    assert event["webhookEvent"] == "jira:issue_updated"
    assert event["issue_event_type_name"] == "issue_generic"
    assert event["user"]["name"] == "anna"
    assert event["issue"]["key"] == issue["key"]
    assert event["issue"]["fields"]["status"]["name"] == "In Progress"
    status = [i for i in event["changelog"]["items"] if i["field"] == "status"]
    assert [(i["fromString"], i["toString"]) for i in status] == [("To Do", "In Progress")]
    assert event["changelog"]["id"]


def test_field_edits_and_deletion_are_delivered(
    jira_dc_sandbox: SandboxServer, receiver: Receiver
) -> None:
    admin = dc_admin(jira_dc_sandbox)
    control(jira_dc_sandbox, "POST", "webhooks", hook_spec(receiver.url))
    issue = admin.create_issue("Бюджет на рекламу", ["planerka"])
    admin.ok("PUT", f"/rest/api/2/issue/{issue['key']}", {"fields": {"duedate": "2026-12-05"}})
    admin.ok("PUT", f"/rest/api/2/issue/{issue['key']}/assignee", {"name": "ivan"})
    admin.ok("DELETE", f"/rest/api/2/issue/{issue['key']}")

    events = [p.json() for p in receiver.wait(4)]
    assert [(e["webhookEvent"], e["issue_event_type_name"]) for e in events] == [
        ("jira:issue_created", "issue_created"), ("jira:issue_updated", "issue_updated"),
        ("jira:issue_updated", "issue_assigned"), ("jira:issue_deleted", "issue_deleted")]
    due = events[1]["changelog"]["items"]
    assert [(i["field"], i["from"], i["to"]) for i in due] == [("duedate", None, "2026-12-05")]
    assert events[2]["issue"]["fields"]["assignee"]["name"] == "ivan"
    assert events[3]["issue"]["key"] == issue["key"]


def test_a_failed_delivery_is_retried_with_the_same_identifier(
    jira_cloud_sandbox: SandboxServer, receiver: Receiver
) -> None:
    receiver.answers = [500]
    control(jira_cloud_sandbox, "POST", "webhooks",
            hook_spec(receiver.url, events=["jira:issue_created"]))
    cloud_admin(jira_cloud_sandbox).create_issue("Повтор", ["planerka"])

    first, retry = receiver.wait(2)
    assert first.identifier == retry.identifier and first.body == retry.body
    assert "X-Atlassian-Webhook-Retry" not in first.headers
    assert retry.headers["X-Atlassian-Webhook-Retry"] == "1"
    log = logged(jira_cloud_sandbox, 2)
    assert [(d["status"], d["attempt"], d["identifier"]) for d in log] == [
        (500, 0, first.identifier), (200, 1, first.identifier)]


def test_a_receiver_that_keeps_failing_gets_the_configured_retries(
    jira_dc_sandbox: SandboxServer, receiver: Receiver
) -> None:
    receiver.answers = [503, 503, 503, 503]
    control(jira_dc_sandbox, "POST", "options", {"webhook_retries": 1})
    control(jira_dc_sandbox, "POST", "webhooks",
            hook_spec(receiver.url, events=["jira:issue_created"]))
    dc_admin(jira_dc_sandbox).create_issue("Сбой", ["planerka"])
    log = logged(jira_dc_sandbox, 2)
    assert [(d["status"], d["attempt"]) for d in log] == [(503, 0), (503, 1)]
    assert len({d["identifier"] for d in log}) == 1


def test_duplicates_share_the_identifier(
    jira_dc_sandbox: SandboxServer, receiver: Receiver
) -> None:
    control(jira_dc_sandbox, "POST", "options", {"webhook_duplicates": 2})
    control(jira_dc_sandbox, "POST", "webhooks",
            hook_spec(receiver.url, events=["jira:issue_created"]))
    admin = dc_admin(jira_dc_sandbox)
    admin.create_issue("Дубль 1", ["planerka"])
    admin.create_issue("Дубль 2", ["planerka"])
    posts = receiver.wait(6)
    ids = [p.identifier for p in posts]
    assert ids[0] == ids[1] == ids[2] != ids[3] == ids[4] == ids[5]
    assert all(p.body == posts[0].body for p in posts[:3])


def test_deleting_a_webhook_stops_its_deliveries(
    jira_dc_sandbox: SandboxServer, receiver: Receiver
) -> None:
    admin = dc_admin(jira_dc_sandbox)
    doomed = admin.ok("POST", "/rest/webhooks/1.0/webhook",
                      hook_spec(receiver.url + "/doomed", events=["jira:issue_created"]))
    control(jira_dc_sandbox, "POST", "webhooks",
            hook_spec(receiver.url + "/sentinel", events=["jira:issue_created"]))
    admin.create_issue("До удаления", ["planerka"])
    receiver.wait(1, "/sentinel")
    assert len(receiver.on("/doomed")) == 1

    assert admin.call("DELETE", doomed["self"].removeprefix(jira_dc_sandbox.url)
                      ).status_code == 204
    admin.create_issue("После удаления", ["planerka"])
    # The sentinel's delivery is queued after the deleted webhook's would have been.
    receiver.wait(2, "/sentinel")
    assert len(receiver.on("/doomed")) == 1


def test_no_body_unsigned_and_disabled_webhooks(
    jira_cloud_sandbox: SandboxServer, receiver: Receiver
) -> None:
    control(jira_cloud_sandbox, "POST", "webhooks",
            hook_spec(receiver.url + "/off", events=["jira:issue_created"], enabled=False))
    control(jira_cloud_sandbox, "POST", "webhooks",
            hook_spec(receiver.url + "/bare", events=["jira:issue_created"], secret=None,
                      excludeBody=True))
    cloud_admin(jira_cloud_sandbox).create_issue("Без тела", ["planerka"])
    post = receiver.wait(1, "/bare")[0]
    assert post.body == b"" and "X-Hub-Signature" not in post.headers
    assert post.identifier
    assert receiver.on("/off") == []


def test_seeding_delivers_nothing_and_reset_restores_the_seeded_webhooks(
    jira_dc_sandbox: SandboxServer, receiver: Receiver
) -> None:
    seed = {"issues": [{"summary": "Сидированная", "labels": ["planerka"],
                        "comments": [{"body": "старый комментарий"}]}],
            "webhooks": [hook_spec(receiver.url + "/seeded")]}
    control(jira_dc_sandbox, "POST", "seed", seed)
    control(jira_dc_sandbox, "POST", "webhooks", hook_spec(receiver.url + "/added"))
    assert [h["url"] for h in control(jira_dc_sandbox, "GET", "webhooks")] == [
        receiver.url + "/seeded", receiver.url + "/added"]

    control(jira_dc_sandbox, "POST", "reset")
    assert [h["url"] for h in control(jira_dc_sandbox, "GET", "webhooks")] == [
        receiver.url + "/seeded"]
    dc_admin(jira_dc_sandbox).comment("MKT-1", "новый комментарий")
    posts = receiver.wait(2)
    assert {p.path for p in posts} == {"/seeded"}
    assert [p.json()["webhookEvent"] for p in posts] == ["comment_created", "jira:issue_updated"]
    assert len(logged(jira_dc_sandbox, 2)) == 2
    control(jira_dc_sandbox, "DELETE", "deliveries")
    assert deliveries(jira_dc_sandbox) == []


def test_deliver_webhooks_false_mutes_them(
    jira_cloud_sandbox: SandboxServer, receiver: Receiver
) -> None:
    control(jira_cloud_sandbox, "POST", "webhooks",
            hook_spec(receiver.url + "/muted", events=["jira:issue_created"]))
    control(jira_cloud_sandbox, "POST", "options", {"deliver_webhooks": False})
    anna = cloud_admin(jira_cloud_sandbox)
    anna.create_issue("Тихо", ["planerka"])
    control(jira_cloud_sandbox, "POST", "options", {"deliver_webhooks": True})
    anna.create_issue("Громко", ["planerka"])
    post = receiver.wait(1)[0]
    assert post.json()["issue"]["fields"]["summary"] == "Громко"
    assert len(receiver.posts) == 1
