"""Point the real py-trello client at a sandbox (or any Trello-compatible base URL).

py-trello hardcodes ``https://api.trello.com/1/`` in ``TrelloClient.fetch_json`` (and
``https://trello.com/1/`` in ``create_hook``), but it sends every request through the injectable
``http_service`` (``requests`` by default). :class:`RebasedHttp` is such a service: it rewrites
those two prefixes to the sandbox and passes everything else (params, OAuth signing, files)
through unchanged, so the client under test is the unmodified library.

py-trello's ``ResourceUnavailable`` keeps only the status code, so the service also remembers
``last_response``: the headers a retry policy needs (``Retry-After``) stay reachable.
"""

from __future__ import annotations

from typing import Any

import requests
import trello

TRELLO_PREFIXES = ("https://api.trello.com/1/", "https://trello.com/1/")


class RebasedHttp:
    """A drop-in for the ``requests`` module as py-trello uses it, with the Trello host swapped."""

    def __init__(self, base_url: str, session: requests.Session | None = None) -> None:
        self.base = base_url.rstrip("/") + "/1/"
        # Like py-trello's default (the requests module): a new connection per call unless a
        # session is given.
        self.session = session
        self.last_response: requests.Response | None = None

    def rebase(self, url: str) -> str:
        for prefix in TRELLO_PREFIXES:
            if url.startswith(prefix):
                return self.base + url[len(prefix) :]
        return url

    def request(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", 10)
        send = self.session.request if self.session is not None else requests.request
        self.last_response = send(method, self.rebase(url), **kwargs)
        return self.last_response

    def get(self, url: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> requests.Response:
        return self.request("POST", url, **kwargs)

    def put(self, url: str, **kwargs: Any) -> requests.Response:
        return self.request("PUT", url, **kwargs)

    def delete(self, url: str, **kwargs: Any) -> requests.Response:
        return self.request("DELETE", url, **kwargs)


def sandbox_client(base_url: str, key: str = "sandbox-key", token: str = "sandbox-token") -> Any:
    """A real ``trello.TrelloClient`` (OAuth 1 header auth, as with a user token) aimed at
    ``base_url``."""
    return trello.TrelloClient(key, token=token, http_service=RebasedHttp(base_url))
