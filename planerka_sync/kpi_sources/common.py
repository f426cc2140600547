"""What every KPI source shares: reading numbers and dates the way people write them (ru and en),
and the error raised for input a person typed."""

from __future__ import annotations

import difflib
import math
import re
import time
from collections.abc import Collection
from datetime import date, datetime
from typing import Any

from planerka_sync.errors import PlanerkaError

# Digit-group separators people and spreadsheets put in numbers: space, no-break, thin spaces.
_GROUP_SPACES = re.compile(r"[ \u00a0\u2009\u202f_']")
_PLAIN_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
# "1,234" may be 1234 (en) or 1.234 (ru): refused rather than guessed.
_AMBIGUOUS_COMMA = re.compile(r"[+-]?[1-9]\d{0,2},\d{3}")


class KpiInputError(PlanerkaError):
    """Metric values that cannot be read; ``problems`` name each bad piece of input."""

    exit_code = 2

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


class SourceFailure(str):
    """Why a source gave no value: the English text (for logs and ``-v``) is the string itself;
    ``code`` is what is stored and shown to people, localised and short
    (:func:`planerka_sync.domain.kpi.source_error_text`): ``unreachable``, ``timeout``,
    ``denied:<status>``, ``quota``, ``http:<status>``, ``unreadable``, ``missing``."""

    code: str

    def __new__(cls, text: str, code: str) -> SourceFailure:
        failure = super().__new__(cls, text)
        failure.code = code
        return failure


def http_failure(status: int, reason: str) -> SourceFailure:
    """The failure of an HTTP status a source answered with."""
    text = f"HTTP {status} {reason}".strip()
    if status in (401, 403):
        return SourceFailure(text, f"denied:{status}")
    return SourceFailure(text, "quota" if status == 429 else f"http:{status}")


def parse_number(text: str) -> float:
    """'1 234,5', '1,234.5', '1234.5', '−3', '12,5 %' (a percent: 0.125). ValueError if not a
    finite number, or if a lone comma could be either a decimal or a thousands separator."""
    body = _GROUP_SPACES.sub("", text.strip()).replace("\u2212", "-")
    percent = body.endswith("%")
    body = body.removesuffix("%")
    if _AMBIGUOUS_COMMA.fullmatch(body):
        raise ValueError(f"ambiguous number {text.strip()!r}: write it without the comma or "
                         f"with a decimal point (e.g. {body.replace(',', '')} or "
                         f"{body.replace(',', '.')})")
    body = _normalize_separators(body)
    if not _PLAIN_NUMBER.fullmatch(body):
        raise ValueError(f"not a number: {text.strip()!r}")
    value = float(body)
    if not math.isfinite(value):
        raise ValueError(f"number out of range: {text.strip()!r}")
    return value / 100 if percent else value


def _normalize_separators(body: str) -> str:
    """The last of ',' and '.' is the decimal separator; the other one groups digits."""
    if "," in body and "." in body:
        decimal = "," if body.rfind(",") > body.rfind(".") else "."
        group = "." if decimal == "," else ","
        return body.replace(group, "").replace(decimal, ".")
    if body.count(",") > 1:  # 1,234,567
        return body.replace(",", "")
    return body.replace(",", ".")


def parse_period_end(text: str) -> date:
    """'2026-11-30' or '30.11.2026'."""
    value = text.strip()
    for pattern in ("%Y-%m-%d", "%d.%m.%Y"):
        try:
            return datetime.strptime(value, pattern).date()
        except ValueError:
            continue
    raise ValueError(f"not a date: {value!r} (use YYYY-MM-DD or DD.MM.YYYY)")


def unknown_metric(metric: str, known: Collection[str]) -> str:
    """The message for a metric id the set does not record, with the likely intended one."""
    close = difflib.get_close_matches(metric, sorted(known), n=3, cutoff=0.8)
    hint = f"; did you mean {' or '.join(close)}?" if close else "; see `planerka-sync kpi show`"
    return f"unknown metric {metric!r}{hint}"


# --- reading an answer over HTTP (every source that asks a service) -----------------------------


class TooLate(Exception):
    """The whole answer did not arrive within the source's time-out."""


def read_capped(response: Any, deadline: float, max_bytes: int) -> bytes | None:
    """A ``requests`` response's body, or None past ``max_bytes``; :class:`TooLate` past
    ``deadline`` (``time.monotonic``, for the whole answer). ``read1`` returns what has arrived
    instead of waiting for a full chunk, so a source that trickles a byte at a time is abandoned
    at the first read after its deadline (the socket's time-out bounds each read)."""
    body = bytearray()
    while True:
        if time.monotonic() > deadline:
            raise TooLate
        chunk = response.raw.read1(64 * 1024, decode_content=True)
        if not chunk:
            return bytes(body)
        body += chunk
        if len(body) > max_bytes:
            return None


def cause(exc: BaseException) -> str:
    """The innermost reason ("Connection refused"), without the URL requests puts in its
    messages: the URL may carry a token."""
    inner = exc
    for _ in range(10):  # a chain is short; the bound only guards against a cycle
        nested = inner.__cause__ or inner.__context__
        if nested is None:
            break
        inner = nested
    text = str(inner)
    return type(inner).__name__ if "://" in text or "host=" in text else text
