"""The department's case page view model: the read model of the case as its department sees it
(`routing.department_case`), what came with the resident's reports (photos; the phone masked, never
revealed here) and the timeline in plain words with who did what. Reads only."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from agent_ui import presenters
from agent_ui.accounts.directory import display_names
from agent_ui.workbench.case_media import ReportMedia, report_media
from cases.access import Reader
from cases.models import Report
from cases.phone import mask_phone
from cases.queries import local
from cases.reference import reference_names
from routing.department_case import DepartmentCase, department_case
from routing.explain import Explanation
from routing.explanations import case_explanation


@dataclass(frozen=True)
class ResidentReport:
    report: Report
    channel_label: str
    channel_icon: str
    phone_masked: str | None
    media: ReportMedia


@dataclass(frozen=True)
class DepartmentPage:
    case: DepartmentCase
    reports: list[ResidentReport]
    timeline: list[presenters.EventLine]
    people: dict[str, str]
    decision: Explanation | None = None  # why the case came to this department (its latest decision record)

    def who(self, actor: str) -> str:
        return presenters.actor_label(actor, self.people)


def department_page(session: Session, reader: Reader, number: str, now: datetime) -> DepartmentPage | None:
    found = department_case(session, reader, number, now)
    if found is None:
        return None
    names = reference_names()
    actors = [e.actor for e in found.events] + [e.requested_by for e in found.extensions]
    actors += [e.decided_by for e in found.extensions if e.decided_by]
    people = display_names(session, actors)
    lines = presenters.describe_events(found.events, people=people, names=names, local=local)
    reports = []
    for r in found.reports:
        label, icon = presenters.channel_of(r.channel, bool(r.hints.get("voicemail")))
        reports.append(ResidentReport(r, label, icon, mask_phone(r.phone), report_media(session, r)))
    decision = case_explanation(session, found.case.id, lambda actor: presenters.actor_label(actor, people))
    return DepartmentPage(found, reports, lines, people, decision)
