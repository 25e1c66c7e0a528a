"""回访 use cases for the console: the survey an agent records on the phone, a try that reached nobody,
and closing a case nobody can be called about. Each takes the caller's session, writes the case's event
and flushes; the caller commits. The rating itself is `cases.rating.record_rating`, the one rule every
channel uses: this module only decides what a callback does around it (who called, how often, when to
try again, the SMS link after the last try).

一事多诉: each reporter of the case is called and rates for themselves (`report_id` names whom the agent
reached; by default the next who has not rated this round). While another reporter is left, an answered
call leaves the case due at once for the next one, and a surveyed case is closed after the last."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from cases.jobnames import JobName
from cases.jobs import enqueue_after_commit
from cases.lifecycle import Action, CaseStatus
from cases.models import Case, Report, utcnow
from cases.queries import Reporter, local, phoned_reporters, reporter_phone
from cases.rating import RATINGS, Outcome, already_rated, record_rating, unrated
from cases.service import apply_action
from routing.callbacks import round_started, tries_since_answered
from routing.models import NOT_REACHED, OUTCOME_ZH, CallbackAttempt, CallbackHow, CallbackOutcome
from routing.settings import routing_settings

CHANNEL = "agent_callback"  # the rating's channel when an agent asked on the phone


class CallbackRefused(Exception):
    """Why the callback action cannot be done, in words for the agent."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _verified(case: Case) -> None:
    if case.status != CaseStatus.VERIFIED.value:
        raise CallbackRefused("该工单已不在待回访状态，请刷新列表")


def record_survey(
    session: Session,
    case: Case,
    code: str,
    *,
    comment: str,
    actor: str,
    how: CallbackHow = CallbackHow.DESK_PHONE,
    agent_call_id: int | None = None,
    report_id: int | None = None,
    now: datetime | None = None,
) -> Outcome:
    """The resident answered the 回访: their rating goes through the one rating rule (满意 / 基本满意 on a
    verified case is its 回访 once every reporter rated, 不满意 reopens it). A surveyed case is then closed
    (结案) by the agent who called: the callback was the last step. `report_id`: the reporter reached (one
    of the case's reports with a phone; None: the next reporter who has not rated)."""
    _verified(case)
    if code not in RATINGS:
        raise CallbackRefused("请选择市民的评价：满意、基本满意或不满意")
    rater = _reporter(session, case, report_id)
    if already_rated(session, case, rater.report_id):
        if not unrated(session, case):
            raise CallbackRefused("市民已对本轮处置作出评价，无需再次回访，可直接结案")
        raise CallbackRefused("这位反映人已对本轮处置作出评价，请回访其他反映人")
    extra = {"agent_call_id": agent_call_id} if agent_call_id else {}
    outcome = record_rating(
        session,
        case,
        code,
        actor=actor,
        channel=CHANNEL,
        comment=comment,
        extra=extra,
        source="回访",
        report_id=rater.report_id,
    )
    now = now or utcnow()
    others = outcome == "noted" and bool(unrated(session, case))
    if others:  # a retry set for the reporter just reached no longer holds the next one back
        waiting = select(CallbackAttempt).where(
            CallbackAttempt.case_id == _id(case),
            col(CallbackAttempt.at) >= round_started(session, case),
            col(CallbackAttempt.next_try_at) > now,
        )
        for earlier in session.exec(waiting):
            earlier.next_try_at = now
            session.add(earlier)
    session.add(
        CallbackAttempt(
            case_id=_id(case),
            at=now,
            actor=actor,
            how=how.value,
            outcome=CallbackOutcome.ANSWERED.value,
            next_try_at=now if others else None,  # due again at once: the next reporter is to be called
            agent_call_id=agent_call_id,
        )
    )
    if outcome == "surveyed":
        apply_action(session, case, Action.CLOSE, actor, reason=f"回访完成（{RATINGS[code]}），结案")
    session.flush()
    return outcome


def record_attempt(
    session: Session,
    case: Case,
    outcome: CallbackOutcome,
    *,
    actor: str,
    how: CallbackHow,
    agent_call_id: int | None = None,
    now: datetime | None = None,
) -> CallbackAttempt:
    """A 回访 call that reached nobody. The case is due again HOTLINE_CALLBACK_RETRY_MINUTES later; after
    HOTLINE_CALLBACK_MAX_ATTEMPTS such tries the resident is texted the rating link (after commit) and the
    case leaves the list. The same console call recorded twice is one attempt."""
    _verified(case)
    if outcome not in NOT_REACHED:
        raise CallbackRefused("请选择未接通的原因：无人接听、占线或未能接通")
    if reporter_phone(session, _id(case)) is None:
        raise CallbackRefused("该工单是匿名反映，没有可回访的电话，请直接结案")
    if agent_call_id is not None:
        known = session.exec(select(CallbackAttempt).where(CallbackAttempt.agent_call_id == agent_call_id)).first()
        if known is not None:
            return known
    now = now or utcnow()
    settings = routing_settings()
    tries = failed_tries(session, case) + 1
    last = tries >= settings.callback_max_attempts
    attempt = CallbackAttempt(
        case_id=_id(case),
        at=now,
        actor=actor,
        how=how.value,
        outcome=outcome.value,
        next_try_at=None if last else now + timedelta(minutes=settings.callback_retry_minutes),
        agent_call_id=agent_call_id,
    )
    session.add(attempt)
    what = f"回访未接通（{OUTCOME_ZH[outcome]}，第{tries}次）"
    if last:
        reason = f"{what}，已发送短信评价链接"
        enqueue_after_commit(session, JobName.SEND_SURVEY_LINK, _id(case))
    else:
        reason = f"{what}，{local(attempt.next_try_at)} 后再次回访"
    apply_action(
        session, case, Action.NOTE, actor, reason=reason, data={"callback_outcome": outcome.value, "try": tries}
    )
    session.flush()
    return attempt


def failed_tries(session: Session, case: Case) -> int:
    """Tries of this round of handling (since its 核实, or since a reporter of the case last answered)
    that reached nobody."""
    stmt = (
        select(CallbackAttempt)
        .where(CallbackAttempt.case_id == _id(case), col(CallbackAttempt.at) >= round_started(session, case))
        .order_by(col(CallbackAttempt.at), col(CallbackAttempt.id))
    )
    return len(tries_since_answered(list(session.exec(stmt))))


def _reporter(session: Session, case: Case, report_id: int | None) -> Reporter:
    """The reporter the agent reached: the one of `report_id`'s phone, else the next who has not rated."""
    everyone = phoned_reporters(session, _id(case))
    if not everyone:
        raise CallbackRefused("该工单是匿名反映，没有可回访的电话，请直接结案")
    if report_id is None:
        return next(iter(unrated(session, case)), everyone[0])
    report = session.get(Report, report_id)
    found = next((r for r in everyone if report is not None and r.phone == report.phone), None)
    if report is None or report.case_id != case.id or found is None:
        raise CallbackRefused("该号码不是这个工单反映人的电话")
    return found


def close_without_callback(session: Session, case: Case, *, actor: str) -> None:
    """结案 without a 回访: the case has no phone to call (an anonymous report), or its resident already
    rated this round of handling (on the track page, before 核实)."""
    _verified(case)
    if reporter_phone(session, _id(case)) is None:
        reason = "匿名反映，无法回访，结案"
    elif already_rated(session, case):
        reason = "市民已评价，结案"
    else:
        raise CallbackRefused("该工单有市民电话，请先回访再结案")
    apply_action(session, case, Action.CLOSE, actor, reason=reason)
    session.flush()


def _id(case: Case) -> int:
    assert case.id is not None
    return case.id
