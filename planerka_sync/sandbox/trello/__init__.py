"""A loopback emulator of the Trello REST API v1 (``https://api.trello.com/1``).

It follows Atlassian's Trello REST reference (paths, parameters, response shapes, plain-text
errors) closely enough that py-trello and our adapter cannot tell it from the real service for
what planerka-sync uses: members, boards with nested resources, lists, cards (copying a template
card with ``idCardSource``), checklists with native check-item members and due dates, comments,
attachments, actions with ``since``/``before`` cursors, ``/batch``, webhooks and rate limits.

One module per API area, each with its routes, helpers and limits (``TrelloEmulator`` in
emulator.py composes them): members.py (members, Workspaces, tokens), search.py, boards.py
(boards, labels, card listings), lists.py, cards.py, checklists.py, actions.py (actions,
comments, paging cursors), attachments.py, webhooks.py (and their delivery), gateway.py
(authentication, rate limits, dispatch, ``/batch``); underneath, common.py (shared limits and
helpers), state.py (storage, ids, lookups), base.py (parameters, JSON renderers) and seeding.py.

Seed format (a JSON object; every key optional)::

    {
      "members": [{"id": "<24 hex>", "username": "anna", "fullName": "Анна", "email": "..."}],
      "credentials": [{"key": "k", "token": "t", "member": "anna"}],   # absent: any key+token
      "organization": {"name": "marketing-workspace", "displayName": "Marketing"},  # Workspace
      "boards": [{
        "id": "<24 hex>", "name": "Marketing", "desc": "", "closed": false,
        "members": ["anna", "ivan"],                  # usernames or ids; default: every member
        "labels": [{"name": "KPI", "color": "green"}],  # default: Trello's six blank labels
        "lists": [{"id": "...", "name": "To Do", "closed": false}],     # or plain names
        "cards": [{
          "id": "...", "name": "Планёрка", "list": "To Do",  # list name or id (default: first)
          "desc": "", "due": "2026-01-12T07:00:00.000Z", "start": null, "dueComplete": false,
          "closed": false, "members": ["ivan"], "labels": ["KPI"],      # label name/color/id
          "checklists": [{"name": "Decisions", "items": [
              {"name": "Отчёт", "state": "incomplete", "due": "...", "member": "ivan"}]}],
          "comments": [{"text": "...", "member": "anna", "date": "2026-01-05T10:00:00Z"}],
          "attachments": [{"name": "a.txt", "content": "text", "mimeType": "text/plain"},
                          {"name": "link", "url": "https://example.org"}]
        }],
        "generate": {"cards": 1000, "list": "To Do", "checklists": 0, "items": 0}
      }],
      "generate": {"cards": 1000, "list": "To Do", "board": "Marketing"}   # bulk cards
    }

Objects without an ``id`` get one; seeded ids carry the timestamp 2024-01-01, later ones the
emulator clock (``self.now()``), so ids order like Trello's (the first 8 hex digits are the
creation time). ``self.db`` stays JSON-serialisable (uploaded bytes are kept base64-encoded).

Options: ``rate_limit`` (100 requests / 10 s per token, 300 per key -> 429),
``webhook_head_check`` (HEAD the callback on webhook creation), ``deliver_webhooks`` (POST
actions to callbacks in a background thread, signed with ``app_secret``), ``web_url`` (the host
of card/board ``url`` fields, default https://trello.com).
"""

from __future__ import annotations

from .actions import ACTION_FIELDS, CARD_ACTIONS_DEFAULT
from .base import MEMBER_SUMMARY, WEB_URL
from .boards import BOARD_DEFAULT_FIELDS, BOARD_FIELDS, CARDS_MAX, TOO_MANY_CARDS
from .cards import CARD_FIELDS_RO, CARD_FIELDS_RW, KEEP_FROM_SOURCE
from .common import (
    ACTIONS_MAX,
    ALL_COLORS,
    HEX24,
    ID,
    LABEL_COLORS,
    MODEL_NOT_FOUND,
    NESTED_ACTIONS_DEFAULT,
    NO_PERMISSION,
    NOT_FOUND,
    SEED_EPOCH,
    SHORT_LINK,
    TEXT_MAX,
    CardView,
    Delivery,
    Obj,
    Params,
    id_time,
    initials,
    iso,
    parse_when,
    pick,
    short_link,
    slug,
)
from .emulator import TrelloEmulator
from .gateway import (
    BATCH_MAX,
    CLOUDFRONT_403,
    KEY_LIMIT,
    OAUTH_PARAM,
    RATE_WINDOW,
    TOKEN_LIMIT,
    parse_oauth,
)
from .lists import LIST_FIELDS
from .members import MEMBER_FIELDS
from .state import POS_STEP
from .webhooks import WEBHOOK_FIELDS, sign_webhook

__all__ = [
    "ACTIONS_MAX",
    "ACTION_FIELDS",
    "ALL_COLORS",
    "BATCH_MAX",
    "BOARD_DEFAULT_FIELDS",
    "BOARD_FIELDS",
    "CARDS_MAX",
    "CARD_ACTIONS_DEFAULT",
    "CARD_FIELDS_RO",
    "CARD_FIELDS_RW",
    "CLOUDFRONT_403",
    "HEX24",
    "ID",
    "KEEP_FROM_SOURCE",
    "KEY_LIMIT",
    "LABEL_COLORS",
    "LIST_FIELDS",
    "MEMBER_FIELDS",
    "MEMBER_SUMMARY",
    "MODEL_NOT_FOUND",
    "NESTED_ACTIONS_DEFAULT",
    "NOT_FOUND",
    "NO_PERMISSION",
    "OAUTH_PARAM",
    "POS_STEP",
    "RATE_WINDOW",
    "SEED_EPOCH",
    "SHORT_LINK",
    "TEXT_MAX",
    "TOKEN_LIMIT",
    "TOO_MANY_CARDS",
    "WEBHOOK_FIELDS",
    "WEB_URL",
    "CardView",
    "Delivery",
    "Obj",
    "Params",
    "TrelloEmulator",
    "id_time",
    "initials",
    "iso",
    "parse_oauth",
    "parse_when",
    "pick",
    "short_link",
    "sign_webhook",
    "slug",
]
