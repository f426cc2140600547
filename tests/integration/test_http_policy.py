"""One retry policy for every tracker request, checked through the real clients and sandbox."""

from __future__ import annotations

import pytest
import requests

from planerka_sync.config import JiraTracker, TrelloTracker
from planerka_sync.errors import TrackerAuthError, TransientTrackerError
from planerka_sync.sandbox import make_emulator
from planerka_sync.sandbox.server import SandboxServer
from planerka_sync.trackers.http import MaybeApplied, NotApplied, RetryPolicy, TrackerSession
from planerka_sync.trackers.jira import JiraAdapter
from planerka_sync.trackers.trello import TrelloAdapter

SECRET = "s3cr3t-token-value-42"



class Sleeps(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def trello_adapter(url: str, sleeps: Sleeps, token: str = "t") -> TrelloAdapter:
    config = TrelloTracker.model_validate(
        {"kind": "trello", "url": url, "api_key": "k", "token": token, "board": "Marketing"})
    return TrelloAdapter(config, TrackerSession("Trello", policy=RetryPolicy(sleep=sleeps)))


def fault(server: SandboxServer, **spec: object) -> None:
    requests.post(f"{server.url}/_sandbox/faults", json=spec, timeout=5).raise_for_status()


def log(server: SandboxServer, method: str, path_end: str) -> list[int]:
    entries = requests.get(f"{server.url}/_sandbox/requests", timeout=5).json()
    return [e["status"] for e in entries if e["method"] == method and e["path"].endswith(path_end)]


def to_do_list(adapter: TrelloAdapter) -> str:
    return adapter.list_id("To Do", "tasks_list")


def test_a_write_refused_with_429_is_retried_after_retry_after(trello: SandboxServer) -> None:
    sleeps = Sleeps()
    adapter = trello_adapter(trello.url, sleeps)
    list_id = to_do_list(adapter)
    fault(trello, method="POST", path=r"/1/cards$", status=429, count=2,
          headers={"Retry-After": "1"}, body="API_TOKEN_LIMIT_EXCEEDED")
    card = adapter._call("POST", "/cards", body={"idList": list_id, "name": "x"})
    assert card["name"] == "x"
    assert sleeps == [1.0, 1.0]
    assert log(trello, "POST", "/1/cards") == [429, 429, 200]


def test_trello_429_without_retry_after_backs_off_with_jitter(trello: SandboxServer) -> None:
    sleeps = Sleeps()
    adapter = trello_adapter(trello.url, sleeps)
    fault(trello, method="GET", path=r"/1/boards/", status=429, count=1,
          body={"error": "API_TOKEN_LIMIT_EXCEEDED"})
    adapter.layout()
    assert len(sleeps) == 1 and 0 < sleeps[0] <= 30


def test_a_failed_write_is_not_retried_but_a_failed_read_is(trello: SandboxServer) -> None:
    sleeps = Sleeps()
    adapter = trello_adapter(trello.url, sleeps)
    list_id = to_do_list(adapter)
    fault(trello, method="POST", path=r"/1/cards$", status=500, count=1)
    with pytest.raises(TransientTrackerError):
        adapter._call("POST", "/cards", body={"idList": list_id, "name": "x"})
    assert log(trello, "POST", "/1/cards") == [500]
    fault(trello, method="GET", path=r"/1/lists/", status=503, count=2)
    cards = adapter._call("GET", f"/lists/{list_id}/cards")
    assert cards == []
    assert log(trello, "GET", "/cards") == [503, 503, 200]


def test_a_dropped_write_is_maybe_applied_and_not_resent(trello: SandboxServer) -> None:
    adapter = trello_adapter(trello.url, Sleeps())
    list_id = to_do_list(adapter)
    fault(trello, method="POST", path=r"/1/cards$", drop=True, count=1)
    with pytest.raises(MaybeApplied):
        adapter._call("POST", "/cards", body={"idList": list_id, "name": "dropped"})
    assert len(log(trello, "POST", "/1/cards")) == 1
    assert [c["name"] for c in adapter._call("GET", f"/lists/{list_id}/cards")] == ["dropped"]


def test_an_unreachable_tracker_is_retried_then_explained() -> None:
    sleeps = Sleeps()
    adapter = trello_adapter("http://127.0.0.1:9", sleeps)  # the discard port: nothing listens
    with pytest.raises(NotApplied) as err:
        adapter.layout()
    assert len(sleeps) == RetryPolicy().attempts - 1
    assert "tracker.url" in err.value.message


def test_errors_never_show_the_token(tmp_path: object) -> None:
    seed = make_emulator("trello").default_seed() | {
        "credentials": [{"key": "k", "token": "the-right-one", "member": "anna"}]}
    server = SandboxServer(make_emulator("trello", seed)).start()
    try:
        adapter = trello_adapter(server.url, Sleeps(), token=SECRET)
        with pytest.raises(TrackerAuthError) as err:
            adapter.layout()
        assert "401" in err.value.message
        assert SECRET not in str(err.value) + str(err.value.detail)
    finally:
        server.stop()


def test_jira_client_does_not_resend_a_post_after_429() -> None:
    server = SandboxServer(make_emulator("jira-cloud")).start()
    try:
        sleeps = Sleeps()
        config = JiraTracker.model_validate({
            "kind": "jira", "url": server.url, "email": "anna@example.org", "token": "t",
            "project": "MKT"})
        adapter = JiraAdapter(config, TrackerSession("Jira", policy=RetryPolicy(sleep=sleeps)))
        fault(server, method="POST", path=r"/rest/api/3/issue$", status=429, count=1,
              headers={"Retry-After": "2"})
        created = adapter._post("issue", {"fields": {
            "project": {"key": "MKT"}, "issuetype": {"name": "Task"}, "summary": "once"}})
        assert created["key"].startswith("MKT-")
        assert sleeps == [2.0]  # our policy waited; the library did not retry on its own
        assert log(server, "POST", "/rest/api/3/issue") == [429, 201]
    finally:
        server.stop()
