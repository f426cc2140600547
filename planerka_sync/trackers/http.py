"""The one HTTP path every tracker request takes: a ``requests.Session`` handed to the client
libraries (atlassian-python-api's ``session=``, py-trello's ``http_service=``).

It owns what must be decided once for all trackers:
- one retry policy (tenacity): back off with jitter, honour ``Retry-After``, and retry a write
  only when it is known not to have reached the tracker (a 429, or a connection never opened);
- one table turning HTTP failures into the error hierarchy, with a message for a person and no
  secret in it (Trello puts key and token in the query string, so only paths are ever shown);
- the base-URL rewrite that points py-trello (which hard-codes api.trello.com) elsewhere.
- a hook for the client-side rate limit (``limiter``, see ratelimit.py), taken before every
  attempt, and for request metrics (``observers``, see observability.py). With a state DB the
  limit is a ``budget`` shared by every replica on the credential; a 429's ``Retry-After`` is
  recorded there so that all of them wait it out, and is honoured in full up to
  ``max_retry_after`` (beyond it the request gives up with RateLimited naming the wait). Time
  spent throttled is logged (WARNING) and reported to ``throttle_observers``.
- the stop flag (``STOPPING``, set on SIGTERM): checked before every attempt, and a retry wait
  is a wait on it, so a stopping process makes no further tracker call and never sleeps out a
  back-off (``Stopped``; the next run resumes the work).
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar
from urllib.parse import unquote, urlsplit

import requests
from requests.exceptions import ConnectTimeout
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt
from tenacity.wait import wait_random_exponential
from urllib3.exceptions import ConnectTimeoutError, MaxRetryError, NewConnectionError

from planerka_sync.errors import (
    RateLimited,
    Stopped,
    TrackerAuthError,
    TrackerError,
    TrackerNotFound,
    TransientTrackerError,
)
from planerka_sync.messages import t
from planerka_sync.ratelimit import SharedBudget, TokenBucket

log = logging.getLogger("planerka_sync.http")

# Called with (tracker, method, status) after every attempt; status is the HTTP code or "error"
# when no answer came. observability.py registers its Prometheus counter here, keeping this
# module free of metrics imports.
RequestObserver = Callable[[str, str, str], None]
# Called with (tracker, seconds) for every wait a rate limit imposes (a 429, the shared budget).
ThrottleObserver = Callable[[str, float], None]

# Retry-After honoured in full up to this by default (config: tracker.max_retry_after).
MAX_RETRY_AFTER = 600.0
# A budget wait at least this long is worth a WARNING; shorter ones are ordinary pacing.
NOTABLE_WAIT = 5.0

# Methods whose repetition cannot create a second object.
IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})

# The process is stopping (the daemon's SIGTERM handler sets it; nothing clears it): every
# policy's default ``stop``. Process-wide because the tracker clients are made deep inside the
# use cases, far from the signal handler.
STOPPING = threading.Event()


@dataclass
class RetryPolicy:
    attempts: int = 5
    base_wait: float = 0.5
    max_wait: float = 30.0
    # None waits on ``stop``, so a stop ends a back-off at once; tests pass a recorder.
    sleep: Callable[[float], None] | None = None
    stop: threading.Event = field(default_factory=lambda: STOPPING)
    # The (Unix) time the shared rate budget is measured on; tests pair a fake one with ``sleep``.
    clock: Callable[[], float] = time.time

    def pause(self, seconds: float) -> None:
        """The wait between two attempts: cut short when the process is asked to stop."""
        if self.sleep is not None:
            self.sleep(seconds)
        else:
            self.stop.wait(seconds)

    def check(self) -> None:
        """Before an attempt: a stopping process sends nothing more (the request surely did
        not reach the tracker, so the work is resumed as if never started)."""
        if self.stop.is_set():
            raise Stopped(t("stopping: the rest is resumed by the next run",
                            "остановка: остальное продолжит следующий запуск"))


class NotApplied(TransientTrackerError):
    """The request never reached the tracker (connection refused, connect time-out)."""


class MaybeApplied(TransientTrackerError):
    """A write was sent and its outcome is unknown (no answer, a time-out, a 5xx from the
    tracker or a gateway in front of it): the tracker may have applied it."""


class TrackerSession(requests.Session):
    observers: ClassVar[list[RequestObserver]] = []
    throttle_observers: ClassVar[list[ThrottleObserver]] = []

    def __init__(
        self,
        tracker: str,
        *,
        policy: RetryPolicy | None = None,
        rewrite: tuple[str, str] | None = None,
        timeout: float = 30.0,
        limiter: TokenBucket | None = None,
        budget: SharedBudget | None = None,
        max_retry_after: float = MAX_RETRY_AFTER,
    ) -> None:
        super().__init__()
        self.tracker = tracker
        self.policy = policy or RetryPolicy()
        self.rewrite = rewrite
        self.timeout = timeout
        self.requests_sent = 0
        self.limiter = limiter  # shared per token/site; taken before every attempt, retries too
        self.budget = budget  # the same across replicas (state DB); used instead of ``limiter``
        self.max_retry_after = max_retry_after

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> Any:
        verb = method.decode() if isinstance(method, bytes) else method.upper()
        target = url.decode() if isinstance(url, bytes) else url
        if self.rewrite and target.startswith(self.rewrite[0]):
            target = self.rewrite[1] + target[len(self.rewrite[0]) :]
        kwargs.setdefault("timeout", self.timeout)
        retrying = Retrying(
            stop=stop_after_attempt(self.policy.attempts),
            wait=self._wait,
            retry=retry_if_exception(lambda exc: retryable(verb, exc) and not _gave_up(exc)),
            sleep=self.policy.pause,
            before_sleep=self._log_retry,
            reraise=True,
        )
        return retrying(self._once, verb, target, *args, **kwargs)

    def _once(self, method: str, url: str, *args: Any, **kwargs: Any) -> requests.Response:
        path = shown_path(urlsplit(url).path)  # for messages and logs only
        self.policy.check()
        self._take_turn()
        started = time.monotonic()
        self.requests_sent += 1
        try:
            response = super().request(method, url, *args, **kwargs)
        except requests.RequestException as exc:
            self._observe(method, "error")
            raise connection_error(self.tracker, method, path, exc) from None
        self._observe(method, str(response.status_code))
        log.debug("%s %s %s -> %s (%.0f ms)", self.tracker, method, path, response.status_code,
                  (time.monotonic() - started) * 1000)
        if response.status_code >= 400:
            raise self._refused(http_error(self.tracker, method, path, response), method, path)
        return response

    def _take_turn(self) -> None:
        """Wait for the rate limit: the shared budget (interruptibly, on the policy's stop) or
        this process's bucket."""
        if self.budget is not None:
            while (wait := self.budget.take()) is not None:
                if wait.blocked or wait.seconds >= NOTABLE_WAIT:
                    log.warning("%s is throttled%s; waiting %.1f s before the next request",
                                self.tracker, " (it answered 429)" if wait.blocked else "",
                                wait.seconds)
                self._throttled(wait.seconds)
                self.policy.pause(wait.seconds)
                self.policy.check()  # a stop during the wait sends nothing more
        elif self.limiter is not None:
            self._throttled(self.limiter.acquire())
            self.policy.check()  # the limiter may have made us wait

    def _refused(self, error: TrackerError, method: str, path: str) -> TrackerError:
        """A 429 makes every replica wait (the budget); one asking too long is given up."""
        if not isinstance(error, RateLimited) or error.retry_after is None:
            return error
        if self.budget is not None:
            self.budget.block(error.retry_after)
        if error.retry_after <= self.max_retry_after:
            return error
        wait, longest = _duration(error.retry_after), _duration(self.max_retry_after)
        return GaveUp(t(f"{self.tracker} asks to wait {wait} before {method} {path} (429 "
                        f"Retry-After), more than tracker.max_retry_after ({longest}); giving "
                        "up, the next run resumes",
                        f"трекер {self.tracker} просит подождать {wait} перед {method} {path} "
                        f"(429 Retry-After) — дольше, чем `tracker.max_retry_after` ({longest}); "
                        "запрос отложен, его продолжит следующий запуск"),
                      retry_after=error.retry_after)

    def _throttled(self, seconds: float) -> None:
        if seconds <= 0:
            return
        for observer in self.throttle_observers:
            try:
                observer(self.tracker, seconds)
            except Exception:  # a metrics bug must never fail a tracker request
                log.exception("throttle observer %r failed", observer)

    def _observe(self, method: str, status: str) -> None:
        for observer in self.observers:
            try:
                observer(self.tracker, method, status)
            except Exception:  # a metrics bug must never fail a tracker request
                log.exception("request observer %r failed", observer)

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, RateLimited) and exc.retry_after is not None:
            # In full: retrying a long Jira throttle early only earns another 429 (and _refused
            # already gave up on one longer than max_retry_after).
            return exc.retry_after
        policy = self.policy
        return float(wait_random_exponential(policy.base_wait, policy.max_wait)(state))

    def _log_retry(self, state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        wait = state.next_action.sleep if state.next_action else 0
        if isinstance(exc, RateLimited):
            self._throttled(wait)
            if exc.retry_after is None and self.budget is not None:
                self.budget.block(wait)  # Trello says no wait: the other replicas back off too
        log.warning("%s; retrying in %.1f s (attempt %d)", exc, wait, state.attempt_number + 1)


# Trello names a token in the path (/1/tokens/{token}/webhooks): the segment after "tokens".
_TOKEN_PARENTS = frozenset({"token", "tokens"})
# A segment shaped like a credential wherever it sits: Trello tokens are 64 hex digits (newer ones
# "ATTA" + 64 + 8), an Atlassian API token starts "ATATT". Trello's 24-hex object ids, Jira's
# keys and numeric ids stay readable.
_SECRET_SEGMENT = re.compile(r"^(?:[0-9a-fA-F]{32,}|ATTA[0-9A-Za-z_=-]{20,}|ATATT[\w=-]{20,})$")


def shown_path(path: str) -> str:
    """``path`` as an error message or a log line may show it: a token in it becomes ``***``
    (``/1/tokens/***/webhooks``). Queries are never shown at all."""
    segments = path.split("/")
    for i, segment in enumerate(segments):
        after_token = i > 0 and segments[i - 1].lower() in _TOKEN_PARENTS
        if segment and (after_token or _SECRET_SEGMENT.match(unquote(segment))):
            segments[i] = "***"
    return "/".join(segments)


class GaveUp(RateLimited):
    """A 429 whose Retry-After is longer than ``tracker.max_retry_after``: not retried."""


def _gave_up(exc: BaseException) -> bool:
    return isinstance(exc, GaveUp)


def _duration(seconds: float) -> str:
    """120 -> "2 min", 90 -> "90 s", 5400 -> "1.5 h": a wait as a person reads it."""
    if seconds >= 3600:
        return t(f"{seconds / 3600:g} h", f"{seconds / 3600:g} ч")
    if seconds >= 120:
        return t(f"{seconds / 60:g} min", f"{seconds / 60:g} мин")
    return t(f"{seconds:g} s", f"{seconds:g} с")


def retryable(method: str, exc: BaseException) -> bool:
    """Reads may always be repeated; writes only when the tracker surely did not apply them."""
    if isinstance(exc, RateLimited | NotApplied):
        return True
    return isinstance(exc, TransientTrackerError) and method in IDEMPOTENT


def connection_error(
    tracker: str, method: str, path: str, exc: requests.RequestException
) -> TransientTrackerError:
    if _never_sent(exc):
        return NotApplied(t(f"cannot reach {tracker} ({method} {path}): {type(exc).__name__}; "
                            "check tracker.url and the network",
                            f"нет связи с трекером {tracker} ({method} {path}): "
                            f"{type(exc).__name__}; проверьте `tracker.url` и сеть"))
    return MaybeApplied(t(f"{tracker} did not answer {method} {path} ({type(exc).__name__})",
                          f"трекер {tracker} не ответил на {method} {path} "
                          f"({type(exc).__name__})"))


def _never_sent(exc: requests.RequestException) -> bool:
    if isinstance(exc, ConnectTimeout):
        return True
    reason = exc.args[0] if exc.args else None
    if isinstance(reason, MaxRetryError):
        reason = reason.reason
    return isinstance(reason, NewConnectionError | ConnectTimeoutError)


def http_error(tracker: str, method: str, path: str, response: requests.Response) -> TrackerError:
    """The single table from HTTP status to our errors."""
    status = response.status_code
    said = tracker_message(response)
    where = f"{method} {path}"
    if status == 401:
        return TrackerAuthError(t(f"{tracker} rejected the credentials (401) on {where}; check "
                                  "the token (and key or email) in the environment",
                                  f"трекер {tracker} не принял учётные данные (401) на запросе "
                                  f"{where}; проверьте токен (и ключ или адрес почты) в "
                                  "переменных окружения"), detail=said)
    if status == 403:
        return TrackerAuthError(t(f"{tracker} refused {where} (403): the account lacks a "
                                  f"permission. {said}",
                                  f"трекер {tracker} отклонил запрос {where} (403): у учётной "
                                  f"записи нет нужного права. {said}").strip(), detail=said)
    if status == 404:
        return TrackerNotFound(t(f"{tracker} has no such object: {where} (404). {said}",
                                 f"в трекере {tracker} нет такого объекта: {where} (404). "
                                 f"{said}").strip())
    if status == 429:
        return RateLimited(t(f"{tracker} rate limit hit on {where} (429)",
                             f"трекер {tracker} ограничил частоту запросов на {where} (429)"),
                           retry_after=_retry_after(response))
    if status >= 500 and method not in IDEMPOTENT:
        # A gateway or server error says nothing about whether the write was applied before it:
        # the object may exist. The caller settles that by the marker, never by sending again.
        told = f": {said}" if said else ""
        return MaybeApplied(t(f"{tracker} failed on {where} ({status}){told}; it may have been "
                              "applied all the same",
                              f"сбой трекера {tracker} на {where} ({status}){told}; изменение "
                              "всё же могло примениться"))
    if status >= 500:
        return TransientTrackerError(t(f"{tracker} failed on {where} ({status}). {said}",
                                       f"сбой трекера {tracker} на {where} ({status}). "
                                       f"{said}").strip())
    return TrackerError(t(f"{tracker} refused {where} ({status}): {said}",
                          f"трекер {tracker} отклонил запрос {where} ({status}): {said}"))


def tracker_message(response: requests.Response) -> str:
    """What the tracker said: Jira's errorMessages/errors JSON, or Trello's plain text."""
    try:
        body = response.json()
    except ValueError:
        return response.text.strip()[:300]
    if body is None:
        return ""
    if isinstance(body, dict):
        messages = list(body.get("errorMessages") or [])
        errors = body.get("errors") or {}
        if isinstance(errors, dict):
            messages += [f"{k}: {v}" for k, v in errors.items()]
        for element in errors if isinstance(errors, list) else []:  # Jira's issue/bulk
            said = element.get("elementErrors") if isinstance(element, dict) else None
            if isinstance(said, dict):
                number = element.get("failedElementNumber")
                messages += [f"#{number}: {m}" for m in said.get("errorMessages") or []]
                messages += [f"#{number}: {k}: {v}" for k, v in (said.get("errors") or {}).items()]
        for key in ("message", "error"):
            if not messages and isinstance(body.get(key), str):
                messages.append(body[key])
        if messages:
            return "; ".join(str(m) for m in messages)[:300]
    return str(body)[:300]


def _retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After")
    try:
        return max(float(value), 0.0) if value is not None else None
    except ValueError:
        return None
