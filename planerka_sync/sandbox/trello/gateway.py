"""Trello's front door: what a request meets before a route answers, and ``/1/batch``.

Where core.Emulator differs from Trello this module overrides it: a GET with a body gets
CloudFront's HTML 403 (Trello sits behind it), trailing slashes are tolerated, an unknown route is
a plain-text 404 "Cannot GET /path", and ``reset`` also clears the rate-limit windows.

Authentication: ``key`` and ``token`` in the query string, a urlencoded/JSON/multipart body, or
an ``Authorization: OAuth oauth_consumer_key="..", oauth_token=".."`` header (py-trello signs
with OAuth 1; the signature is not checked). No key is a 401 "invalid key", no token a 401
"unauthorized permission requested"; when the seed lists ``credentials``, an unknown key or token
is a 401 "invalid key" / "invalid token".

Rate limits (option ``rate_limit``): 100 requests per 10 s per token and 300 per key; over them
Trello answers 429 API_TOKEN_LIMIT_EXCEEDED / API_KEY_LIMIT_EXCEEDED, without Retry-After.
``GET /1/batch`` answers up to 10 GET routes at once (more is a 400; a batch inside a batch is a
404 item), each as ``{"<status>": body}``.
"""

from __future__ import annotations

import json
import re
from collections import deque
from dataclasses import replace
from urllib.parse import parse_qs, unquote, urlsplit

from planerka_sync.sandbox import seed as demo
from planerka_sync.sandbox.core import JSON, HttpError, Request, Response, Route, route

from .base import TrelloBase
from .common import NO_PERMISSION, Obj

RATE_WINDOW = 10.0
TOKEN_LIMIT = 100
KEY_LIMIT = 300
BATCH_MAX = 10
OAUTH_PARAM = re.compile(r'(\w+)="([^"]*)"')
# What CloudFront answers for a GET with a body (Trello sits behind it).
CLOUDFRONT_403 = (
    '<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01 Transitional//EN">\n<HTML><HEAD><TITLE>ERROR: '
    "The request could not be satisfied</TITLE></HEAD><BODY>\n<H1>403 ERROR</H1>\n<H2>The request "
    "could not be satisfied.</H2>\nBad request. We can't connect to the server for this app or "
    "website at this time.\n</BODY></HTML>"
)


def parse_oauth(header: str | None) -> dict[str, str]:
    """The parameters of an ``Authorization: OAuth k="v", ...`` header."""
    if not header or not header.lower().startswith("oauth "):
        return {}
    return {k: unquote(v) for k, v in OAUTH_PARAM.findall(header)}


