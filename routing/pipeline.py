"""The background job that turns a stored Report into a Case: classify → route → 立案 → 派遣.

`process_report` is safe to run twice and concurrently for the same report, from any thread or process
and on either backend: the transaction that opens the case first claims the report (PostgreSQL: the row
`FOR UPDATE`; SQLite: a write as its first statement, so it holds the database's one writer lock), then
reads the report again; whoever comes second finds the case and returns that case's number. All of its
changes commit together, so a worker killed halfway leaves the report untouched for the sweeper.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import timedelta

from sqlalchemy import or_, update
from sqlmodel import Session, col, select

from cases.db import is_sqlite, serialise_on, session_scope
from cases.jobnames import JobName
from cases.jobs import enqueue_after_commit, enqueue_now
from cases.lifecycle import Action
from cases.linking import BOILERPLATE, DUPLICATE_HOLD, Match, MatterRules, Sighting, find_same_matter
from cases.logcontext import bind_ids, job_ids
from cases.models import Case, Report, utcnow
from cases.queries import case_reports
from cases.reference import ACTOR_KINDS, InvalidInput, actor_id, reference_names
from cases.service import apply_action, open_case, record_event
from cases.settings import kernel_settings
from cases.states import Channel, EventKind, ReportState
from classifiers.base import Classification, ReportFacts
from classifiers.serving.gate import category_override_unmet, grid_too_unsure
from classifiers.serving.registry import get_classifier
from classifiers.settings import classifier_settings
from classifiers.training.corrections import record_correction
from ivr_flows.speech import FILLERS
from routing.conditions import RoutingInputs
from routing.decision_records import decisions_of, dispatch_data, record_decision, routing_inputs
from routing.gridmap import grid_map_layer
from routing.rules import RoutingDecision, route
from routing.ruleset import routing_table
from routing.settings import routing_settings
from routing.voicemail import case_title

log = logging.getLogger(__name__)

SYSTEM_ACTOR = "system:pipeline"


def _claim_report(session: Session, report_id: int) -> Report | None:
    """The report, read again inside a transaction that no other pipeline run can enter until it ends.

    PostgreSQL: the row lock serialises two runners of the same report. SQLite has no row locks and its
    reads take none: the first statement is a (no-op) write, which takes this process's writer lock
    (`cases.db`) and SQLite's RESERVED lock, so a second runner — another thread, the in-process queue, a
    CLI process — waits here and then reads the committed case."""
    if is_sqlite(session):
        same = {"processing_status": col(Report.processing_status)}
        session.execute(update(Report).where(col(Report.id) == report_id).values(same))
        return session.get(Report, report_id, populate_existing=True)
    return session.exec(select(Report).where(Report.id == report_id).with_for_update()).first()


def _facts(report: Report) -> ReportFacts:
    return ReportFacts(
        text=report.text,
        lat=report.lat,
        lon=report.lon,
        address=report.address,
        camera_grid_code=report.hints.get("camera_grid_code"),
        phone=report.phone,
    )


def _link_hint(report: Report) -> int | None:
    """The case a channel asked this report to join, when the hint is a usable id (else: route it)."""
    link = report.hints.get("link_case_id")
    if isinstance(link, bool):
        return None
    try:
        case_id = int(link) if link is not None else None
    except (TypeError, ValueError):
        return None
    return case_id if case_id is not None and 0 < case_id < 2**31 else None  # the id column's range


@dataclass(frozen=True)
class AgentChoice:
    """What the agent who typed the report chose (the console's /console/new): a grid, a category, or
    both — both is a confirmation, as `routing.review.confirm_case` would record it."""

    category_code: str | None
    grid_code: str | None
    actor: str

    @property
    def confirmed(self) -> bool:
        return self.category_code is not None and self.grid_code is not None


# Channels whose adapter is a signed-in person choosing category and grid, and the actor kinds that person
# may be: an agent typing a call (/console/new), a grid worker reporting from patrol (/grid/report).
CHOOSING_CHANNELS: dict[str, tuple[str, ...]] = {Channel.AGENT: ACTOR_KINDS, Channel.GRID: ("grid",)}
CHOSEN_BY = {Channel.AGENT: "chosen by the agent who took the call", Channel.GRID: "chosen by the grid worker on site"}


def _agent_choice(report: Report) -> AgentChoice | None:
    """The person's choice, trusted only from the agent and grid channels (no outside caller can send
    these hints: the API's hints are a closed model, its channel only `api`) and only with that person
    named as an audit actor of the channel's kind."""
    kinds = CHOOSING_CHANNELS.get(report.channel)
    if kinds is None:
        return None
    hints = report.hints
    try:
        actor = actor_id(str(hints.get("confirmed_by") or ""), kinds=kinds)
    except InvalidInput:
        return None
    category, grid = hints.get("category_code"), hints.get("grid_code")
    return AgentChoice(
        category if isinstance(category, str) and category else None,
        grid if isinstance(grid, str) and grid else None,
        actor,
    )


def _with_agent_grid(c: Classification, choice: AgentChoice | None) -> Classification:
    if choice is None or choice.grid_code is None:
        return c
    return replace(
        c, grid_code=choice.grid_code, grid_confidence=1.0, grid_source="agent", community_code=choice.grid_code[:12]
    )


def _case_number(session: Session, case_id: int | None) -> str | None:
    case = session.get(Case, case_id) if case_id is not None else None
    return case.number if case else None


def _mark_attempt(report_id: int) -> Report | None:
    # Its own transaction, committed before the work starts, so the attempt counts even when the work
    # rolls back. Bookkeeping only (losing it in a power cut loses an attempt count): no wait for the disk.
    with session_scope(durable=False) as s:
        report = s.get(Report, report_id)
        if report is None or report.case_id is not None or report.processing_status == ReportState.FAILED:
            return report
        report.attempts += 1
        report.processing_status = ReportState.PROCESSING
        report.last_attempt_at = utcnow()
        s.add(report)
        return report


def _record_failure(report_id: int, exc: BaseException) -> None:
    # Its own transaction: the work's transaction has been rolled back.
    with session_scope() as s:
        report = s.get(Report, report_id)
        if report is None:
            return
        report.last_error = f"{type(exc).__name__}: {exc}"[:2000]
        failed = report.attempts >= kernel_settings().job_max_attempts
        report.processing_status = ReportState.FAILED if failed else ReportState.PENDING
        s.add(report)
    if failed:
        log.error("report %s failed %s times, left for an operator: %s", report_id, report.attempts, exc)


def _needs_review(report: Report, c: Classification, decision: RoutingDecision, confirmed: bool = False) -> list[str]:
    """Why a person must look at this case before it is dispatched (empty: dispatch now)."""
    department = decision.department_code
    if confirmed:
        # The agent chose category and grid with the resident on the line: that is the confirmation
        # every other hold waits for (as confirm_case dispatches a rule's held category too).
        return [] if department else ["no department for the category"]
    reasons = []
    if report.hints.get("needs_review"):
        reasons.append("channel asks for an agent's confirmation")
    if c.category_code is None and not report.hints.get("category_code"):
        reasons.append("no category")
    if department is None:
        reasons.append("no department for the category")
    if c.grid_code is None:  # also when the channel chose the category: a department needs a place
        reasons.append("no grid")
    if department is not None and not decision.auto_dispatch and not decision.low_confidence:
        reasons.append("routing rule holds it for an agent")
    # The gate is on the department, what a wrong guess costs (routing.rules.decision_confidence); a
    # category the channel supplied (the resident's choice, a camera's map) is not the model's guess.
    if decision.low_confidence:
        reasons.append("department confidence below the threshold")
    settings = classifier_settings()
    if not report.hints.get("category_code") and category_override_unmet(c, settings):
        reasons.append("classifier confidence below the category's own threshold")
    if c.grid_code is not None and grid_too_unsure(c, settings):
        reasons.append("grid confidence below the threshold")
    return reasons


@job_ids("report_id")
def process_report(report_id: int) -> str | None:
    """Job: make sure the report has exactly one case. Returns the case number."""
    report = _mark_attempt(report_id)
    if report is None:
        log.warning("report %s does not exist", report_id)
        return None
    if report.processing_status == ReportState.FAILED:
        return None  # given up on; only an operator's `hotline jobs retry` brings it back
    try:
        number = _process(report_id)
    except Exception as exc:
        _record_failure(report_id, exc)
        raise
    log.info("report %s: case %s", report_id, number)
    return number


def _process(report_id: int) -> str | None:
    """Classify outside any transaction, then claim the report and give it its case, in one transaction."""
    # Classify before claiming: the model's CPU time must not hold SQLite's single writer. The claim
    # below re-reads the report and classifies again if an SMS follow-up changed it meanwhile.
    with session_scope() as s:
        report = s.get(Report, report_id)
        if report is None or report.case_id is not None:
            return _case_number(s, report.case_id) if report else None
        facts, linking = _facts(report), _link_hint(report) is not None
    guess = None if linking else get_classifier().classify(facts)

    with session_scope() as s:
        report = _claim_report(s, report_id)
        if report is None or report.case_id is not None:  # another runner opened (or linked) it meanwhile
            return _case_number(s, report.case_id) if report else None
        case = _case_for(s, report, facts, guess)
        case_id, number = case.id, case.number
    bind_ids(case_id=case_id)  # once committed
    return number


def _case_for(s: Session, report: Report, facts: ReportFacts, guess: Classification | None) -> Case:
    """The claimed report's case: the one its channel asked it to join, the same matter's, or a new one."""
    link = _link_hint(report)
    if link is not None and (linked := s.get(Case, link)) is not None:
        return _link(s, report, linked)
    machine = guess if guess is not None and _facts(report) == facts else get_classifier().classify(_facts(report))
    choice = _agent_choice(report)
    c = _with_agent_grid(machine, choice)
    category = report.hints.get("category_code") or c.category_code
    same_matter = _same_matter(s, report, category, c.grid_code)
    if same_matter is not None and same_matter.link:
        # A camera and a resident reported the same thing in the same place: one case, two reports.
        return _link(s, report, same_matter.case)
    return _open(s, report, c, category, machine=machine, choice=choice, duplicate_of=same_matter)


def _same_matter(s: Session, report: Report, category: str | None, grid_code: str | None) -> Match | None:
    """The open case of the same matter (一事多诉, cases.linking): joined at once when a camera and a
    resident saw it, else proposed to an agent."""
    if category and grid_code:
        # Two reports of one matter (a camera's and a resident's) processed at once must not both
        # open a case: the second waits here and then finds the first one's case to link to.
        serialise_on(s, f"matter:{category}:{grid_code}")
    settings = routing_settings()
    rules = MatterRules(
        window=timedelta(hours=settings.duplicate_window_hours),
        link_window=timedelta(seconds=kernel_settings().camera_merge_window_seconds),
        distance_m=settings.duplicate_distance_m,
        min_similarity=settings.duplicate_min_similarity,
        stopwords=(*FILLERS, *BOILERPLATE),
    )
    point = (report.lat, report.lon) if report.lat is not None and report.lon is not None else None
    near = [g.code for g in grid_map_layer().around(grid_code)[1]] if point is not None and grid_code else []
    name = reference_names().category(category) if category else None
    return find_same_matter(
        s,
        Sighting(report.channel, report.text, point),
        category_code=category,
        grid_code=grid_code,
        at=report.received_at,
        rules=rules,
        near_grids=near,
        ignore=[name] if name else [],
    )


def _hold_as_duplicate(s: Session, case: Case, department_code: str | None, match: Match) -> None:
    """一事多诉 proposed: the new case waits for an agent, who merges it into the open case of the same
    matter with one action (the case page shows the proposal first) or dispatches it after all."""
    case.needs_review = True
    case.department_code = department_code
    record_event(s, case, EventKind.DUPLICATE_PROPOSED, SYSTEM_ACTOR, data=match.event_data())
    record_event(s, case, EventKind.HOLD_FOR_AGENT, SYSTEM_ACTOR, reason=f"{DUPLICATE_HOLD} {match.case.number}")


def _link(s: Session, report: Report, case: Case) -> Case:
    report.case_id = case.id
    report.processing_status = ReportState.DONE
    record_event(s, case, EventKind.LINK_REPORT, SYSTEM_ACTOR, data={"report_id": report.id, "channel": report.channel})
    s.add(report)
    return case


def _open(
    s: Session,
    report: Report,
    c: Classification,
    category: str | None,
    *,
    machine: Classification,
    choice: AgentChoice | None = None,
    duplicate_of: Match | None = None,
) -> Case:
    """立案: a new case for the report, dispatched at once or held for an agent. `machine` is the model's
    own classification (the timeline keeps it); `c` has the agent's grid in it when they chose one;
    `duplicate_of`: an open case of the same matter, proposed to the agent who then looks at it (the agent
    decides before anyone is sent on site for a 核查)."""
    confirmed = choice is not None and choice.confirmed
    inputs = _inputs(s, report, c, category, chosen=confirmed)
    decision = route(routing_table(), inputs)
    # A category the channel supplied stands in for the model's (see _needs_review).
    classification = machine.event_data() | {"category_code": category}
    case = open_case(
        s,
        actor=SYSTEM_ACTOR,
        title=case_title(report),
        category_code=category,
        category_confidence=1.0 if confirmed else c.category_confidence,
        grid_code=c.grid_code,
        grid_confidence=c.grid_confidence,
        grid_source=c.grid_source,
        grade=decision.grade,
    )
    record_event(s, case, EventKind.CLASSIFY, SYSTEM_ACTOR, data=classification | {"report_id": report.id})
    check = duplicate_of is None and _check_first(report, c, decision)
    if check:
        _request_check(s, case, decision)  # stays 上报 until a grid worker of the grid has been there
    else:
        apply_action(s, case, Action.REGISTER, SYSTEM_ACTOR, data={"channel": report.channel})
    if choice is not None and confirmed:
        _record_agent_confirmation(s, report, case, machine, choice)
    if duplicate_of is not None:
        _hold_as_duplicate(s, case, decision.department_code, duplicate_of)
        record_decision(s, case, decision, inputs, held=True, hold_reasons=[DUPLICATE_HOLD])
    elif check:
        record_decision(s, case, decision, inputs, held=True, hold_reasons=["check requested"])
    else:
        _dispatch_or_hold(s, report, case, c, decision, inputs, confirmed=confirmed)
    report.case_id = case.id
    report.processing_status = ReportState.DONE
    report.last_error = None
    s.add(report)
    s.add(case)
    return case


def _record_agent_confirmation(
    s: Session, report: Report, case: Case, machine: Classification, choice: AgentChoice
) -> None:
    """The agent's choice on the timeline under their name, and kept as a labelled example, as
    `routing.review.confirm_case` does for a held case."""
    corrected = choice.category_code != machine.category_code or choice.grid_code != machine.grid_code
    if report.text.strip() and choice.category_code:
        source = "correction" if corrected else "confirm"
        record_correction(
            s,
            report.text,
            choice.category_code,
            choice.actor,
            grid_code=choice.grid_code,
            source=source,
            case_id=case.id,
        )
    record_event(
        s,
        case,
        EventKind.CORRECT if corrected else EventKind.CONFIRM,
        choice.actor,
        reason=CHOSEN_BY.get(Channel(report.channel), CHOSEN_BY[Channel.AGENT]),
        data={
            "category_code": [machine.category_code, choice.category_code],
            "grid_code": [machine.grid_code, choice.grid_code],
            "report_id": report.id,
        },
    )


def _inputs(s: Session, report: Report, c: Classification, category: str | None, *, chosen: bool) -> RoutingInputs:
    """What the rules see. A category a channel supplied or an agent chose is certain (no candidates); the
    model's comes with its candidates, whose probabilities make the department's confidence."""
    supplied = chosen or bool(report.hints.get("category_code"))
    return routing_inputs(
        s,
        report,
        category_code=category,
        category_confidence=1.0 if supplied else c.category_confidence,
        candidates=() if supplied else c.category_top3,
        grid_code=c.grid_code,
        community_code=c.community_code,
        grade=report.hints.get("grade"),
    )


def _dispatch_or_hold(
    s: Session,
    report: Report,
    case: Case,
    c: Classification,
    decision: RoutingDecision,
    inputs: RoutingInputs,
    *,
    confirmed: bool = False,
) -> None:
    review = _needs_review(report, c, decision, confirmed)
    record = record_decision(s, case, decision, inputs, held=bool(review), hold_reasons=review)
    if review:
        case.needs_review = True
        case.department_code = decision.department_code
        record_event(s, case, EventKind.HOLD_FOR_AGENT, SYSTEM_ACTOR, reason="; ".join(review))
        return
    apply_action(
        s,
        case,
        Action.DISPATCH,
        SYSTEM_ACTOR,
        reason=decision.summary(),
        data=dispatch_data(decision, record.id),
        department_code=decision.department_code,
    )


# --- 核查 before 立案 ---------------------------------------------------------------------------------


def _check_first(report: Report, c: Classification, decision: RoutingDecision) -> bool:
    """A rule asks for 核查, and a grid worker can do it: the case has a grid (without one it is held for
    an agent, as any case without a place), and the report is not a grid worker's own from patrol."""
    return decision.require_check and c.grid_code is not None and report.channel != Channel.GRID


def _request_check(s: Session, case: Case, decision: RoutingDecision) -> None:
    case.needs_check = True
    record_event(
        s,
        case,
        EventKind.CHECK_REQUESTED,
        SYSTEM_ACTOR,
        reason=f"rule {decision.rule_id}",
        data={"rule_id": decision.rule_id, "grid_code": case.grid_code},
    )


def route_checked_case(s: Session, case: Case) -> None:
    """After 核查属实 (the case is 立案 now, `routing.verification.check_case`): the step every other report
    takes right after 立案 — routed by the rules, then dispatched, or held for an agent for the same
    reasons (the grid worker vouched for the place, not for the category)."""
    reports = case_reports(s, case.id)
    if not reports:
        raise ValueError(f"case {case.number} has no report")
    report = reports[0]
    choice = _agent_choice(report)
    c = Classification(
        category_code=case.category_code,
        category_confidence=case.category_confidence or 0.0,
        grid_code=case.grid_code,
        grid_confidence=case.grid_confidence or 0.0,
        grid_source=case.grid_source or "none",
    )
    confirmed = choice is not None and choice.confirmed
    inputs = _inputs(s, report, c, case.category_code, chosen=confirmed)
    inputs = replace(inputs, candidates=_candidates(s, case, inputs))
    decision = route(routing_table(), inputs)
    _dispatch_or_hold(s, report, case, c, decision, inputs, confirmed=confirmed)


def _candidates(s: Session, case: Case, inputs: RoutingInputs) -> tuple[tuple[str, float], ...]:
    """The candidates the first routing saw (the case's columns keep only the top category)."""
    first = next(iter(reversed(decisions_of(s, case.id or 0))), None)
    if first is None or inputs.category_confidence >= 1.0:
        return inputs.candidates
    return tuple((str(c), float(p)) for c, p in first.inputs.get("candidates") or ())


def sweep(delay_seconds: int | None = None, limit: int = 500) -> int:
    """Enqueue every report still without a case whose last attempt (or arrival) is older than the delay.

    Covers a queue that was down at intake, a worker killed mid-job, and a lost job. Returns how many
    were enqueued. Failed reports stay failed until an operator retries them (`hotline jobs retry`)."""
    delay = kernel_settings().sweep_delay_seconds if delay_seconds is None else delay_seconds
    cutoff = utcnow() - timedelta(seconds=delay)
    with session_scope() as s:
        ids = s.exec(
            select(Report.id)
            .where(
                col(Report.case_id).is_(None),
                col(Report.processing_status).in_([ReportState.PENDING, ReportState.PROCESSING]),
                or_(
                    col(Report.last_attempt_at) < cutoff,
                    (col(Report.last_attempt_at).is_(None)) & (col(Report.received_at) < cutoff),
                ),
            )
            .order_by(col(Report.id))
            .limit(limit)
        ).all()
    return sum(1 for rid in ids if rid is not None and enqueue_now(JobName.PROCESS_REPORT, rid))


def failed_reports(session: Session) -> list[Report]:
    failed = select(Report).where(Report.processing_status == ReportState.FAILED)
    return list(session.exec(failed.order_by(col(Report.id))))


def reset_for_retry(session: Session, report_id: int) -> bool:
    """A report without a case gets a fresh set of attempts (pending again). The caller commits and then
    enqueues it. False when there is no such report or it has its case already."""
    report = session.get(Report, report_id)
    if report is None or report.case_id is not None:
        return False
    report.processing_status = ReportState.PENDING
    report.attempts = 0
    session.add(report)
    session.flush()
    return True


def retry_in(session: Session, report_id: int) -> bool:
    """The console's 重新处理: `reset_for_retry` in the caller's transaction, the job after its commit."""
    if not reset_for_retry(session, report_id):
        return False
    enqueue_after_commit(session, JobName.PROCESS_REPORT, report_id)
    return True


def retry_report(report_id: int) -> bool:
    """Operator action: give a failed report a fresh set of attempts and enqueue it."""
    with session_scope() as s:
        if not reset_for_retry(s, report_id):
            return False
    return enqueue_now(JobName.PROCESS_REPORT, report_id)
