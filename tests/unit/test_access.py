"""Who reads which cases, as a filter in the query (cases.access), from a signed-in user (agent_ui.auth.reader)."""

from __future__ import annotations

from sqlmodel import Session

from agent_ui.accounts.models import User
from agent_ui.auth import Principal, reader
from cases.access import EVERYONE, Reach, Reader, readable_cases
from cases.db import session_scope
from cases.service import open_case
from tests.console_helpers import DEPARTMENT, GRID, OTHER_DEPARTMENT

OTHER_GRID = "421102001001002"


def _numbers(s: Session, who: Reader) -> set[str]:
    return {c.number for c in s.exec(readable_cases(who))}


def test_each_reader_sees_only_their_cases(env: object) -> None:
    with session_scope() as s:
        mine = open_case(s, actor="system:t", department_code=DEPARTMENT, grid_code=GRID).number
        theirs = open_case(s, actor="system:t", department_code=OTHER_DEPARTMENT, grid_code=OTHER_GRID).number
        unrouted = open_case(s, actor="system:t").number
        assert _numbers(s, EVERYONE) == {mine, theirs, unrouted}
        assert _numbers(s, Reader(Reach.DEPARTMENT, department_code=DEPARTMENT)) == {mine}
        assert _numbers(s, Reader(Reach.DEPARTMENT)) == set()  # a department account bound to nothing
        assert _numbers(s, Reader(Reach.GRIDS, grids=(OTHER_GRID,))) == {theirs}
        assert _numbers(s, Reader(Reach.GRIDS)) == set()


def _principal(role: str, **fields: object) -> Principal:
    return Principal(User(username="x", role=role, password_hash="-", **fields), "csrf", "token")


def test_reader_of_each_role() -> None:
    assert reader(_principal("agent")) == EVERYONE
    assert reader(_principal("supervisor")) == EVERYONE
    assert reader(_principal("department", department_code=DEPARTMENT)) == Reader(Reach.DEPARTMENT, DEPARTMENT)
    assert reader(_principal("grid_worker", grids=[GRID])) == Reader(Reach.GRIDS, grids=(GRID,))
    assert reader(_principal("admin")) == Reader(Reach.GRIDS)  # accounts only: no case at all
