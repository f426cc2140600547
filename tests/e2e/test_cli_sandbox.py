"""`planerka-sync sandbox` as a person starts it: first line is the URL, real auth rules."""

from __future__ import annotations

import base64
import subprocess
import sys
from collections.abc import Iterator

import pytest
import requests


@pytest.fixture
def serve(request: pytest.FixtureRequest) -> Iterator[str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "planerka_sync", "sandbox", "--tracker", request.param,
         "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.mark.parametrize("serve", ["trello"], indirect=True)
def test_trello_sandbox(serve: str) -> None:
    assert serve.startswith("http://127.0.0.1:")
    me = requests.get(f"{serve}/1/members/me", params={"key": "k", "token": "t"}, timeout=5)
    assert me.status_code == 200
    assert me.json()["username"] == "anna" and me.json()["fullName"] == "Анна Смирнова"
    assert requests.get(f"{serve}/1/members/me", timeout=5).status_code == 401


@pytest.mark.parametrize("serve", ["jira-cloud"], indirect=True)
def test_jira_cloud_sandbox(serve: str) -> None:
    basic = base64.b64encode(b"anna@example.org:api-token").decode()
    me = requests.get(f"{serve}/rest/api/3/myself", headers={"Authorization": f"Basic {basic}"},
                      timeout=5)
    assert me.status_code == 200 and me.json()["accountId"] == "557058:anna"
    assert requests.get(f"{serve}/rest/api/3/myself", timeout=5).status_code == 401
    assert requests.get(f"{serve}/rest/api/3/search", params={"jql": "project = MKT"},
                        headers={"Authorization": f"Basic {basic}"}, timeout=5).status_code == 410


@pytest.mark.parametrize("serve", ["jira-dc"], indirect=True)
def test_jira_dc_sandbox(serve: str) -> None:
    me = requests.get(f"{serve}/rest/api/2/myself", headers={"Authorization": "Bearer pat"},
                      timeout=5)
    assert me.status_code == 200 and me.json()["name"] == "anna"
    assert requests.get(f"{serve}/rest/api/2/myself", timeout=5).status_code == 401


def test_a_busy_port_is_a_clear_error() -> None:
    first = subprocess.Popen([sys.executable, "-m", "planerka_sync", "sandbox", "--tracker",
                              "trello", "--port", "0"], stdout=subprocess.PIPE, text=True)
    try:
        assert first.stdout is not None
        port = first.stdout.readline().strip().rsplit(":", 1)[1]
        second = subprocess.run([sys.executable, "-m", "planerka_sync", "sandbox", "--tracker",
                                 "trello", "--port", port], capture_output=True, text=True,
                                timeout=30, check=False)
        assert second.returncode == 1
        assert f"cannot listen on 127.0.0.1:{port}" in second.stderr
        assert "Traceback" not in second.stderr
    finally:
        first.terminate()
        first.wait(timeout=10)
