"""Logs, metrics and the client-side rate limit, through the real adapters against the sandbox."""

from __future__ import annotations

import base64
import io
import json
import logging
import threading
from collections.abc import Iterator
from typing import Any, Literal

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr

from planerka_sync.config import Config, HttpJsonSource, TrelloTracker
from planerka_sync.demo import demo_config
from planerka_sync.errors import ConfigError, TrackerAuthError, TrackerNotFound
from planerka_sync.observability import (
    Metrics,
    Redactor,
    instrument_trackers,
    redact,
    redact_also,
    referenced_variables,
    secrets_in_environment,
    secrets_of,
    serve_http,
    setup_logging,
)
from planerka_sync.ratelimit import TokenBucket
from planerka_sync.sandbox import make_emulator
from planerka_sync.sandbox.server import SandboxServer
from planerka_sync.trackers import make_tracker
from planerka_sync.trackers.http import RetryPolicy, TrackerSession, shown_path
from planerka_sync.trackers.trello import TrelloAdapter
from planerka_sync.web.http import parse_address
from tests.conftest import request_log

TOKEN = "tok-SECRET-123"
API_KEY = "key-SECRET-456"
KPI_TOKEN = "kpi-SECRET-789"
EMAIL = "lead@example.org"

log = logging.getLogger("planerka_sync.test")


class Sleeps(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def fault(server: SandboxServer, **spec: object) -> None:
    requests.post(f"{server.url}/_sandbox/faults", json=spec, timeout=5).raise_for_status()


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    for handler in root.handlers[:]:
        root.removeHandler(handler)
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)


def secret_config(flavour: str, url: str) -> Config:
    """The demo config with our secrets in every place a secret can be."""
    config = demo_config(flavour, url)
    changes: dict[str, Any] = {"token": SecretStr(TOKEN)}
    if flavour == "trello":
        changes["api_key"] = SecretStr(API_KEY)
    else:
        changes["email"] = EMAIL
    source = HttpJsonSource(url="https://bi.example.org/kpi", pointers={"visits": "/v"},
                            headers={"Authorization": f"Bearer {KPI_TOKEN}"})
    return config.model_copy(update={
        "tracker": config.tracker.model_copy(update=changes), "kpi_sources": [source]})


def secret_values(flavour: str) -> list[str]:
    values = [TOKEN, KPI_TOKEN]
    if flavour == "trello":
        return [*values, API_KEY]
    return [*values, base64.b64encode(f"{EMAIL}:{TOKEN}".encode()).decode()]


def talk_to_the_tracker(config: Config, server: SandboxServer, sleeps: Sleeps) -> None:
    """Real calls: one answered after a 429, one refused with 401, plus log calls that would
    leak if the filter did not catch the message, its arguments, extra fields or a traceback."""
    tracker = make_tracker(config, RetryPolicy(sleep=sleeps))
    fault(server, path=".", status=429, count=1, body={"error": "API_TOKEN_LIMIT_EXCEEDED"})
    list(tracker.task_states(None))
    fault(server, path=".", status=401, count=1, body="invalid token")
    with pytest.raises(TrackerAuthError) as refused:
        tracker.series_meetings("marketing-weekly")
    log.error("sync failed: %s", refused.value, exc_info=refused.value)
    log.debug("raw %s/1/members/me?key=%s&token=%s", server.url, API_KEY, TOKEN,
              extra={"job": "status", "headers": {"Authorization": f"Bearer {KPI_TOKEN}"}})
    try:
        raise RuntimeError(f"client said {TOKEN}")
    except RuntimeError:
        log.exception("unexpected")


