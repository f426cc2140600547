"""Pure renderers: one :class:`~planerka_sync.domain.document.Document`, each tracker's format.

No I/O here; adapters pick the renderer their API speaks (ADF for Jira Cloud, wiki markup for
Jira Data Center, markdown + native checklists for Trello, plain text for terminals and logs).
"""

from planerka_sync.render.adf import task_list_local_id, task_local_id, to_adf
from planerka_sync.render.plain import to_plain
from planerka_sync.render.trello import (
    TRELLO_DESC_LIMIT,
    Checklist,
    ChecklistItem,
    TrelloCardBody,
    to_trello,
)
from planerka_sync.render.wiki import WIKI_DONE_MARK, WIKI_TODO_MARK, to_wiki

__all__ = [
    "TRELLO_DESC_LIMIT",
    "WIKI_DONE_MARK",
    "WIKI_TODO_MARK",
    "Checklist",
    "ChecklistItem",
    "TrelloCardBody",
    "task_list_local_id",
    "task_local_id",
    "to_adf",
    "to_plain",
    "to_trello",
    "to_wiki",
]