class GatewayApi(TrelloBase):
    """Dispatch, authentication and rate limits (overrides of core.Emulator), and /1/batch."""

    def reset(self) -> None:
        super().reset()
        with self.lock:
            self._windows.clear()
            self.deliveries.clear()

    def authenticate(self, req: Request) -> Response | None:
        try:
            p = self._params(req)
        except HttpError as err:
            return err.response
        oauth = parse_oauth(req.header("Authorization"))
        key = p.text("key") or oauth.get("oauth_consumer_key")
        token = p.text("token") or oauth.get("oauth_token")
        if not key:
            return Response(401, "invalid key")
        if not token:
            return Response(401, NO_PERMISSION)
        with self.lock:
            member, problem = self._member_for(key, token)
        if member is None:
            return Response(401, problem)
        self._ctx.member, self._ctx.key, self._ctx.token = member, key, token
        return None

    def _member_for(self, key: str, token: str) -> tuple[str | None, str]:
        """The member a key+token acts as, or None and Trello's complaint."""
        credentials = self.db["credentials"]
        if credentials:
            if not any(c.get("key") == key for c in credentials):
                return None, "invalid key"
            match = next(
                (c for c in credentials if c.get("key") == key and c.get("token") == token), None
            )
            if match is None:
                return None, "invalid token"
            ref = match.get("member", demo.DEFAULT_ACTOR)
        else:
            ref = demo.DEFAULT_ACTOR
        try:
            return str(self._member_ref(ref)["id"]), ""
        except ValueError:
            return None, "invalid token"

    def _rate_limited(self) -> Response | None:
        """Trello's limits: 100 requests / 10 s per token, 300 per key; 429, no Retry-After."""
        if not self.options.get("rate_limit"):
            return None
        now = self.now()
        scopes = (
            (f"token:{self._ctx.token}", TOKEN_LIMIT, "API_TOKEN_LIMIT_EXCEEDED"),
            (f"key:{self._ctx.key}", KEY_LIMIT, "API_KEY_LIMIT_EXCEEDED"),
        )
        with self.lock:
            windows = [self._windows.setdefault(name, deque()) for name, _, _ in scopes]
            for window, (_, limit, code) in zip(windows, scopes, strict=True):
                while window and window[0] <= now - RATE_WINDOW:
                    window.popleft()
                if len(window) >= limit:
                    message = f"Rate limit exceeded: {limit} requests per {RATE_WINDOW:g} seconds"
                    return Response(429, {"error": code, "message": message})
            for window in windows:
                window.append(now)
        return None

    def _match(self, method: str, path: str) -> tuple[Route, re.Match[str]] | None:
        for r in self._routes:
            if r.method == method:
                match = r.pattern.match(path)
                if match:
                    return r, match
        return None

    def _dispatch(self, req: Request) -> Response:
        """Trello's front door: CloudFront's 403 for a GET with a body, trailing slashes
        tolerated, plain-text 404s for unknown routes, auth, then rate limits."""
        if req.method == "GET" and req.body:
            return Response(403, CLOUDFRONT_403, content_type="text/html")
        self._ctx.member = self._ctx.key = self._ctx.token = None
        req = replace(req, path=req.path.rstrip("/") or "/")
        found = self._match(req.method, req.path)
        if found is None:
            return Response(404, f"Cannot {req.method} {req.path}")
        matched, match = found
        if matched.auth:
            denied = self.authenticate(req) or self._rate_limited()
            if denied is not None:
                return denied
        return self._invoke(matched, match, req)

    def _invoke(self, matched: Route, match: re.Match[str], req: Request) -> Response:
        req.params = match.groupdict()
        try:
            with self.lock:
                result = getattr(self, matched.handler_name)(req)
        except HttpError as err:
            return err.response
        return result if isinstance(result, Response) else Response(200, result)

    # --- batch ------------------------------------------------------------------------------------
    @route("GET", r"/1/batch")
    def batch(self, req: Request) -> JSON:
        """Up to 10 GET routes answered as ``[{"200": body}, {"404": {...}}, ...]``."""
        urls = [u.strip() for u in (self._params(req).text("urls") or "").split(",") if u.strip()]
        if not urls:
            raise HttpError(400, "invalid value for urls")
        if len(urls) > BATCH_MAX:
            raise HttpError(400, f"Too many routes in the batch; maximum is {BATCH_MAX}")
        return [self._batch_item(req, url) for url in urls]

    def _batch_item(self, parent: Request, url: str) -> Obj:
        split = urlsplit(url)
        path = split.path if split.path.startswith("/1/") else "/1" + split.path
        query = parse_qs(split.query, keep_blank_values=True)
        sub = Request("GET", path.rstrip("/"), query, parent.headers, b"")
        found = self._match("GET", sub.path) if path.startswith("/1/") else None
        if found is None or found[0].handler_name == "batch":
            return {"404": {"message": f"Cannot GET {path}", "error": "NOT_FOUND"}}
        response = self._invoke(found[0], found[1], sub)
        body = response.body
        if response.status >= 400:
            body = {
                "message": body if isinstance(body, str) else json.dumps(body),
                "error": "ERROR",
            }
        return {str(response.status): body}