@pytest.mark.parametrize("fmt", ["json", "text"])
@pytest.mark.parametrize("flavour", ["trello", "jira-cloud"])
def test_debug_logs_never_contain_a_secret(
    flavour: str, fmt: Literal["text", "json"], restore_logging: None
) -> None:
    server = SandboxServer(make_emulator(flavour)).start()
    try:
        config = secret_config(flavour, server.url)
        buffer = io.StringIO()
        setup_logging(logging.DEBUG, fmt, secrets_of(config), stream=buffer)
        sleeps = Sleeps()
        talk_to_the_tracker(config, server, sleeps)
    finally:
        server.stop()
    captured = buffer.getvalue()
    lines = captured.splitlines()
    for secret in secret_values(flavour):
        assert secret not in captured
    assert len(sleeps) == 1  # the 429 was retried once ...
    retries = [line for line in lines if "retrying in" in line]
    assert len(retries) == 1  # ... and logged once for its back-off step
    assert any("-> 401" in line for line in lines)
    assert any("-> 200" in line for line in lines)
    assert "RuntimeError: client said ***" in captured
    if flavour == "trello":  # urllib3 logged the URLs, with key and token in the query
        assert any("urllib3" in line and "token=***" in line for line in lines)
    if fmt == "json":
        entries = [json.loads(line) for line in lines]
        assert all({"ts", "level", "logger", "message"} <= set(e) for e in entries)
        raw = next(e for e in entries if e["message"].startswith("raw "))
        assert raw["job"] == "status" and raw["level"] == "DEBUG"
        assert raw["headers"] == {"Authorization": "***"}
        assert raw["ts"].endswith("+00:00")
        assert any("exc" in e and "TrackerAuthError" in e["exc"] for e in entries)


def test_secrets_of_a_config_collects_every_secret() -> None:
    config = secret_config("jira-cloud", "http://127.0.0.1:9")
    config = config.model_copy(update={"database": "postgresql+psycopg://sync:db-PASS-1@db/x"})
    found = secrets_of(config)
    assert set(secret_values("jira-cloud")) <= set(found)
    assert {f"Bearer {KPI_TOKEN}", "db-PASS-1"} <= set(found)
    assert API_KEY in secrets_of(secret_config("trello", "http://127.0.0.1:9"))


@pytest.mark.parametrize("text, expected", [
    ("GET /1/cards?fields=name&key=abc123&token=zz9", "GET /1/cards?fields=name&key=***&token=***"),
    ("{'Authorization': 'Basic dXNlcjpwYXNz', 'Accept': 'json'}",
     "{'Authorization': '***', 'Accept': 'json'}"),
    ("curl -H 'Authorization: Bearer eyJhbGc.x.y' https://x",
     "curl -H 'Authorization: ***' https://x"),
    ('OAuth oauth_consumer_key="k1", oauth_token="t1"',
     'OAuth oauth_consumer_key="***", oauth_token="***"'),
    ('{"api_key": "k1", "name": "Marketing"}', '{"api_key": "***", "name": "Marketing"}'),
    ("sent Bearer Abc123xyz0 to the API", "sent Bearer *** to the API"),
    ("with basic authentication", "with basic authentication"),
    ("tok-SECRET-123, url-encoded tok-SECRET-123%21", "***, url-encoded ***"),
])
def test_redaction_patterns(text: str, expected: str) -> None:
    redact = Redactor([TOKEN, "tok-SECRET-123!", "k"])
    assert redact(text) == expected


def test_secrets_learnt_later_are_masked_and_survive_a_new_setup(restore_logging: None) -> None:
    """The CLI sets logging up before the config is read, then adds the config's secrets;
    run/serve set it up again for --log-format and must not forget them."""
    first = io.StringIO()
    setup_logging(logging.DEBUG, "text", [], stream=first)
    redact_also([TOKEN])
    log.info("after: %s", TOKEN)
    second = io.StringIO()
    setup_logging(logging.DEBUG, "json", [API_KEY], stream=second)
    log.info("json: %s %s", TOKEN, API_KEY)
    assert "after: ***" in first.getvalue()
    assert json.loads(second.getvalue())["message"] == "json: *** ***"
    assert redact(f"error: GET /x?y={TOKEN}") == "error: GET /x?y=***"


