"""Loopback emulators of Jira Cloud (REST v3, ADF, accountId) and Data Center (REST v2, wiki).

Both follow the official Jira Cloud OpenAPI spec (the repository keeps a reduced copy under
``tests/contract/specs/``) for paths, parameters, response shapes, status codes and the error body
``{"errorMessages": [...], "errors": {field: message}}``; Data Center differs where the real
product does: ``/rest/api/2`` only, wiki-markup strings, users by ``name``/``key``, Bearer
personal access tokens, and the classic ``/search`` with ``startAt``/``total``.

Endpoints (prefix ``/rest/api/{2,3,latest}``; Cloud serves 2 and 3, DC only 2, ``latest`` = 2):
myself, serverInfo, project (list), project/search (Cloud), project/{idOrKey},
project/{idOrKey}/statuses, issuetype, status, priority, field (system fields), user, user/search,
user/assignable/search, issue (POST), issue/bulk, issue/{idOrKey} (GET/PUT/DELETE),
issue/{idOrKey}/assignee, issue/{idOrKey}/comment[/{id}], issue/{idOrKey}/transitions,
issueLink[/{id}], issueLinkType, issue/{idOrKey}/attachments, attachment/{id},
attachment/content/{id} and /secure/attachment/{id}/{filename} (downloads), label (Cloud),
search/jql + search/approximate-count (Cloud), search (410 Gone on Cloud, classic on DC;
a search's JQL is evaluated once per cursor, see ``search.py``);
admin webhooks at /rest/webhooks/1.0/webhook[/{id}] plus ``/_sandbox/webhooks``, delivered
signed from a background thread: see ``webhooks.py`` (its seed keys ``admins`` and
``webhooks``, its options ``webhook_retries``, ``webhook_backoff_seconds``,
``webhook_duplicates``, ``deliver_webhooks``).

One module per API area, each holding that area's routes, helpers and limits: ``common.py``
(constants, Jira's error body, rich-text conversions), ``base.py`` (storage, ids, seeding,
lookups, writes), ``render.py`` (JSON shapes), ``meta.py``, ``issues.py`` (with transitions and
field validation), ``comments.py``, ``links.py``, ``attachments.py``, ``search.py`` (JQL,
cursors, both flavours' search endpoints), ``webhooks.py``; ``emulator.py`` composes them into
:class:`JiraEmulatorBase`, and ``cloud.py`` / ``dc.py`` hold the two flavours.

Seed format (every key optional; :meth:`JiraEmulatorBase.default_seed` gives the demo team)::

    {
      "people": [SeedPerson, ...],          # see seed.py; Cloud uses jira_account_id,
                                            # DC uses jira_username (key JIRAUSER<10000+i>);
                                            # "active": false / "account_type": "app" are
                                            # listed but never assignable
      "actor": "anna",                      # whose credentials unknown emails/tokens map to
      "credentials": [                      # when present, only these are accepted
        {"person": "anna", "email": "anna@example.org", "token": "t0ken"}
      ],                                    # Cloud: Basic email:token; DC: Bearer token,
                                            # or Basic jira_username:token
      "projects": [{"key": "MKT", "name": "Marketing", "id": "10000", "lead": "anna",
                    "issue_types": ["Task", "Sub-task"],
                    "members": ["anna", "ivan"]}],   # members: who may browse (default all)
      "workflow": [["To Do", "new"], ["In Progress", "indeterminate"], ["Done", "done"]],
      "labels": ["extra-known-label"],
      "issues": [{"project": "MKT", "summary": "...", "type": "Task", "status": "To Do",
                  "assignee": "ivan", "reporter": "anna", "labels": ["x"],
                  "duedate": "2026-12-01", "description": <ADF dict on Cloud | wiki str>,
                  "created": "2026-11-20T10:00:00+00:00" | epoch seconds, "updated": ...,
                  "comments": [{"author": "anna", "body": <ADF | str>, "created": ...}]}],
      "generate": {"issues": 250, "project": "MKT", "labels": ["planerka"],
                   "summary": "Generated task {n}", "statuses": ["To Do", "Done"],
                   "assignees": ["ivan", "maria"]}
    }

Generated issues get ``created``/``updated`` one minute apart, ending at seed time.

Options (``options=`` or ``POST /_sandbox/options``):
``search_lag_seconds`` (float, 0): issues created/changed within that many seconds are invisible
(or still in their previous version) to search, except those named in ``reconcileIssues``;
``timezone`` (IANA name, "UTC"): the users' zone for timestamps and JQL dates;
``attachment_max_bytes`` (int, none): larger uploads answer 413;
``dc_deployment_type`` ("Server"): what DC's serverInfo reports (Jira 10 DC says "Server");
``search_max_results`` (int, 1000): DC's ``jira.search.views.default.max``, the largest search
page;
``create_screen_links`` (bool, true): false refuses ``update.issuelinks`` in a create, as a site
whose create screen lacks "Linked Issues" does.
"""

from planerka_sync.sandbox.jira.cloud import JiraCloudEmulator
from planerka_sync.sandbox.jira.comments import COMMENT_PAGE_MAX
from planerka_sync.sandbox.jira.common import (
    MAX_TEXT,
    FieldError,
    adf_text,
    adf_to_wiki,
    bad_request,
    not_found,
    text_to_adf,
)
from planerka_sync.sandbox.jira.dc import JiraDCEmulator
from planerka_sync.sandbox.jira.emulator import JiraEmulatorBase
from planerka_sync.sandbox.jira.issues import MAX_BULK, MAX_SUMMARY, check_label
from planerka_sync.sandbox.jira.render import EMBEDDED_COMMENTS_MAX
from planerka_sync.sandbox.jira.search import (
    CLASSIC_MAX,
    CURSOR_MAX,
    CURSOR_TTL,
    ENHANCED_MAX,
    HEAVY_PAGE_MAX,
    MAX_RECONCILE,
    decode_token,
    encode_token,
)

__all__ = [
    "CLASSIC_MAX",
    "COMMENT_PAGE_MAX",
    "CURSOR_MAX",
    "CURSOR_TTL",
    "EMBEDDED_COMMENTS_MAX",
    "ENHANCED_MAX",
    "HEAVY_PAGE_MAX",
    "MAX_BULK",
    "MAX_RECONCILE",
    "MAX_SUMMARY",
    "MAX_TEXT",
    "FieldError",
    "JiraCloudEmulator",
    "JiraDCEmulator",
    "JiraEmulatorBase",
    "adf_text",
    "adf_to_wiki",
    "bad_request",
    "check_label",
    "decode_token",
    "encode_token",
    "not_found",
    "text_to_adf",
]
