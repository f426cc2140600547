"""Small facts remembered between runs (e.g. a Trello board's id), kept in the state DB."""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from planerka_sync.store import Store
from planerka_sync.store.models import SyncCursor


class StoreMemo(MutableMapping[str, str]):
    """Small facts an adapter remembers between runs (a board's id), kept in the state DB."""

    prefix = "memo:"

    def __init__(self, store: Store) -> None:
        self.store = store

    def __getitem__(self, key: str) -> str:
        with self.store.session() as session:
            row = session.get(SyncCursor, self.prefix + key)
            if row is None:
                raise KeyError(key)
            return row.value

    def __setitem__(self, key: str, value: str) -> None:
        with self.store.session() as session:
            write_text(session, self.prefix + key, value)

    def __delitem__(self, key: str) -> None:
        with self.store.session() as session:
            row = session.get(SyncCursor, self.prefix + key)
            if row is None:
                raise KeyError(key)
            session.delete(row)

    def __iter__(self) -> Iterator[str]:
        with self.store.session() as session:
            keys = session.scalars(select(SyncCursor.key).where(
                SyncCursor.key.startswith(self.prefix)))
            return iter([k.removeprefix(self.prefix) for k in keys])

    def __len__(self) -> int:
        return len(list(iter(self)))


def write_text(session: Session, key: str, value: str) -> None:
    row = session.get(SyncCursor, key)
    if row is None:
        session.add(SyncCursor(key=key, value=value))
    else:
        row.value = value
