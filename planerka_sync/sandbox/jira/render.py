"""How stored records look on the wire: the JSON shapes every Jira area answers with.

Statuses, issue types, priorities, project references, users (via the flavour hook), comments,
attachments, issue links and whole issues (``IssueBean``), rendered for the API version asked
(``2``: wiki strings, ``3``: ADF on Cloud). Webhook payloads reuse them.

Rules of the issue representation:

* ``fields`` follows Jira's selection rules (``*all``, ``*navigable``, names, ``-exclusions``;
  ``["id"]`` alone means ids only), see :meth:`RenderMixin.select_fields`;
* the ``comment`` field embedded in an issue holds only the first ``EMBEDDED_COMMENTS_MAX`` (100)
  comments while its ``total`` counts them all, as on Cloud: a client must page
  ``issue/{key}/comment`` for the rest;
* ``parent`` is left out on top-level issues, ``statuscategorychangedate`` on Data Center.
"""

from __future__ import annotations

import html
from urllib.parse import quote

from planerka_sync.sandbox.jira.base import JiraCore
from planerka_sync.sandbox.jira.common import ALL_FIELDS, CATEGORIES, JSON, Rec

# The ``comment`` field embedded in an issue holds only the first comments (100 seen on Cloud)
# while ``total`` counts them all: a client that stops there loses the rest.
EMBEDDED_COMMENTS_MAX = 100


