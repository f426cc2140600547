"""``TrelloEmulator``: the Trello REST API v1 on loopback, one mixin per API area.

Each area module (members.py, search.py, boards.py, ...) holds its routes, its helpers and its
limits, all built on ``TrelloBase`` (base.py over state.py). core.Emulator collects the route
table from the classes in method resolution order, so the bases below are also the order the
routes are tried in; Trello's dispatcher (gateway.py) answers with the first route that matches.
No two routes of one method match the same path, so the order only keeps the table stable: it is
the order of Atlassian's reference, as the single module had it.
"""

from __future__ import annotations

from .actions import ActionsApi
from .attachments import AttachmentsApi
from .base import TrelloBase
from .boards import BoardsApi
from .cards import CardsApi
from .checklists import ChecklistsApi
from .gateway import GatewayApi
from .lists import ListsApi
from .members import MembersApi
from .search import SearchApi
from .seeding import SeedingApi
from .webhooks import WebhooksApi


class TrelloEmulator(
    MembersApi,
    SearchApi,
    BoardsApi,
    ListsApi,
    CardsApi,
    ChecklistsApi,
    ActionsApi,
    AttachmentsApi,
    GatewayApi,
    WebhooksApi,
    SeedingApi,
    TrelloBase,
):
    """Trello REST v1 on loopback; objects live in ``self.db`` as Trello-shaped dicts."""

    flavour = "trello"
