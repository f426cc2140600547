"""`planerka-sync` as a subprocess with the clock of its use cases stopped at a known moment.

    PLANERKA_TEST_NOW=2026-12-07T09:00:00+00:00 python -m tests.e2e.clock_cli -c FILE sync

Everything else is the real command: its entry point, its error handling and exit codes, the
tracker over HTTP. ``PLANERKA_TEST_LEASE_WAIT`` (seconds) shortens the wait for a lease someone
else holds, so that a Busy error comes at once.
"""

from __future__ import annotations

import functools
import os
import sys
from datetime import datetime
from typing import Any

from planerka_sync import cli
from planerka_sync.service import leases


def main() -> None:
    now = datetime.fromisoformat(os.environ["PLANERKA_TEST_NOW"])
    if now.tzinfo is None:
        raise SystemExit("PLANERKA_TEST_NOW needs an offset")
    open_app = cli.open_app

    def open_app_at_now(app: cli.AppContext) -> Any:
        state = open_app(app)
        state.clock = lambda: now
        return state

    # Every command module took open_app by name from cli.base: each one's name is replaced.
    for module in list(sys.modules.values()):
        if module is not None and module.__name__.startswith("planerka_sync.cli") and getattr(
                module, "open_app", None) is open_app:
            module.open_app = open_app_at_now  # type: ignore[attr-defined]
    wait = os.environ.get("PLANERKA_TEST_LEASE_WAIT")
    if wait is not None:
        leases.holding = functools.partial(leases.holding, wait=float(wait))  # type: ignore[assignment]
    cli.main(sys.argv[1:])


if __name__ == "__main__":
    main()
