"""The collector policy of a serving process (portal.collector): tuned while an app runs, and
left as it was once the last app of the process stops — the tests start hundreds of apps."""

from __future__ import annotations

import gc

from portal.collector import THRESHOLDS, serving_collector


def test_the_collector_is_tuned_while_apps_run_and_restored_after_the_last() -> None:
    before = gc.get_threshold()
    assert before != THRESHOLDS
    with serving_collector():
        assert gc.get_threshold() == THRESHOLDS
        assert gc.get_freeze_count() > 0
        with serving_collector():  # a second app in the same process
            assert gc.get_threshold() == THRESHOLDS
        # The first app still runs: its heap stays frozen and the thresholds stay.
        assert gc.get_threshold() == THRESHOLDS
        assert gc.get_freeze_count() > 0
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0
