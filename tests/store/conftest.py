"""Store test fixtures: the PostgreSQL server lives in pg.py so it can be reused elsewhere."""

from __future__ import annotations

from tests.store.pg import pg_server, pg_url

__all__ = ["pg_server", "pg_url"]
