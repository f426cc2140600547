"""Jira adapter: atlassian-python-api's ``JiraCloud`` (REST v3, ADF, accountId) for Cloud and
``Jira`` (REST v2, wiki markup, usernames) for Server/Data Center.

The library's own retries are switched off (``retry_with_header`` would re-send a POST after a
429, ``backoff_and_retry`` even after a dropped connection): the shared TrackerSession decides.
"""

from __future__ import annotations

import contextlib
import html
import re
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from planerka_sync.config import JiraTracker as JiraConfig
from planerka_sync.domain.document import Document
from planerka_sync.domain.model import (
    CATEGORY_OF_STATUS,
    Attachment,
    ChecklistEntry,
    CheckResult,
    Comment,
    ItemRef,
    MeetingDraft,
    MeetingSighting,
    MeetingSnapshot,
    TaskDraft,
    TaskPatch,
    TaskState,
    Webhook,
)
from planerka_sync.domain.texts import topic_lines
from planerka_sync.errors import TrackerError, TrackerNotFound
from planerka_sync.messages import t
from planerka_sync.render.budget import jira_body
from planerka_sync.trackers.http import TrackerSession
from planerka_sync.trackers.partial import submodule

if TYPE_CHECKING:
    from atlassian.jira import Jira, JiraCloud

SERIES_LABEL = "planerka"
WIKI_ESCAPE = re.compile(r"\\([-#*_+?^~{}()!|\[\]])")
WIKI_MENTION = re.compile(r"\[~([^\]\s|]+)\]")
NO_CHECK = {"X-Atlassian-Token": "no-check"}
SUMMARY_LIMIT = 255
TASK_LABEL_PREFIX = "planerka-d-"
STATE_FIELDS = ["summary", "status", "assignee", "duedate", "resolutiondate", "labels", "updated"]
# The largest search page asked for. Cloud's search/jql returns up to 5,000 ids (or keys) a page
# and fewer when other fields are asked for (100 a page: ECO-1010); the paging follows what it
# returns. Data Center caps maxResults at its jira.search.views.default.max (1,000 unless an admin
# changed it) and answers with the cap it applied: asking more lets a site allowing more page less.
SEARCH_PAGE = 5000
BULK_CREATE = 50  # POST issue/bulk: "Creates upto 50 issues"
LINK_TYPE = "Relates"


WEBHOOK_API = "rest/webhooks/1.0/webhook"
WEBHOOK_EVENTS = ["jira:issue_created", "jira:issue_updated", "jira:issue_deleted",
                  "comment_created", "comment_updated", "comment_deleted"]
WEBHOOK_JQL = f"labels = {SERIES_LABEL}"  # meetings and tasks both carry the label


def webhook_definition(url: str, secret: str | None) -> dict[str, Any]:
    """The admin webhook planerka-sync needs: what to paste in Cloud, what is sent on DC."""
    hook: dict[str, Any] = {
        "name": "planerka-sync", "url": url, "events": WEBHOOK_EVENTS,
        "filters": {"issue-related-events-section": WEBHOOK_JQL}, "excludeBody": False,
    }
    if secret:
        hook["secret"] = secret
    return hook


def _filter(hook: dict[str, Any]) -> str:
    return str((hook.get("filters") or {}).get("issue-related-events-section", ""))


def _webhook(hook: dict[str, Any]) -> Webhook:
    hook_id = str(hook.get("self", "")).rstrip("/").rpartition("/")[2] or str(hook.get("id", ""))
    return Webhook(id=hook_id, url=str(hook.get("url", "")), watches=_filter(hook),
                   active=bool(hook.get("enabled", True)))


def series_label(series_id: str) -> str:
    return f"{SERIES_LABEL}-{series_id}"


