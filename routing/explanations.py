"""The explanation of a case's latest decision, loaded: the record, the names of its community and street
(from the grid table), and the gate's threshold of the rule-set version that decided. Reads only."""

from __future__ import annotations

from collections.abc import Callable

from sqlmodel import Session, col, or_, select

from cases.models import Grid
from cases.reference import reference_names
from routing.conditions import RoutingInputs
from routing.decision_records import latest_decision
from routing.explain import Explanation, Places, explain
from routing.rule_sets import published
from routing.rules import RulesError, parse_settings


def place_names(session: Session, x: RoutingInputs) -> Places:
    community = x.community_code or (x.grid_code[:12] if x.grid_code else None)
    street = x.street_code or (community[:9] if community else None)
    if not community and not street:
        return Places()
    rows = session.exec(
        select(Grid.community_code, Grid.community, Grid.street_code, Grid.street)
        .where(or_(col(Grid.community_code) == community, col(Grid.street_code) == street))
        .limit(200)
    ).all()
    return Places(
        communities={c: name for c, name, _, _ in rows if c and name},
        streets={s: name for _, _, s, name in rows if s and name},
    )


def gate_threshold(session: Session, version: int | None) -> float | None:
    rule_set = published(session, version) if version is not None else None
    if rule_set is None:
        return None
    try:
        return parse_settings(rule_set.settings)[1]
    except RulesError:
        return None


def case_explanation(
    session: Session, case_id: int | None, who: Callable[[str], str] | None = None
) -> Explanation | None:
    """Why the case is where it is, from its latest decision record (None: it has none yet). `who` names
    an actor for people (a 改派's supervisor)."""
    record = latest_decision(session, case_id) if case_id is not None else None
    if record is None:
        return None
    x = RoutingInputs.from_json(record.inputs or {})
    return explain(
        record,
        reference_names(),
        place_names(session, x),
        threshold=gate_threshold(session, record.rule_set_version),
        who=who(record.actor) if who else None,
    )
