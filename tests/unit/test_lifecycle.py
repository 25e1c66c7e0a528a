"""The transition table: every legal move goes where it says, every other pair is refused."""

from __future__ import annotations

import itertools

import pytest

from cases.lifecycle import TERMINAL, TRANSITIONS, Action, CaseStatus, IllegalTransition, next_status


@pytest.mark.parametrize(("status", "action"), list(itertools.product(CaseStatus, Action)))
def test_every_pair_is_allowed_or_refused(status: CaseStatus, action: Action) -> None:
    if (status, action) in TRANSITIONS:
        assert next_status(status, action) == TRANSITIONS[(status, action)]
    else:
        with pytest.raises(IllegalTransition) as err:
            next_status(status, action)
        assert status.value in str(err.value) and action.value in str(err.value)


def test_closed_loop_path() -> None:
    path = [Action.REGISTER, Action.DISPATCH, Action.ACCEPT, Action.HANDLE, Action.VERIFY, Action.SURVEY, Action.CLOSE]
    s = CaseStatus.REPORTED
    for a in path:
        s = next_status(s, a)
    assert s == CaseStatus.CLOSED


def test_return_and_reopen_go_back_to_dispatch() -> None:
    assert next_status("returned", "dispatch") == CaseStatus.DISPATCHED
    assert next_status("surveyed", "reopen") == CaseStatus.REOPENED
    assert next_status("reopened", "dispatch") == CaseStatus.DISPATCHED


def test_terminal_statuses_only_allow_notes_or_reopen() -> None:
    for s in TERMINAL:
        allowed = {a for (st, a) in TRANSITIONS if st == s}
        assert allowed <= {Action.NOTE, Action.REOPEN}


def test_unknown_names_are_value_errors() -> None:
    with pytest.raises(ValueError):
        next_status("nonsense", "dispatch")
    with pytest.raises(ValueError):
        next_status("reported", "fly")
