"""The network state rule, generated: down after NETWORK_DOWN_AFTER failed sweeps in a row, up at the first answer.

The oracle reads a run of sweep results as a person would: after the last answer the site is up;
counting the failures since then (and those it had before the run), it is down once they reach the
threshold, else it keeps the state it had.
"""

from types import SimpleNamespace

from hypothesis import given, settings
from hypothesis import strategies as st

from vmeeting.network.state import _next_state

STATES = ("unknown", "up", "down")


def oracle(state, failures, answers, down_after):
    if not answers:
        return state, failures
    if True in answers:
        since = answers[::-1].index(True)
        if since == 0:
            return "up", 0
        return ("down" if since >= down_after else "up"), since
    failures += len(answers)
    return ("down" if failures >= down_after else state), failures


@settings(max_examples=300, derandomize=True, database=None, deadline=None)
@given(state=st.sampled_from(STATES), failures=st.integers(0, 4), down_after=st.integers(1, 5),
       answers=st.lists(st.booleans(), max_size=8))
def test_a_run_of_sweeps_ends_where_the_oracle_says(state, failures, answers, down_after):
    row = SimpleNamespace(state=state, failures=failures)
    for answered in answers:
        row.state, row.failures = _next_state(row, SimpleNamespace(reachable=answered), down_after)
    assert (row.state, row.failures) == oracle(state, failures, answers, down_after)


def test_the_threshold_exactly():
    up = SimpleNamespace(state="up", failures=0)
    failed = SimpleNamespace(reachable=False)
    assert _next_state(up, failed, 2) == ("up", 1)
    assert _next_state(SimpleNamespace(state="up", failures=1), failed, 2) == ("down", 2)
    assert _next_state(SimpleNamespace(state="up", failures=1), failed, 3) == ("up", 2)
    assert _next_state(SimpleNamespace(state="unknown", failures=0), failed, 1) == ("down", 1)
    assert _next_state(SimpleNamespace(state="down", failures=7), SimpleNamespace(reachable=True), 2) == ("up", 0)
