"""Tracker adapters, looked up by the config's ``tracker.kind``.

Built-ins are ``trello`` and ``jira``; a third-party adapter registers a factory
``(tracker_config, session) -> Tracker`` in the ``planerka_sync.trackers`` entry-point group.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any

from planerka_sync.config import Config
from planerka_sync.errors import ConfigError
from planerka_sync.messages import t
from planerka_sync.ratelimit import (
    JIRA_PER_SITE,
    TRELLO_PER_KEY,
    TRELLO_PER_TOKEN,
    Limit,
    Quota,
    SharedBudget,
    TokenBucket,
    bucket_for,
    budget_for,
    credential_key,
    jira_key,
    trello_key,
)
from planerka_sync.trackers.base import Tracker
from planerka_sync.trackers.http import RetryPolicy, TrackerSession

if TYPE_CHECKING:
    from planerka_sync.store import Store

Factory = Callable[[Any, TrackerSession], Tracker]


def _builtin(kind: str, config: Config) -> Factory | None:
    if kind == "trello":
        from planerka_sync.trackers.trello import TrelloAdapter

        # Trello keeps a due moment: a task due on a date is due at the end of the team's
        # working day there, and a due read back is that day in the team's zone.
        working_day = config.working_day
        return lambda tracker, session: TrelloAdapter(tracker, session, working_day=working_day)
    if kind == "jira":
        from planerka_sync.trackers.jira import JiraAdapter

        # The series' meeting issues share the planerka label: the status pull leaves them out.
        series = [m.id for m in config.meetings]
        return lambda tracker, session: JiraAdapter(tracker, session, series)
    return None


def make_tracker(
    config: Config,
    policy: RetryPolicy | None = None,
    *,
    jira_limit: Limit = JIRA_PER_SITE,
    rate_limited: bool = True,
    store: Store | None = None,
) -> Tracker:
    """The adapter for ``config.tracker``, on a session that retries by ``policy`` and takes a
    token from the shared per-token/per-site bucket before each request (``jira_limit`` sets the
    Jira one). With a ``store`` (the state DB) that limit is kept there, one budget per
    credential for every replica sharing the DB; without one it is this process's bucket.
    ``rate_limited=False`` drops the client-side limit: for a tracker with no quota to protect,
    or a test whose clock is fake (the bucket waits in real time)."""
    kind = config.tracker.kind
    factory = _builtin(kind, config) or _plugin(kind)
    if factory is None:
        raise ConfigError([t(f"tracker.kind: no tracker adapter named {kind!r}",
                             f"tracker.kind: нет адаптера трекера {kind!r}")])
    name = "Trello" if kind == "trello" else "Jira"
    policy = policy or RetryPolicy()
    budget = _budget(config, jira_limit, store, policy) if rate_limited and store else None
    limiter = _limiter(config, jira_limit) if rate_limited and budget is None else None
    max_retry_after = getattr(config.tracker, "max_retry_after", None)
    session = TrackerSession(name, policy=policy, limiter=limiter, budget=budget)
    if max_retry_after is not None:  # a plugin's tracker config may not have it
        session.max_retry_after = max_retry_after.total_seconds()
    return factory(config.tracker, session)


def _budget(
    config: Config, jira_limit: Limit, store: Store, policy: RetryPolicy
) -> SharedBudget | None:
    """The per-credential budget in the state DB (see ratelimit.SharedBudget): Trello counts
    per token and per key (sliding windows), Jira per site."""
    tracker = config.tracker
    if tracker.kind == "trello":
        quotas = [
            Quota(credential_key("trello-token", tracker.token.get_secret_value(), tracker.url),
                  TRELLO_PER_TOKEN),
            Quota(credential_key("trello-key", tracker.api_key.get_secret_value(), tracker.url),
                  TRELLO_PER_KEY),
        ]
    elif tracker.kind == "jira":
        quotas = [Quota(credential_key("jira-site", "", tracker.url), jira_limit, strict=False)]
    else:
        return None  # a plugin's tracker: its quota is unknown here
    return budget_for(store, quotas, policy.clock)


def _limiter(config: Config, jira_limit: Limit) -> TokenBucket | None:
    """One shared client-side rate limit per Trello token / Jira site (see ratelimit.py)."""
    tracker = config.tracker
    if tracker.kind == "trello":
        limit = TRELLO_PER_TOKEN
        key = trello_key(tracker.token.get_secret_value(), tracker.url)
        return bucket_for(key, limit.rate, limit.per)
    if tracker.kind == "jira":
        return bucket_for(jira_key(tracker.url), jira_limit.rate, jira_limit.per)
    return None  # a plugin's tracker: its quota is unknown here


def _plugin(kind: str) -> Factory | None:
    for entry in entry_points(group="planerka_sync.trackers"):
        if entry.name == kind:
            factory: Factory = entry.load()
            return factory
    return None
