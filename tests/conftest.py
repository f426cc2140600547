"""Fixtures shared by every test: sandbox servers on loopback, served in-process."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from planerka_sync.sandbox import make_emulator
from planerka_sync.sandbox.server import SandboxServer


def _serve(flavour: str) -> Iterator[SandboxServer]:
    server = SandboxServer(make_emulator(flavour)).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def trello_sandbox() -> Iterator[SandboxServer]:
    """A fresh Trello emulator with the default seed; ``.url`` is its base URL."""
    yield from _serve("trello")


@pytest.fixture
def trello() -> Iterator[SandboxServer]:
    """The same, under the short name the command-line and daemon tests use."""
    yield from _serve("trello")


@pytest.fixture
def jira_cloud_sandbox() -> Iterator[SandboxServer]:
    yield from _serve("jira-cloud")


@pytest.fixture
def jira_dc_sandbox() -> Iterator[SandboxServer]:
    yield from _serve("jira-dc")


@pytest.fixture(params=["trello", "jira-cloud", "jira-dc"])
def any_sandbox(request: pytest.FixtureRequest) -> Iterator[SandboxServer]:
    yield from _serve(request.param)


def request_log(server: SandboxServer) -> list[dict]:
    """The sandbox's request log, read over HTTP as any test or tool would."""
    response = requests.get(f"{server.url}/_sandbox/requests", timeout=5)
    response.raise_for_status()
    return response.json()
