"""Fixtures for the command-line tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from planerka_sync.sandbox import make_emulator
from planerka_sync.sandbox.server import SandboxServer


@pytest.fixture
def trello() -> Iterator[SandboxServer]:
    """A Trello sandbox on loopback for a subprocess to talk to."""
    server = SandboxServer(make_emulator("trello")).start()
    try:
        yield server
    finally:
        server.stop()
