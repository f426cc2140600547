"""The one error hierarchy. Library code raises these; only the CLI turns them into exit codes.

Every error carries a message meant for a person (what is wrong and what to do next). Internal
detail, if any, goes to ``detail`` and is shown only with ``-v``. Neither may contain a secret.
"""

from __future__ import annotations

# The exit code of a command that did its work but left something for a person to fix (a
# decision line that could not become a task): cron and CI notice it, nothing was lost.
INCOMPLETE_EXIT_CODE = 6


class PlanerkaError(Exception):
    """Base of every error planerka-sync raises on purpose."""

    exit_code = 1

    def __init__(self, message: str, *, detail: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail


class ConfigError(PlanerkaError):
    """The configuration file is missing, unreadable or invalid. Carries every problem found."""

    exit_code = 2

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


class StateError(PlanerkaError):
    """The state database cannot be opened or migrated."""

    exit_code = 3


class TrackerError(PlanerkaError):
    """Anything that went wrong talking to Jira or Trello."""

    exit_code = 4


class TrackerAuthError(TrackerError):
    """401/403: the credentials are wrong or lack a permission."""


class TrackerNotFound(TrackerError):
    """404: a board, list, project, issue type or item does not exist."""


class RateLimited(TrackerError):
    """429: the tracker asks us to slow down."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class TransientTrackerError(TrackerError):
    """5xx, time-outs and dropped connections: worth retrying later."""


class InDoubt(TransientTrackerError):
    """A create got no clear answer and the tracker does not show the object yet: planerka-sync
    waits (``tracker.settle_after``) rather than risk making it twice."""


class DecisionParseError(PlanerkaError):
    """A decision line could not be turned into a task (no owner, unknown person, past due...)."""

    def __init__(self, line: str, reason: str) -> None:
        super().__init__(f"{reason}: {line!r}")
        self.line = line
        self.reason = reason


class Busy(PlanerkaError):
    """Another process (a replica, the webhook worker, a CLI run) holds the lease on this work."""

    exit_code = 5


class Stopped(PlanerkaError):
    """The process was asked to stop (SIGTERM) between two tracker calls. Not a failure: what
    was left undone is resumed by the next run (the state DB and the markers say where)."""

    def __init__(self, message: str = "stopping: the rest is resumed by the next run") -> None:
        super().__init__(message)