class JiraAdapter:
    kind = "jira"

    create_batch = BULK_CREATE  # trackers.base.BatchCreator

    def __init__(self, config: JiraConfig, session: TrackerSession,
                 series: Sequence[str] = ()) -> None:
        """``series``: the ids of the config's meeting series, whose meeting issues the status
        pull's JQL leaves out (they share the ``planerka`` label with the tasks)."""
        self.config = config
        self.series = tuple(series)
        # Whether a create may carry the link back (update.issuelinks): not where the create
        # screen lacks "Linked Issues"; learnt from the first refusal.
        self._links_on_create = True
        self.cloud = config.deployment == "cloud"
        self.api = "rest/api/3" if self.cloud else "rest/api/2"
        common: dict[str, Any] = {
            "url": config.url.rstrip("/"), "session": session, "timeout": 30,
            "backoff_and_retry": False, "retry_with_header": False,
        }
        token = config.token.get_secret_value()
        self._me: str | None = None  # accountId (Cloud) or username (DC), asked once
        clients = submodule("atlassian", "jira")  # not Confluence, Bamboo... (partial.py)
        self.client: Jira | JiraCloud = (
            clients.JiraCloud(username=config.email, password=token, api_version=3, **common)
            if self.cloud else clients.Jira(token=token, cloud=False, api_version=2, **common)
        )

    # --- plumbing ------------------------------------------------------------------------------
    def _get(self, path: str, **params: Any) -> Any:
        return self.client.get(f"{self.api}/{path}", params=params or None)

    def _post(self, path: str, data: Any, **kwargs: Any) -> Any:
        return self.client.post(f"{self.api}/{path}", data=data, **kwargs)

    def _put(self, path: str, data: Any) -> Any:
        return self.client.put(f"{self.api}/{path}", data=data)

    def search(self, jql: str, fields: Sequence[str],
               page: int = SEARCH_PAGE) -> Iterator[dict[str, Any]]:
        """Every issue matching ``jql``: Cloud pages with nextPageToken (the old /search is
        gone there), Data Center with startAt; pages as large as the site returns."""
        if self.cloud:
            yield from self._search_cloud(jql, fields, page)
        else:
            yield from self._search_dc(jql, fields, page)

    def _search_cloud(self, jql: str, fields: Sequence[str], page: int) -> Iterator[dict[str, Any]]:
        token: str | None = None
        while True:
            body: dict[str, Any] = {"jql": jql, "fields": list(fields), "maxResults": page}
            if token:
                body["nextPageToken"] = token
            result = self._post("search/jql", body)
            yield from result.get("issues", [])
            token = result.get("nextPageToken")
            if not token or result.get("isLast"):
                return

    def _search_dc(self, jql: str, fields: Sequence[str], page: int) -> Iterator[dict[str, Any]]:
        start = 0
        while True:
            result = self._get("search", jql=jql, fields=",".join(fields), startAt=start,
                               maxResults=page)
            issues = result.get("issues", [])
            yield from issues
            start += len(issues)
            if not issues or start >= int(result.get("total", 0)):
                return

    def _ref(self, issue: dict[str, Any]) -> ItemRef:
        key = str(issue["key"])
        site = self.config.url.rstrip("/")
        return ItemRef(id=str(issue["id"]), key=key, url=f"{site}/browse/{key}")

    # --- protocol ------------------------------------------------------------------------------
    def check(self, accounts: Sequence[tuple[str, str | None]]) -> list[CheckResult]:
        """The credentials, the project, its issue types and statuses the config names - each
        once, with every option naming it - and each person's account. ``accounts`` are in
        the order of the config's ``people``."""
        self._get("myself")  # credentials a site refuses raise: the caller reports it
        results = [CheckResult("credentials", True, id="credentials", area="tracker",
                               options=("tracker.email", "tracker.token") if self.cloud
                               else ("tracker.token",), ru=("учётные данные", ""))]
        key = self.config.project
        project_row = CheckResult(f"project {key}", True, id=f"project:{key}", area="project",
                                  options=("tracker.project",), ru=(f"проект {key}", ""))
        try:
            project = self._get(f"project/{key}")
        except TrackerNotFound:
            project = None
            results.append(project_row.failed(
                "no such project visible to this account: fix tracker.project or ask for the "
                "Browse projects permission",
                "проект не виден этой учётной записи: исправьте tracker.project или попросите "
                "право Browse projects"))
        if project is not None:
            results.append(project_row)
            results += self._check_issue_types(project)
            results += self._check_statuses()
        results += [self._check_person(index, person, account)
                    for index, (person, account) in enumerate(accounts)]
        return results

    def _check_issue_types(self, project: dict[str, Any]) -> list[CheckResult]:
        """The meeting and task issue types: one row when both options name the same type."""
        key = self.config.project
        types = [str(t["name"]) for t in project.get("issueTypes", [])]
        references: dict[str, list[str]] = {}
        for option in ("meeting_issue_type", "task_issue_type"):
            references.setdefault(getattr(self.config, option), []).append(f"tracker.{option}")
        return [CheckResult.among(
            name, types, area="issue_type", options=options,
            what=(f"issue type {name!r}", f"тип задачи «{name}»"),
            missing=(f"project {key} has no issue type {name!r}",
                     f"в проекте {key} нет типа задачи «{name}»"))
            for name, options in references.items()]

    def _check_statuses(self) -> list[CheckResult]:
        """The statuses of ``status_map`` among the project's (any of its issue types'
        workflows): one request, made only when the config names a status."""
        if not self.config.status_map:
            return []
        key = self.config.project
        per_type = self._get(f"project/{key}/statuses") or []
        statuses = [str(s["name"]) for t in per_type for s in t.get("statuses", [])]
        return [CheckResult.among(
            name, statuses, area="status", options=["tracker.status_map"],
            what=(f"status {name!r}", f"статус «{name}»"),
            missing=(f"project {key} has no status {name!r}",
                     f"в проекте {key} нет статуса «{name}»"))
            for name in self.config.status_map]

    def _check_person(self, index: int, person: str, account: str | None) -> CheckResult:
        option = f"people[{index}].jira"
        row = CheckResult(f"{person}: Jira user", True, id=f"person:{person}", area="person",
                          options=(option,), ru=(f"{person}: пользователь Jira", ""))
        kind_en, kind_ru = (("Cloud accountId", "accountId в Jira Cloud") if self.cloud
                            else ("Data Center username", "имя пользователя в Jira Data Center"))
        if account is None:
            return row.failed(f"add {option} (their {kind_en})", f"добавьте {option} ({kind_ru})")
        try:
            self._get("user", **({"accountId": account} if self.cloud else {"username": account}))
        except TrackerNotFound:
            return row.failed(f"no Jira user {account!r}: fix {option} (their {kind_en})",
                              f"в Jira нет пользователя {account!r}: исправьте {option} "
                              f"({kind_ru})")
        if not self._assignable(account):
            project = self.config.project
            return row.failed(
                f"{account!r} cannot be assigned issues in {project} (deactivated, or without "
                f"Browse permission there): ask a Jira admin, or fix {option}",
                f"пользователю {account!r} нельзя назначать задачи в {project} (деактивирован "
                f"или нет права просмотра проекта): обратитесь к администратору Jira или "
                f"исправьте {option}")
        return row

    def _assignable(self, account: str) -> bool:
        """Whether Jira lets issues of the project be assigned to the account: its decisions'
        tasks would otherwise be refused one by one at create."""
        if self.cloud:
            found = self._get("user/assignable/search", project=self.config.project,
                              accountId=account, maxResults=1)
            return any(u.get("accountId") == account for u in found or [])
        found = self._get("user/assignable/search", project=self.config.project,
                          username=account, maxResults=50)
        return any(u.get("name") == account for u in found or [])

    def find_meeting(self, draft: MeetingDraft) -> ItemRef | None:
        day = draft.starts_at.date().isoformat()
        jql = (f'project = "{self.config.project}" AND labels = "{series_label(draft.series_id)}"'
               f' AND duedate = "{day}" ORDER BY created ASC')
        issues = list(self.search(jql, ["summary"]))
        exact = [i for i in issues if i["fields"].get("summary") == draft.title[:SUMMARY_LIMIT]]
        candidates = exact or issues
        return self._ref(candidates[0]) if candidates else None

    def series_meetings(self, series_id: str) -> list[MeetingSighting]:
        """Issues labelled with the series, by their due date (the meeting's day)."""
        jql = (f'project = "{self.config.project}" AND labels = "{series_label(series_id)}"'
               " ORDER BY created ASC")
        return [MeetingSighting(self._ref(issue), day=date.fromisoformat(due))
                for issue in self.search(jql, ["duedate"])
                if (due := issue["fields"].get("duedate"))]

    def me(self) -> str | None:
        if self._me is None:
            myself = self._get("myself")
            self._me = _author(myself if isinstance(myself, dict) else {})
        return self._me

    # GET issue/{key}/comment's largest page on Cloud (its default too). Data Center's limits
    # are less clear (a documented default of 50); 100 is within what either answers.
    COMMENTS_PAGE = 100

    def read_meeting(self, ref: ItemRef) -> MeetingSnapshot:
        issue = self._get(f"issue/{ref.key or ref.id}", fields="comment,attachment,description")
        fields = issue.get("fields", {})
        comments = tuple(
            Comment(str(c["id"]), _comment_text(c.get("body")), _author(c.get("author") or {}))
            for c in self._all_comments(ref, fields.get("comment") or {})
        )
        topics = [topic for c in comments for topic in topic_lines(c.text)]
        return MeetingSnapshot(
            ref=ref,
            topics=tuple(dict.fromkeys(topics)),
            comments=comments,
            attachments={a["filename"]: str(a["id"]) for a in fields.get("attachment") or []},
            checklist=tuple(_task_items(fields.get("description"))),
        )

    def _all_comments(self, ref: ItemRef, embedded: dict[str, Any]) -> list[dict[str, Any]]:
        """The issue's embedded ``comment`` field holds only the first comments (oldest first)
        while its ``total`` counts all: the rest is paged from the comment endpoint, which keeps
        that order. Nothing more is asked when everything came embedded."""
        found = list(embedded.get("comments", []))
        total = int(embedded.get("total", len(found)))
        start = int(embedded.get("startAt", 0)) + len(found)
        while start < total:
            page = self._get(f"issue/{ref.key or ref.id}/comment", startAt=start,
                             maxResults=self.COMMENTS_PAGE)
            batch = page.get("comments", [])
            if not batch:  # comments deleted while paging: the total shrank
                break
            found += batch
            start, total = start + len(batch), int(page.get("total", total))
        # A comment deleted between two pages shifts the later ones back by one: one may repeat.
        return list({str(c["id"]): c for c in found}.values())

    def upsert_meeting(self, draft: MeetingDraft, existing: ItemRef | None) -> ItemRef:
        fields: dict[str, Any] = {
            "summary": draft.title[:SUMMARY_LIMIT],
            "description": self._body(draft.document),
            "duedate": draft.starts_at.date().isoformat(),
        }
        if existing is not None:
            self._put(f"issue/{existing.key or existing.id}", {"fields": fields})
            return existing
        fields |= {
            "project": {"key": self.config.project},
            "issuetype": {"name": self.config.meeting_issue_type},
            "labels": [SERIES_LABEL, series_label(draft.series_id)],
        }
        created = self._post("issue", {"fields": fields})
        return self._ref(created)

    # --- tasks and comments -------------------------------------------------------------------
    def _body(self, doc: Document) -> Any:
        """ADF or wiki markup, condensed to Jira's 32,767-character limit (never a 400)."""
        return jira_body(doc, self.cloud)

    def _person(self, account: str) -> dict[str, str]:
        return {"accountId": account} if self.cloud else {"name": account}

    def _task_fields(self, draft: TaskDraft, link: bool = False) -> dict[str, Any]:
        """One task's create: title, owner, due and the marker label in the same write, and with
        ``link`` the "Relates" link to the meeting issue too (the task is its inward end, as
        :meth:`link_task` makes it)."""
        fields: dict[str, Any] = {
            "project": {"key": self.config.project},
            "issuetype": {"name": self.config.task_issue_type},
            "summary": draft.title[:SUMMARY_LIMIT], "description": self._body(draft.description),
            "labels": [SERIES_LABEL, draft.marker],
        }
        if draft.owner_account:
            fields["assignee"] = self._person(draft.owner_account)
        if draft.due:
            fields["duedate"] = draft.due.isoformat()
        body: dict[str, Any] = {"fields": fields}
        if link and draft.meeting.key:
            body["update"] = {"issuelinks": [{"add": {
                "type": {"name": LINK_TYPE}, "outwardIssue": {"key": draft.meeting.key}}}]}
        return body

    def create_task(self, draft: TaskDraft) -> ItemRef:
        return self._ref(self._post("issue", self._task_fields(draft)))

    def create_tasks(self, drafts: Sequence[TaskDraft]) -> list[Any]:
        """Up to 50 tasks a request (``issue/bulk``; one alone is a plain create), each with its
        marker and, where the site's create screen allows, its link back in the same write.

        Every draft gets its own answer: a created issue, the element error Jira gave for it
        (refused: it does not exist), or for all of a request the error the request met
        (``MaybeApplied``: any of them may exist). An answer that does not account for every
        draft is read as ``MaybeApplied`` for all of them: the markers settle it. After an error
        meaning "not sent" (NotApplied, RateLimited, Stopped) nothing more is sent."""
        # Imported here: this module's import block is kept as it is (see the lazy imports).
        from planerka_sync.errors import RateLimited, Stopped
        from planerka_sync.trackers.http import NotApplied

        results: list[Any] = []  # trackers.base.CreateResult
        for start in range(0, len(drafts), BULK_CREATE):
            chunk = drafts[start:start + BULK_CREATE]
            try:
                results += self._create_chunk(chunk)
            except (NotApplied, RateLimited, Stopped) as exc:
                return results + [exc] * (len(drafts) - len(results))
            except TrackerError as exc:
                results += [exc] * len(chunk)
        return results

    def _create_chunk(self, drafts: Sequence[TaskDraft]) -> list[Any]:
        """One request for the drafts; raises only what the request as a whole met."""
        from planerka_sync.errors import TransientTrackerError
        from planerka_sync.trackers.base import Created

        link = self._links_on_create
        if len(drafts) == 1:
            try:
                answer = self._post("issue", self._task_fields(drafts[0], link))
            except TrackerError as exc:
                if link and not isinstance(exc, TransientTrackerError) and _about_links(exc):
                    self._links_on_create = False  # refused, so not made: again, unlinked
                    return self._create_chunk(drafts)
                raise
            return [Created(self._ref(answer), linked=link and bool(drafts[0].meeting.key))]
        try:
            answer = self._post("issue/bulk", {
                "issueUpdates": [self._task_fields(d, link) for d in drafts]})
        except TrackerError as exc:  # 400: every element refused
            if link and not isinstance(exc, TransientTrackerError) and _about_links(exc):
                self._links_on_create = False
                return self._create_chunk(drafts)
            raise
        results = self._bulk_results(drafts, answer if isinstance(answer, dict) else {}, link)
        if link and (unlinked := [n for n, r in enumerate(results) if r is _LINK_REFUSED]):
            # Elements refused for their link only were not made: make them without it (the
            # separate link step then tries the link again and reports why it fails).
            self._links_on_create = False
            try:
                again = self._create_chunk([drafts[n] for n in unlinked])
            except TrackerError as exc:
                again = [exc] * len(unlinked)
            for n, result in zip(unlinked, again, strict=True):
                results[n] = result
        return results

    def _bulk_results(self, drafts: Sequence[TaskDraft], answer: dict[str, Any],
                      link: bool) -> list[Any]:
        """Issues come in the order of the drafts, each failed element by its number."""
        from planerka_sync.trackers.base import Created
        from planerka_sync.trackers.http import MaybeApplied

        issues = [i for i in answer.get("issues") or [] if isinstance(i, dict) and "id" in i]
        failed: dict[int, dict[str, Any]] = {}
        for error in answer.get("errors") or []:
            number = error.get("failedElementNumber") if isinstance(error, dict) else None
            if isinstance(number, int) and 0 <= number < len(drafts):
                failed[number] = error
        if len(issues) + len(failed) != len(drafts):
            doubt = MaybeApplied(t(
                f"Jira answered a bulk create of {len(drafts)} tasks with {len(issues)} issues "
                f"and {len(failed)} errors; the tasks are looked up by their markers",
                f"Jira ответила на создание {len(drafts)} задач списком из {len(issues)} задач и "
                f"{len(failed)} ошибок; задачи будут найдены по их меткам"))
            return [doubt] * len(drafts)
        made = iter(issues)
        return [_element_error(failed[n], link) if n in failed
                else Created(self._ref(next(made)), linked=link and bool(drafts[n].meeting.key))
                for n in range(len(drafts))]

    def link_task(self, task: ItemRef, meeting: ItemRef, *, verify: bool) -> None:
        """A "Relates" issue link between the task and the meeting issue."""
        if verify:
            issue = self._get(f"issue/{task.key or task.id}", fields="issuelinks")
            for link in (issue.get("fields") or {}).get("issuelinks") or []:
                other = link.get("outwardIssue") or link.get("inwardIssue") or {}
                if meeting.key in (other.get("key"), other.get("id")):
                    return
        self._post("issueLink", {"type": {"name": "Relates"}, "inwardIssue": {"key": task.key},
                                 "outwardIssue": {"key": meeting.key}})

    def find_tasks(self, markers: Sequence[str]) -> dict[str, ItemRef]:
        """Issues labelled with any of the markers. Search is eventually consistent on Cloud:
        the caller must not read "not found" as "never created" for a fresh intent."""
        if not markers:
            return {}
        quoted = ", ".join(f'"{m}"' for m in markers)
        found: dict[str, ItemRef] = {}
        for issue in self.search(f"labels in ({quoted})", ["labels"]):
            for label in issue["fields"].get("labels", []):
                if label in markers:
                    found.setdefault(label, self._ref(issue))
        return found

    def update_task(self, ref: ItemRef, patch: TaskPatch) -> None:
        fields: dict[str, Any] = {}
        if patch.title is not None:
            fields["summary"] = patch.title[:SUMMARY_LIMIT]
        if patch.due is not None:
            fields["duedate"] = patch.due.isoformat()
        if patch.owner_account is not None:
            fields["assignee"] = self._person(patch.owner_account)
        if fields:
            self._put(f"issue/{ref.key or ref.id}", {"fields": fields})

    def put_comment(self, on: ItemRef, doc: Document, existing: str | None) -> str:
        body = {"body": self._body(doc)}
        if existing:
            self._put(f"issue/{on.key or on.id}/comment/{existing}", body)
            return existing
        return str(self._post(f"issue/{on.key or on.id}/comment", body)["id"])

    def annotate(self, meeting: ItemRef, entry: ChecklistEntry, task: ItemRef) -> None:
        """Jira's task items stay as written; the confirmation comment carries the links."""

    def task_states(self, since: datetime | None) -> Iterator[TaskState]:
        """planerka tasks changed since ``since`` (all without it), paged, only needed fields.

        The cutoff is relative ("-N minutes"): JQL dates are read in the account's time zone,
        a duration is the same everywhere. The caller subtracts its own lookback first."""
        jql = self.tasks_jql()
        if since is not None:
            minutes = max(int((datetime.now(UTC) - since).total_seconds() // 60) + 1, 1)
            jql += f' AND updated >= "-{minutes}m"'
        for issue in self.search(f"{jql} ORDER BY updated ASC", STATE_FIELDS):
            state = self._state(issue)
            if state is not None:
                yield state

    def tasks_jql(self) -> str:
        """planerka's tasks of the project: the ``planerka`` label, less the meeting issues
        (which carry their series label ``planerka-<series>`` beside it). A meeting of a series
        no longer in the config is still found, and skipped by :meth:`_state`."""
        jql = f'project = "{self.config.project}" AND labels = {SERIES_LABEL}'
        if self.series:
            labels = ", ".join(f'"{series_label(s)}"' for s in self.series)
            jql += f" AND labels not in ({labels})"
        return jql

    def _state(self, issue: dict[str, Any]) -> TaskState | None:
        fields = issue.get("fields", {})
        marker = next((label for label in fields.get("labels", [])
                       if label.startswith(TASK_LABEL_PREFIX)), None)
        if marker is None:
            return None  # a meeting issue, not a task
        status = fields.get("status") or {}
        name = status.get("name", "")
        mapped = self.config.status_map.get(name)
        category = (CATEGORY_OF_STATUS[mapped] if mapped
                    else (status.get("statusCategory") or {}).get("key", "new"))
        assignee = fields.get("assignee") or {}
        return TaskState(
            marker=marker, ref=self._ref(issue), title=fields.get("summary", ""),
            category=category, status_name=name,
            assignee=assignee.get("accountId") or assignee.get("name"),
            due=date.fromisoformat(fields["duedate"]) if fields.get("duedate") else None,
            done_at=_jira_time(fields.get("resolutiondate")),
            updated_at=_jira_time(fields.get("updated")),
        )

    # --- webhooks (WebhookAdmin): Data Center's REST registration --------------------------
    def webhooks(self) -> list[Webhook]:
        self._dc_only()
        hooks: Any = self.client.get(WEBHOOK_API) or []
        return [_webhook(h) for h in hooks if SERIES_LABEL in _filter(h)]

    def add_webhook(self, url: str, secret: str | None) -> Webhook:
        """Needs a Jira administrator's token (TrackerAuthError otherwise)."""
        self._dc_only()
        for hook in self.webhooks():
            if hook.url == url:
                return hook
        return _webhook(self.client.post(WEBHOOK_API, data=webhook_definition(url, secret)))

    def remove_webhook(self, webhook_id: str) -> None:
        self._dc_only()
        self.client.delete(f"{WEBHOOK_API}/{webhook_id}")

    def _dc_only(self) -> None:
        if self.cloud:
            raise TrackerError(t("Jira Cloud admin webhooks are made in Settings → System → "
                                 "WebHooks; `planerka-sync webhooks install` prints what to enter",
                                 "вебхуки администратора Jira Cloud создаются в разделе "
                                 "«Настройки → Система → Веб-хуки»; что туда ввести, покажет "
                                 "`planerka-sync webhooks install`"))

    def attach(self, on: ItemRef, file: Attachment, replace: str | None) -> str:
        if replace:
            with contextlib.suppress(TrackerNotFound):  # someone removed it already
                self.client.delete(f"{self.api}/attachment/{replace}")
        created = self.client.post(
            f"{self.api}/issue/{on.key or on.id}/attachments",
            files={"file": (file.filename, file.content, file.mime_type)},
            headers=NO_CHECK,
        )
        if not isinstance(created, list) or not created:
            raise TrackerError(t(f"Jira answered an attachment upload without the attachment: "
                                 f"{str(created)[:200]}",
                                 f"Jira ответила на загрузку вложения без самого вложения: "
                                 f"{str(created)[:200]}"))
        return str(created[0]["id"])


_LINK_REFUSED = TrackerError("the create's link was refused")  # a bulk element to send again


def _about_links(exc: TrackerError) -> bool:
    """A refusal naming the create's ``issuelinks`` (not on the create screen, or the meeting
    issue gone): the task itself was not made either."""
    return "issuelinks" in f"{exc.message} {exc.detail or ''}"


def _element_error(error: dict[str, Any], link: bool) -> TrackerError:
    """Jira's answer for one refused element of a bulk create."""
    from planerka_sync.trackers.http import MaybeApplied

    status = int(error.get("status") or 400)
    body = error.get("elementErrors") or {}
    messages = list(body.get("errorMessages") or []) if isinstance(body, dict) else []
    fields = (body.get("errors") or {}) if isinstance(body, dict) else {}
    if link and status < 500 and "issuelinks" in fields:
        return _LINK_REFUSED
    said = "; ".join([*map(str, messages), *(f"{k}: {v}" for k, v in fields.items())])[:300]
    if status >= 500:  # that element may have been made all the same
        return MaybeApplied(t(f"Jira failed on a task of a bulk create ({status}): {said}",
                              f"сбой Jira на задаче при массовом создании ({status}): {said}"))
    return TrackerError(t(f"Jira refused the task ({status}): {said}",
                          f"Jira отклонила задачу ({status}): {said}"))


def _task_items(description: Any) -> Iterator[ChecklistEntry]:
    """ADF task items with the heading above them; mention and date nodes are structured
    owner and due, so they are not part of the text."""
    if not isinstance(description, dict):
        return
    section = ""
    for node in description.get("content", []) or []:
        if node.get("type") == "heading":
            section = "".join(_adf_text(node)).strip()
        elif node.get("type") == "taskList":
            yield from _task_list(node, section)


def _task_list(node: dict[str, Any], section: str) -> Iterator[ChecklistEntry]:
    for item in node.get("content", []) or []:
        if item.get("type") == "taskList":
            yield from _task_list(item, section)
            continue
        if item.get("type") != "taskItem":
            continue
        inline = item.get("content", []) or []
        mentions = [n["attrs"]["id"] for n in inline if n.get("type") == "mention"]
        dates = [n["attrs"]["timestamp"] for n in inline if n.get("type") == "date"]
        text = "".join(n.get("text", "") for n in inline if n.get("type") == "text")
        yield ChecklistEntry(
            section=section, ref=str(item.get("attrs", {}).get("localId", "")),
            text=" ".join(text.split()), owner_account=mentions[0] if mentions else None,
            due=_epoch_day(dates[0]) if dates else None,
            done=item.get("attrs", {}).get("state") == "DONE",
        )


def _epoch_day(timestamp: str) -> date | None:
    try:
        return datetime.fromtimestamp(int(timestamp) / 1000, UTC).date()
    except (TypeError, ValueError):
        return None


def _jira_time(value: str | None) -> datetime | None:
    """Jira's '2026-11-26T10:00:00.000+0000' (a moment: one without an offset is no answer).
    ``fromisoformat`` reads it since Python 3.11, some 60 times faster than ``strptime``: a
    pull of 1,000 tasks reads 2,000 of them."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def _author(author: dict[str, Any]) -> str | None:
    return author.get("accountId") or author.get("name")


def _comment_text(body: Any) -> str:
    """Plain text of a comment: wiki strings as they are, ADF documents flattened."""
    if isinstance(body, str):
        # Wiki markup as plain text: [~ivan] is Data Center's @ivan; escapes undone.
        text = WIKI_ESCAPE.sub(r"\1", html.unescape(body))
        return WIKI_MENTION.sub(r"@\1", text)
    return "".join(_adf_text(body)) if isinstance(body, dict) else ""


def _adf_text(node: dict[str, Any]) -> Iterator[str]:
    kind = node.get("type")
    if kind == "text":
        yield node.get("text", "")
    elif kind == "hardBreak":
        yield "\n"
    elif kind == "mention":
        yield str(node.get("attrs", {}).get("text") or "")
    for child in node.get("content", []) or []:
        yield from _adf_text(child)
    if kind in ("paragraph", "heading", "listItem", "taskItem"):
        yield "\n"
