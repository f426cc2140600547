"""Fixtures shared by every test: sandbox servers on loopback, served in-process."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from planerka_sync.sandbox import make_emulator
from planerka_sync.sandbox.server import SandboxServer


@pytest.fixture(autouse=True)
def _language_of_each_test_its_own() -> Iterator[None]:
    """A command run in-process (CliRunner) sets the config's locale for the process
    (messages.use_config_locale): put it back, so no later test speaks another's language."""
    from planerka_sync import messages

    before = messages._config_locale
    yield
    messages._config_locale = before


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
