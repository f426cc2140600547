"""Webhook signatures (issue 7 groundwork): who may tell planerka-sync that something changed.

Trello signs a delivery with ``X-Trello-Webhook`` = base64(HMAC-SHA1(app secret, raw body +
callback URL exactly as registered)); Jira admin webhooks with a secret send ``X-Hub-Signature:
sha256=<hex HMAC-SHA256 of the raw body>`` and a delivery id stable across retries in
``X-Atlassian-Webhook-Identifier``. Comparisons are constant-time; a missing or malformed
signature is simply not valid.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import threading
import time
from collections import OrderedDict
from collections.abc import Callable


def trello_signature(secret: str, body: bytes, callback_url: str) -> str:
    digest = hmac.new(secret.encode("utf-8"), body + callback_url.encode("utf-8"),
                      hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def trello_valid(secret: str, body: bytes, callback_url: str, header: str | None) -> bool:
    if not header or not secret:
        return False
    # Bytes, not str: compare_digest refuses non-ASCII strings, and a header is attacker input.
    expected = trello_signature(secret, body, callback_url).encode("ascii")
    return hmac.compare_digest(expected, header.strip().encode("utf-8", "surrogatepass"))


def jira_signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def jira_valid(secret: str, body: bytes, header: str | None) -> bool:
    if not header or not secret or not header.startswith("sha256="):
        return False
    expected = jira_signature(secret, body).encode("ascii")
    return hmac.compare_digest(expected, header.strip().encode("utf-8", "surrogatepass"))


class SeenDeliveries:
    """Delivery ids seen recently (Jira retries a delivery with the same identifier)."""

    def __init__(self, ttl_seconds: float = 3600, limit: int = 10_000,
                 clock: Callable[[], float] | None = None) -> None:
        self.ttl, self.limit = ttl_seconds, limit
        self.clock = clock or time.monotonic
        self._seen: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()

    def first_time(self, delivery_id: str) -> bool:
        """True the first time an id is offered (within the TTL), False for a repeat."""
        now = self.clock()
        with self._lock:
            while self._seen and (len(self._seen) > self.limit
                                  or next(iter(self._seen.values())) < now - self.ttl):
                self._seen.popitem(last=False)
            if delivery_id in self._seen:
                return False
            self._seen[delivery_id] = now
            return True