def test_a_threads_uncaught_exception_is_logged_redacted(restore_logging: None) -> None:
    buffer = io.StringIO()
    setup_logging(logging.WARNING, "text", [TOKEN], stream=buffer)

    def fail() -> None:
        raise RuntimeError(f"worker saw {TOKEN}")

    worker = threading.Thread(target=fail, name="worker")
    worker.start()
    worker.join()
    assert "uncaught exception in thread worker" in buffer.getvalue()
    assert "RuntimeError: worker saw ***" in buffer.getvalue()
    assert TOKEN not in buffer.getvalue()


def test_the_secrets_known_before_and_from_the_config() -> None:
    env = {"TRELLO_TOKEN": TOKEN, "BI_API_KEY": KPI_TOKEN, "DB_PASSWORD": "pw-123456",
           "HOME": "/root", "BOARD": "Marketing-board", "PORT": "8080", "USE_TOKEN": "true"}
    assert set(secrets_in_environment(env)) == {TOKEN, KPI_TOKEN, "pw-123456"}
    raw = {"tracker": {"token": "${TRELLO_TOKEN}", "board": "${BOARD:-Marketing}"},
           "kpi_sources": [{"url": "https://bi/x?k=${BI_API_KEY}&p=${PORT}"}],
           "other": "${UNSET_VAR}"}
    assert referenced_variables(raw, env) == [KPI_TOKEN, "Marketing-board", TOKEN]


@pytest.mark.parametrize("path, shown", [
    ("/1/tokens/tok-SECRET-123/webhooks", "/1/tokens/***/webhooks"),
    ("/1/tokens/tok-SECRET-123/webhooks/5f1c0000000000000000abcd",
     "/1/tokens/***/webhooks/5f1c0000000000000000abcd"),
    ("/1/tokens/tok-SECRET-123", "/1/tokens/***"),
    (f"/1/members/{'ab12' * 16}/boards", "/1/members/***/boards"),  # a bare 64-hex token
    ("/1/cards/5f1c0000000000000000abcd", "/1/cards/5f1c0000000000000000abcd"),  # an id
    ("/rest/api/3/issue/MKT-12/comment", "/rest/api/3/issue/MKT-12/comment"),
])
def test_paths_in_messages_hide_tokens(path: str, shown: str) -> None:
    assert shown_path(path) == shown


def test_a_failed_webhook_listing_names_no_token(trello_sandbox: SandboxServer) -> None:
    """Trello lists webhooks at /1/tokens/{token}/webhooks: its errors and retry warnings
    show the path, which must not carry the token even without any log redaction."""
    session = TrackerSession("Trello", policy=RetryPolicy(sleep=Sleeps()))
    config = TrelloTracker.model_validate({"kind": "trello", "url": trello_sandbox.url,
                                           "api_key": API_KEY, "token": TOKEN,
                                           "board": "Marketing"})
    adapter = TrelloAdapter(config, session)
    fault(trello_sandbox, path="^/1/tokens/", status=404, count=1)
    with pytest.raises(TrackerNotFound) as missing:
        adapter.webhooks()
    assert "GET /1/tokens/***/webhooks (404)" in missing.value.message
    assert TOKEN not in str(missing.value)


# --- metrics and the HTTP endpoint -------------------------------------------------------------


@pytest.fixture
def metrics() -> Iterator[Metrics]:
    fresh = Metrics()
    stop = instrument_trackers(fresh)
    yield fresh
    stop()


def trello_adapter(url: str, session: TrackerSession) -> TrelloAdapter:
    config = TrelloTracker.model_validate(
        {"kind": "trello", "url": url, "api_key": "k", "token": "t", "board": "Marketing"})
    return TrelloAdapter(config, session)


