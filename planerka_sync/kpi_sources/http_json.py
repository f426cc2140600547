"""An ``http-json`` source: one GET of a JSON document, one RFC 6901 pointer per metric.

A source that fails must not stop the summary: every failure (network, time-out, HTTP status,
not JSON, a pointer that leads nowhere) comes back as text for the comment's "no data (source
error: ...)", never as an exception. The URL is left out of that text: it may carry a token.
"""

from __future__ import annotations

import json
import time
from collections.abc import Collection, Mapping
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

from pydantic import Field

from planerka_sync.kpi_sources.base import Pulled, SourceSettings, Window
from planerka_sync.kpi_sources.common import (
    SourceFailure,
    TooLate,
    cause,
    http_failure,
    parse_number,
    read_capped,
)

if TYPE_CHECKING:
    import requests

MAX_BYTES = 5_000_000  # a metrics endpoint that sends more than this is not one

Values = dict[str, float | None]


class PointerError(LookupError):
    pass


class HttpJsonSettings(SourceSettings):
    """KPI values read from a JSON endpoint (an analytics export, a BI tool) before each report."""

    kind: Literal["http-json"] = "http-json"
    url: str
    timeout: float = Field(10.0, gt=0, le=120, description="seconds")
    headers: dict[str, str] = Field(default_factory=dict, description="e.g. an API token")
    pointers: dict[str, str] = Field(description="metric id -> JSON pointer, e.g. /data/visits")

    def secrets(self) -> list[str]:
        found = []
        for value in self.headers.values():
            found += [value, *value.split()[1:]]  # "Bearer abc": the credential alone, too
        found.append(urlsplit(self.url).password or "")
        return [s for s in found if s]

    def label(self) -> str:
        return _host(self.url)


class Source:
    """The endpoint's values as they are now: it has no notion of a period, so they are the
    current period's (a report asks for no other)."""

    def __init__(self, settings: HttpJsonSettings) -> None:
        self.settings = settings

    def provides(self) -> dict[str, str]:
        return dict(self.settings.pointers)

    def pull(self, window: Window, wanted: Collection[str]) -> Pulled:
        pointers = {m: p for m, p in self.settings.pointers.items() if m in wanted}
        values, error = fetch(self.settings.url, pointers, self.settings.timeout,
                              headers=self.settings.headers)
        return Pulled(values={m: v for m, v in values.items() if v is not None},
                      failures={m: error for m, v in values.items()
                                if v is None and error is not None})

    def probe(self) -> SourceFailure | None:
        s = self.settings
        return probe(s.url, s.pointers, s.timeout, headers=s.headers)


def fetch(
    url: str,
    pointers: Mapping[str, str],
    timeout: float,
    *,
    headers: Mapping[str, str] | None = None,
    session: requests.Session | None = None,
) -> tuple[Values, SourceFailure | None]:
    """``(values, error)``: a value (or None) per metric of ``pointers``. ``error`` is None when
    every metric got a number; otherwise it says why the metrics left at None have none."""
    empty: Values = dict.fromkeys(pointers)
    document, error = _get_json(url, timeout, headers or {}, session)
    if error is not None:
        return empty, error
    values, problems = empty, []
    for metric, pointer in pointers.items():
        try:
            values[metric] = _number(resolve_pointer(document, pointer))
        except (PointerError, ValueError) as exc:
            problems.append(f"{metric}: {exc}")
    return values, SourceFailure("; ".join(problems), "missing") if problems else None


def probe(
    url: str,
    pointers: Mapping[str, str],
    timeout: float,
    *,
    headers: Mapping[str, str] | None = None,
    session: requests.Session | None = None,
) -> SourceFailure | None:
    """Whether the source answers as a report needs it, in the one GET a report makes: None,
    or why not (``planerka-sync check``)."""
    return fetch(url, pointers, timeout, headers=headers, session=session)[1]


def _get_json(
    url: str, timeout: float, headers: Mapping[str, str], session: requests.Session | None
) -> tuple[Any, SourceFailure | None]:
    import requests
    from urllib3.exceptions import ProtocolError, ReadTimeoutError

    http = session or requests
    deadline = time.monotonic() + timeout  # for the whole answer, not for each read
    try:
        with http.get(url, timeout=timeout, headers=dict(headers), stream=True) as response:
            if response.status_code >= 400:
                return None, http_failure(response.status_code, response.reason or "")
            body = read_capped(response, deadline, MAX_BYTES)
    except (requests.Timeout, ReadTimeoutError, TooLate):
        return None, SourceFailure(f"no answer within {timeout:g} s", "timeout")
    except ProtocolError:
        return None, SourceFailure("the connection broke off mid-answer", "unreadable")
    except requests.ConnectionError as exc:
        if "timed out" in str(exc).lower():  # a read time-out mid-body arrives as this
            return None, SourceFailure(f"no answer within {timeout:g} s", "timeout")
        return None, SourceFailure(f"cannot connect ({cause(exc)})", "unreachable")
    except (requests.RequestException, OSError) as exc:
        return None, SourceFailure(f"request failed ({type(exc).__name__})", "unreachable")
    if body is None:
        return None, SourceFailure(f"response larger than {MAX_BYTES} bytes", "unreadable")
    try:
        return json.loads(body), None
    except ValueError:
        return None, SourceFailure("the response is not JSON", "unreadable")
    except RecursionError:
        # json.loads recurses once per bracket: "[[[[...]]]]" a few thousand deep is a few
        # kilobytes, well under MAX_BYTES, and must be a bad answer like any other.
        return None, SourceFailure(
            f"the response of {_host(url)} is nested too deeply to read; a metrics endpoint "
            f"answers a few levels deep", "unreadable")


def _host(url: str) -> str:
    """The source as a person knows it: its host only, since the path or query (and the user
    info) may carry a token."""
    try:
        return urlsplit(url).hostname or "the source"
    except ValueError:  # an unbalanced "[" in the host: the request could not have been sent
        return "the source"


def _number(value: Any) -> float:
    if isinstance(value, bool) or value is None:
        raise ValueError(f"not a number: {value!r}")
    if isinstance(value, int | float):
        return parse_number(repr(float(value)))  # refuses inf/nan like every other input
    if isinstance(value, str):
        return parse_number(value)
    raise ValueError(f"not a number: a JSON {type(value).__name__}")


def resolve_pointer(document: Any, pointer: str) -> Any:
    """RFC 6901: '' is the whole document; '/a/0/b~1c' is a -> [0] -> 'b/c'."""
    if pointer == "":
        return document
    if not pointer.startswith("/"):
        raise PointerError(f"a JSON pointer starts with '/': {pointer!r}")
    node = document
    for raw in pointer[1:].split("/"):
        token = raw.replace("~1", "/").replace("~0", "~")  # this order, per the RFC
        node = _step(node, token, pointer)
    return node


def _step(node: Any, token: str, pointer: str) -> Any:
    if isinstance(node, dict):
        if token not in node:
            raise PointerError(f"nothing at {pointer}")
        return node[token]
    if isinstance(node, list):
        # Array indexes are decimal without leading zeros; "-" (past the end) never exists.
        if not (token == "0" or (token.isdigit() and token.isascii() and token[0] != "0")):
            raise PointerError(f"{token!r} is not an array index in {pointer}")
        if int(token) >= len(node):
            raise PointerError(f"nothing at {pointer}")
        return node[int(token)]
    raise PointerError(f"nothing at {pointer}")
