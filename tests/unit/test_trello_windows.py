"""The windows a Trello status pull reads a big board's open cards in (one ``/batch``): planned
from the last pull's cards, they must cover every card, new ones included, and hold each card
the plan knew in exactly one window of at most ``WINDOW`` cards."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from planerka_sync.trackers.trello import WINDOW, _plan_windows, _windows

card_ids = st.integers(min_value=0, max_value=2**96 - 1).map(lambda n: f"{n:024x}")


def holds(window: dict[str, str], card_id: str) -> bool:
    """Trello's ``since``/``before`` are exclusive, ids compared as time-ordered hex."""
    return (("since" not in window or card_id > window["since"])
            and ("before" not in window or card_id < window["before"]))


@settings(max_examples=60, deadline=None)
@given(st.sets(card_ids, min_size=0, max_size=3 * WINDOW + 50), st.sets(card_ids, max_size=40))
def test_planned_cards_sit_in_exactly_one_window_and_new_ones_are_never_missed(
        planned: set[str], arrived: set[str]) -> None:
    windows = _windows(_plan_windows([{"id": card_id} for card_id in planned]))
    assert windows is not None
    assert len(windows) == max(1, -(-len(planned) // WINDOW))
    for card_id in planned:
        assert sum(holds(window, card_id) for window in windows) == 1
    for card_id in arrived:  # made, or moved in from another board, since the plan
        assert any(holds(window, card_id) for window in windows)
    for window in windows:
        assert sum(holds(window, card_id) for card_id in planned) <= WINDOW


def test_a_board_under_one_window_is_read_whole() -> None:
    assert _plan_windows([{"id": f"{n:024x}"} for n in range(WINDOW)]) == ""
    assert _windows("") == [{}]


def test_a_plan_that_could_skip_cards_is_not_used() -> None:
    older, newer = f"{1:024x}", f"{2:024x}"
    assert _windows(f"{older}:{newer}") == [{"before": newer}, {"since": older}]
    for plan in [f"{newer}:{older}", "garbage", f"{older}:{newer}:{newer}", "bad:worse",
                 f"{older}:{newer},{older}"]:
        assert _windows(plan) is None, plan