def samples(text: str, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    return {tuple(sorted(s.labels.items())): s.value
            for family in text_string_to_metric_families(text)
            for s in family.samples if s.name == name}


def test_metrics_and_health_over_http(trello_sandbox: SandboxServer, metrics: Metrics) -> None:
    session = TrackerSession("Trello", policy=RetryPolicy(sleep=Sleeps()))
    adapter = trello_adapter(trello_sandbox.url, session)
    fault(trello_sandbox, method="GET", path=r"/1/boards/", status=429, count=1,
          headers={"Retry-After": "0"})
    with metrics.observe_job("status"):
        adapter.layout()
    metrics.count_decisions(3)
    metrics.count_error(TrackerAuthError("x"))
    unhealthy: list[str] = []
    server, url = serve_http("127.0.0.1:0", metrics=metrics,
                             health=lambda: unhealthy[0] if unhealthy else None)
    try:
        assert requests.get(f"{url}/healthz", timeout=5).json() == {"status": "ok"}
        unhealthy.append("scheduler stalled")
        answer = requests.get(f"{url}/healthz", timeout=5)
        assert answer.status_code == 503
        assert answer.json() == {"status": "unhealthy", "reason": "scheduler stalled"}
        assert requests.get(f"{url}/nope", timeout=5).status_code == 404
        exposed = requests.get(f"{url}/metrics", timeout=5)
    finally:
        server.shutdown()
    assert exposed.status_code == 200
    assert exposed.headers["Content-Type"].startswith("text/plain")
    text = exposed.text
    assert "tracker_requests_total{" in text
    board_calls = [e for e in request_log(trello_sandbox) if e["path"].startswith("/1/boards/")]
    assert [e["status"] for e in board_calls] == [429, 200]
    requests_by_label = samples(text, "tracker_requests_total")
    get = (("method", "GET"), ("tracker", "Trello"))
    assert requests_by_label[tuple(sorted((*get, ("status", "429"))))] == 1
    assert requests_by_label[tuple(sorted((*get, ("status", "200"))))] == session.requests_sent - 1
    assert samples(text, "job_duration_seconds_count") == {(("job", "status"),): 1}
    assert samples(text, "decisions_created_total") == {(): 3}
    assert samples(text, "errors_total") == {(("kind", "TrackerAuthError"),): 1}


def test_an_unanswered_request_is_counted_as_error(metrics: Metrics) -> None:
    session = TrackerSession("Trello", policy=RetryPolicy(attempts=2, sleep=Sleeps()))
    with pytest.raises(Exception):  # noqa: B017 - NotApplied, checked in test_http_policy
        trello_adapter("http://127.0.0.1:9", session).layout()
    assert metrics.tracker_requests.labels("Trello", "GET", "error")._value.get() == 2


def test_the_server_refuses_a_bad_address() -> None:
    assert parse_address("9108") == ("127.0.0.1", 9108)
    assert parse_address(":0") == ("127.0.0.1", 0)
    assert parse_address("0.0.0.0:9108") == ("0.0.0.0", 9108)
    assert parse_address("[::1]:9108") == ("::1", 9108)
    for bad in ("localhost", "127.0.0.1:http", "127.0.0.1:70000"):
        with pytest.raises(ConfigError):
            parse_address(bad)
    server, url = serve_http("127.0.0.1:0", metrics=Metrics())
    try:
        with pytest.raises(ConfigError, match="cannot listen"):
            serve_http(url.removeprefix("http://"), metrics=Metrics())
    finally:
        server.shutdown()


# --- the limiter is taken before every request -------------------------------------------------


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_every_request_and_retry_waits_for_the_limiter(trello_sandbox: SandboxServer) -> None:
    time = FakeTime()
    limiter = TokenBucket(2, 0.3, clock=time.clock, sleep=time.sleep)
    session = TrackerSession("Trello", policy=RetryPolicy(sleep=Sleeps()), limiter=limiter)
    adapter = trello_adapter(trello_sandbox.url, session)
    list_id = adapter.list_id("To Do", "tasks_list")
    fault(trello_sandbox, method="GET", path=r"/1/lists/", status=429, count=1,
          headers={"Retry-After": "0"})
    while session.requests_sent < 7:
        adapter._call("GET", f"/lists/{list_id}/cards")
    sent = [e for e in request_log(trello_sandbox) if not e["path"].startswith("/_sandbox")]
    assert len(sent) == limiter.acquired == session.requests_sent == 7
    assert 429 in [e["status"] for e in sent]
    # 2 tokens per 0.3 s: requests 3, 5 and 7 each wait for a token to come back
    assert time.sleeps == [pytest.approx(0.3)] * 3
