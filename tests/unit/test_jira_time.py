"""Jira's timestamps ('2026-11-26T10:00:00.000+0300') read as the moments they are."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from planerka_sync.trackers.jira import _jira_time

offsets = st.integers(min_value=-12 * 60, max_value=14 * 60).map(
    lambda minutes: timezone(timedelta(minutes=minutes)))
moments = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1),
                       timezones=offsets).map(lambda d: d.replace(microsecond=d.microsecond
                                                                 // 1000 * 1000))


def jira_format(moment: datetime) -> str:
    """As Jira writes them: milliseconds, and the offset without a colon."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}" + \
        moment.strftime("%z")


@given(moments)
def test_a_jira_timestamp_is_the_moment_it_names(moment: datetime) -> None:
    parsed = _jira_time(jira_format(moment))
    assert parsed == moment and parsed is not None and parsed.utcoffset() == moment.utcoffset()


def test_what_is_not_a_moment_is_no_answer() -> None:
    assert _jira_time(None) is None and _jira_time("") is None
    assert _jira_time("2026-11-26") is None  # a day, not a moment
    assert _jira_time("2026-11-26T10:00:00.000") is None  # no offset: whose ten o'clock?
    assert _jira_time("вчера") is None
    assert _jira_time("2026-11-26T10:00:00.000Z") == datetime(2026, 11, 26, 10, tzinfo=UTC)
