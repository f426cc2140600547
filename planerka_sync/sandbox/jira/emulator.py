"""The Jira emulator both flavours share: every API area composed into one class.

Each area is a mixin in its own module, holding that area's routes, helpers and limits:
``meta`` (myself, server info, projects, issue types, statuses, fields, users), ``issues``
(create, bulk, edit, delete, transitions), ``comments``, ``links``, ``attachments``,
``webhooks`` (admin webhooks) and ``search`` (JQL, cursors). They share the state and helpers of
:class:`~planerka_sync.sandbox.jira.base.JiraCore` and the renderers of
:class:`~planerka_sync.sandbox.jira.render.RenderMixin`. Routes are matched in method
resolution order: the flavour's own (and its search mixin's) first, then the areas in the order
of the bases below; no two areas serve the same path.
"""

from __future__ import annotations

import itertools
import threading
from typing import Any

from planerka_sync.sandbox.jira.attachments import AttachmentsMixin
from planerka_sync.sandbox.jira.comments import CommentsMixin
from planerka_sync.sandbox.jira.common import JSON
from planerka_sync.sandbox.jira.issues import IssuesMixin
from planerka_sync.sandbox.jira.links import LinksMixin
from planerka_sync.sandbox.jira.meta import MetaMixin
from planerka_sync.sandbox.jira.search import SearchMixin, _Cursor, _Search
from planerka_sync.sandbox.jira.webhooks import JiraWebhooks, WebhookRoutesMixin


class JiraEmulatorBase(
    MetaMixin,
    IssuesMixin,
    CommentsMixin,
    LinksMixin,
    AttachmentsMixin,
    WebhookRoutesMixin,
    SearchMixin,
):
    """What Jira Cloud and Data Center share; subclasses set identity, rich text, auth."""

    def __init__(self, seed: JSON | None = None, options: dict[str, Any] | None = None) -> None:
        # The authenticated person travels from authenticate() to the handler on the same
        # server thread; a thread-local keeps concurrent requests from mixing actors.
        self._local = threading.local()
        # Search cursors (see open_cursor); insertion order makes the first the oldest.
        self._cursors: dict[str, _Cursor] = {}
        self._cursor_keys: dict[Any, str] = {}
        self._cursor_ids = itertools.count(1)
        # How many times a JQL query was evaluated against every issue (tests count it).
        self.jql_evaluations = 0
        self.webhooks = JiraWebhooks(self, lambda: _Search(self, validate=False))
        super().__init__(seed, options)
