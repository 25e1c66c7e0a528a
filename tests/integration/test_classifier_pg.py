"""The classifier's reload check on PostgreSQL: the JSON columns it reads are cast and measured there too."""

from __future__ import annotations

import pytest

from cases.db import session_scope
from cases.models import Category, Grid
from classifiers.serving.registry import serving_state

pytestmark = [pytest.mark.integration]


def test_serving_state_changes_with_what_the_classifier_is_built_from(prod_env: dict[str, str]) -> None:
    with session_scope() as s:
        before = serving_state(s)
        assert serving_state(s) == before
        grid = s.get(Grid, "421102001001001")
        assert grid is not None and grid.geometry is not None
        ring = grid.geometry["coordinates"][0]
        grid.geometry = {**grid.geometry, "coordinates": [[*ring[:-1], [114.843, 30.4075], ring[-1]]]}
        s.add(grid)
        s.flush()
        after_layer = serving_state(s)
        assert after_layer != before
        cat = s.get(Category, ("事件", "06010"))
        assert cat is not None
        cat.active = False
        s.add(cat)
        s.flush()
        assert serving_state(s) not in (before, after_layer)
        s.rollback()