class RenderMixin(JiraCore):
    """The JSON renderers shared by the areas (and by webhook payloads)."""

    def category_json(self, key: str) -> JSON:
        cat = CATEGORIES[key]
        return {"self": self.url(f"/rest/api/2/statuscategory/{cat['id']}"), **cat}

    def status_json(self, sid: str, v: str) -> JSON:
        status = self.db["statuses"][sid]
        return {
            "self": self.api_url(v, f"status/{sid}"),
            "description": "",
            "iconUrl": self.url("/images/icons/statuses/generic.png"),
            "name": status["name"],
            "untranslatedName": status["name"],
            "id": sid,
            "statusCategory": self.category_json(status["category"]),
        }

    def issuetype_json(self, tid: str, v: str) -> JSON:
        itype = self.db["issue_types"][tid]
        return {
            "self": self.api_url(v, f"issuetype/{tid}"),
            "id": tid,
            "description": itype["description"],
            "iconUrl": self.url(
                f"/secure/viewavatar?size=medium&avatarId={tid}&avatarType=issuetype"
            ),
            "name": itype["name"],
            "subtask": itype["subtask"],
            "avatarId": int(tid),
            "hierarchyLevel": itype["hierarchyLevel"],
        }

    def priority_json(self, prid: str, v: str) -> JSON:
        priority = self.db["priorities"][prid]
        return {
            "self": self.api_url(v, f"priority/{prid}"),
            "iconUrl": self.url(f"/images/icons/priorities/{priority['name'].lower()}.svg"),
            "name": priority["name"],
            "id": prid,
        }

    def project_ref(self, project: Rec, v: str) -> JSON:
        return {
            "self": self.api_url(v, f"project/{project['id']}"),
            "id": project["id"],
            "key": project["key"],
            "name": project["name"],
            "projectTypeKey": "software",
            "avatarUrls": self.avatar_urls(f"project-{project['id']}"),
        }

    def issue_brief(self, rec: Rec, v: str) -> JSON:
        """How an issue appears inside another (links, parent, subtasks)."""
        return {
            "id": rec["id"],
            "key": rec["key"],
            "self": self.api_url(v, f"issue/{rec['id']}"),
            "fields": {
                "summary": rec["summary"],
                "status": self.status_json(rec["status"], v),
                "priority": self.priority_json(rec["priority"], v),
                "issuetype": self.issuetype_json(rec["issuetype"], v),
            },
        }

    def comment_json(self, comment: Rec, v: str, rendered: bool = False) -> JSON:
        body: JSON = {
            "self": self.api_url(v, f"issue/{comment['issue']}/comment/{comment['id']}"),
            "id": comment["id"],
            "author": self.user_json(comment["author"], v),
            "body": self.rich_out(comment["body"], v),
            "updateAuthor": self.user_json(comment["update_author"], v),
            "created": self.jira_time(comment["created"]),
            "updated": self.jira_time(comment["updated"]),
        }
        if self.deployment_type == "Cloud":
            body["jsdPublic"] = True
        if rendered:
            body["renderedBody"] = self.render_html(comment["body"])
        return body

    def attachment_json(self, att: Rec, v: str) -> JSON:
        return {
            "self": self.api_url(v, f"attachment/{att['id']}"),
            "id": att["id"],
            "filename": att["filename"],
            "author": self.user_json(att["author"], v),
            "created": self.jira_time(att["created"]),
            "size": att["size"],
            "mimeType": att["mimeType"],
            "content": self.content_url(att),
        }

    def content_url(self, att: Rec) -> str:
        return self.url(f"/secure/attachment/{att['id']}/{quote(att['filename'])}")

    def link_type_json(self, tid: str, v: str) -> JSON:
        return {"self": self.api_url(v, f"issueLinkType/{tid}"), **self.db["link_types"][tid]}

    def issue_link_json(self, link: Rec, seen_from: str | None, v: str) -> JSON:
        body: JSON = {
            "id": link["id"],
            "self": self.api_url(v, f"issueLink/{link['id']}"),
            "type": self.link_type_json(link["type"], v),
        }
        inward = self.db["issues"].get(link["inward"])
        outward = self.db["issues"].get(link["outward"])
        # Seen from the inward issue the other end is its outwardIssue, and vice versa.
        if seen_from != link["outward"] and outward:
            body["outwardIssue"] = self.issue_brief(outward, v)
        if seen_from != link["inward"] and inward:
            body["inwardIssue"] = self.issue_brief(inward, v)
        return body

    def render_html(self, stored: JSON) -> str:
        paragraphs = [p for p in self.plain(stored).split("\n") if p.strip()]
        return "".join(f"<p>{html.escape(p)}</p>" for p in paragraphs)

    def field_json(self, rec: Rec, name: str, v: str) -> JSON:
        project = self.db["projects"][rec["project"]]
        if name in ("created", "updated", "resolutiondate", "statuscategorychangedate"):
            return self.jira_time(rec.get(name))
        if name == "description":
            return self.rich_out(rec["description"], v) if rec["description"] is not None else None
        if name == "status":
            return self.status_json(rec["status"], v)
        if name == "issuetype":
            return self.issuetype_json(rec["issuetype"], v)
        if name == "project":
            return self.project_ref(project, v)
        if name in ("assignee", "reporter", "creator"):
            return self.user_json(rec[name], v) if rec[name] else None
        if name == "priority":
            return self.priority_json(rec["priority"], v)
        if name == "resolution":
            if rec["resolutiondate"] is None:
                return None
            return {
                "self": self.api_url(v, "resolution/10000"),
                "id": "10000",
                "description": "Work has been completed on this issue.",
                "name": "Done",
            }
        if name == "comment":
            ids = [c for c in rec["comments"] if c in self.db["comments"]]
            comments = [
                self.comment_json(self.db["comments"][c], v) for c in ids[:EMBEDDED_COMMENTS_MAX]
            ]
            return {
                "comments": comments,
                "self": self.api_url(v, f"issue/{rec['id']}/comment"),
                "maxResults": len(comments),
                "total": len(ids),
                "startAt": 0,
            }
        if name == "issuelinks":
            return [
                self.issue_link_json(self.db["links"][lid], rec["id"], v)
                for lid in rec["links"]
                if lid in self.db["links"]
            ]
        if name == "attachment":
            return [
                self.attachment_json(self.db["attachments"][a], v)
                for a in rec["attachments"]
                if a in self.db["attachments"]
            ]
        if name == "subtasks":
            return [
                self.issue_brief(i, v)
                for i in self.db["issues"].values()
                if i.get("parent") == rec["id"]
            ]
        if name == "parent":
            parent = self.db["issues"].get(rec.get("parent") or "")
            return self.issue_brief(parent, v) if parent else None
        if name == "labels":
            return list(rec["labels"])
        return rec.get(name)

    def issue_json(self, rec: Rec, v: str, fields: list[str] | None, expand: set[str]) -> JSON:
        """An IssueBean; ``fields=None`` is the enhanced search's id-only answer."""
        if fields is None:
            return {"id": rec["id"]}
        out: JSON = {
            "expand": "renderedFields,names,schema,operations,editmeta,changelog,"
            "versionedRepresentations",
            "id": rec["id"],
            "self": self.api_url(v, f"issue/{rec['id']}"),
            "key": rec["key"],
            "fields": {},
        }
        for name in fields:
            if name == "parent" and not rec.get("parent"):
                continue  # Jira omits parent on top-level issues
            if name == "statuscategorychangedate" and self.deployment_type != "Cloud":
                continue
            out["fields"][name] = self.field_json(rec, name, v)
        if "renderedFields" in expand:
            out["renderedFields"] = {
                "description": self.render_html(rec["description"]) if rec["description"] else None,
                "created": self.jira_time(rec["created"]),
                "updated": self.jira_time(rec["updated"]),
            }
        if "changelog" in expand:
            out["changelog"] = self.changelog_json(rec, v)
        return out

    def changelog_json(self, rec: Rec, v: str) -> JSON:
        histories = [
            {
                "id": h["id"],
                "author": self.user_json(h["author"], v),
                "created": self.jira_time(h["created"]),
                "items": h["items"],
            }
            for h in rec["changelog"]
        ]
        return {
            "startAt": 0,
            "maxResults": len(histories),
            "total": len(histories),
            "histories": histories,
        }

    @staticmethod
    def select_fields(requested: list[str], default: list[str]) -> list[str] | None:
        """Jira's ``fields`` rules: *all, *navigable, names, -exclusions; ["id"] = ids only."""
        tokens = requested or default
        if tokens == ["id"]:
            return None
        include: set[str] = set()
        exclude: set[str] = set()
        for token in tokens:
            if token in ("*all", "*navigable"):
                include.update(ALL_FIELDS)
            elif token.startswith("-"):
                exclude.add(token[1:])
            else:
                include.add(token)  # unknown names are ignored, as Jira does
        return [f for f in ALL_FIELDS if f in include and f not in exclude]
