"""The department's use cases (承办单位) and the supervisor's decisions they wait on: 签收, 退单 and its 审定,
延期 requests and their approval, 反馈 with photos, progress notes, 补充材料 and 恢复.

Each one checks who acts and whether the case allows it now, moves the case through
`cases.service.apply_action` (the clocks follow in `routing.clocks`), and flushes; the caller commits.
Every refusal is a `DepartmentRefusal` (an `InvalidInput`) whose message is a Chinese sentence for the
person who asked.

Who may act: a department's staff (`dept:` actors) only on the cases dispatched to their department —
the caller passes the signed-in user's department as `department_code` (a `dept:<code>` actor naming a
department, as the CLI writes it, stands for that department) — and the hotline's own people (agents,
supervisors, the system) on any case. 审定 and the decision on a 延期 request are a supervisor's.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlmodel import Session, col, select

from cases.db import is_sqlite
from cases.lifecycle import ACTION_LABELS_ZH, LABELS_ZH, TERMINAL, TRANSITIONS, Action, CaseStatus
from cases.models import Case, CaseEvent, Department, utcnow
from cases.reference import InvalidInput, actor_id, check_department
from cases.sanitize import has_unsafe
from cases.service import apply_action
from routing.calendar import working_calendar
from routing.clocks import PAUSE_EXTENSION, PAUSE_INFO, pause_reasons, running_clock
from routing.models import ClockKind, ExtensionRequest, ExtensionState, SlaClock
from routing.settings import routing_settings
from routing.sla import add_working_seconds
from routing.sla_policies import limits_for_grade, load_policies, policy_for, policy_version

RETURN_REASONS: dict[str, str] = {
    "not_ours": "非本单位职责",
    "address_unclear": "地址不详",
    "info_incomplete": "信息不全",
    "duplicate": "重复工单",
    "other": "其他",
}
RULING_AFTER_RETURNS = 2  # 退单 this often: only a supervisor's 审定 dispatches the case again
DEPARTMENT_SIDE = ("dept", "agent", "supervisor", "system")
MAX_TEXT = 2000
MAX_PHOTOS = 9


class DepartmentRefusal(InvalidInput):
    """A department action or decision refused; the message is for the person who asked."""


class NotYourCase(DepartmentRefusal):
    """A department's staff acting on another department's case."""


class NotNow(DepartmentRefusal):
    """The case's status (or its clock) does not allow the action now."""


class ReturnWindowClosed(DepartmentRefusal):
    """退单 after the window: 首办负责制, the department owns the case."""


class ExtensionRefused(DepartmentRefusal):
    """A 延期 request over the limits, or a decision that cannot be taken."""


class PhotoRequired(DepartmentRefusal):
    """反馈 without the photo evidence the case's policy asks for."""


# --- who acts ----------------------------------------------------------------------------------------


def _kind(actor: str) -> str:
    return actor.partition(":")[0]


def _actor(actor: str, kinds: tuple[str, ...] = DEPARTMENT_SIDE) -> str:
    who = actor_id(actor, default_kind="dept")
    if _kind(who) not in kinds:
        raise DepartmentRefusal("您的账号不能办理此操作")
    return who


def _supervisor(actor: str) -> str:
    who = actor_id(actor, default_kind="supervisor")
    if _kind(who) != "supervisor":
        raise DepartmentRefusal("只有班长（值班长）可以作出此决定")
    return who


def acting_department(session: Session, actor: str, department_code: str | None = None) -> str | None:
    """The department a `dept:` actor acts for (None: a hotline person, who may act on any case)."""
    if _kind(actor) != "dept":
        return None
    if department_code:
        return department_code
    name = actor.partition(":")[2]
    if session.get(Department, name) is not None:
        return name
    raise NotYourCase("部门账号须指明所属承办单位")


def _own(session: Session, case: Case, actor: str, department_code: str | None) -> None:
    dept = acting_department(session, actor, department_code)
    if dept is not None and case.department_code != dept:
        raise NotYourCase("这不是本单位的工单")


def lock_case(session: Session, case: Case) -> Case:
    """Hold the case's row until the transaction ends and read it again, so two people acting at once
    (two clicks on 签收, a decision and a 反馈) move it one after the other, the second one seeing what the
    first did. PostgreSQL: SELECT … FOR UPDATE; SQLite: a no-op write first, which takes its one writer lock."""
    if case.id is None:
        return case
    session.flush()
    if is_sqlite(session):
        session.execute(update(Case).where(col(Case.id) == case.id).values(status=col(Case.status)))
        session.refresh(case)
    else:
        session.refresh(case, with_for_update=True)
    return case


def _allowed(case: Case, action: Action) -> None:
    status = CaseStatus(case.status)
    if (status, action) not in TRANSITIONS:
        raise NotNow(f"当前状态为“{LABELS_ZH[status]}”，不能{ACTION_LABELS_ZH[action]}")


def _text(value: str | None, missing: str, limit: int = MAX_TEXT) -> str:
    text = (value or "").strip()
    if not text:
        raise DepartmentRefusal(missing)
    if len(text) > limit:
        raise DepartmentRefusal(f"内容过长（最多{limit}字）")
    return text


# --- 签收 ------------------------------------------------------------------------------------------


def sign_for(
    session: Session, case: Case, actor: str, *, now: datetime | None = None, department_code: str | None = None
) -> Case:
    """签收: the department takes the case; its 签收 clock stops and the 办结 clock starts."""
    actor = _actor(actor)
    lock_case(session, case)
    _own(session, case, actor, department_code)
    _allowed(case, Action.ACCEPT)
    apply_action(session, case, Action.ACCEPT, actor, at=now, data={"department_code": case.department_code})
    session.flush()
    return case


# --- 退单 and 审定 -------------------------------------------------------------------------------------


def _dispatched_at(session: Session, case: Case) -> datetime | None:
    """When the case was last dispatched to its department (its round's 签收 clock, else the event)."""
    clock = session.exec(
        select(SlaClock)
        .where(SlaClock.case_id == case.id, SlaClock.kind == ClockKind.SIGN.value)
        .order_by(col(SlaClock.id).desc())
    ).first()
    if clock is not None:
        return clock.started_at
    event = session.exec(
        select(CaseEvent)
        .where(
            CaseEvent.case_id == case.id,
            col(CaseEvent.action).in_([Action.DISPATCH.value, Action.RULE.value, Action.REASSIGN.value]),
        )
        .order_by(col(CaseEvent.id).desc())
    ).first()
    return event.at if event is not None else None


def return_until(session: Session, case: Case) -> datetime | None:
    """Until when the department may return the case (HOTLINE_RETURN_WINDOW_WORKING_HOURS of working
    time after its dispatch); None when it was never dispatched."""
    start = _dispatched_at(session, case)
    if start is None:
        return None
    hours = routing_settings().return_window_working_hours
    return add_working_seconds(start, hours * 3600, working_calendar())


def ruled_departments(session: Session, case: Case) -> set[str]:
    """Departments a supervisor's 审定 named for this case: they can no longer return it."""
    events = session.exec(select(CaseEvent).where(CaseEvent.case_id == case.id, CaseEvent.action == Action.RULE.value))
    return {str(e.data.get("department_code")) for e in events if e.data.get("department_code")}


def needs_ruling(case: Case) -> bool:
    """Returned twice (or more) and back with the agents: only a supervisor's 审定 dispatches it."""
    return case.status == CaseStatus.RETURNED.value and case.return_count >= RULING_AFTER_RETURNS


def _window_text() -> str:
    hours = routing_settings().return_window_working_hours
    per_day = working_calendar().hours_per_day
    if per_day and hours % per_day == 0:
        return f"{hours / per_day:g}个工作日"
    return f"{hours:g}个工作小时"


def return_case(
    session: Session,
    case: Case,
    actor: str,
    *,
    reason_code: str,
    reason_text: str,
    now: datetime | None = None,
    department_code: str | None = None,
) -> Case:
    """退单: the department sends the case back to the agents with a reason, only within the window after
    its dispatch (after it, 首办负责制: the department owns it), and never after a 审定 named it."""
    actor = _actor(actor)
    lock_case(session, case)
    _own(session, case, actor, department_code)
    _allowed(case, Action.RETURN)
    label = RETURN_REASONS.get(reason_code)
    if label is None:
        raise DepartmentRefusal("请选择退单原因")
    text = _text(reason_text, "请填写退单说明")
    if case.department_code in ruled_departments(session, case):
        raise NotNow("该工单已经班长审定由本单位办理，不能再退单")
    now = now or utcnow()
    until = return_until(session, case)
    if until is not None and now > until:
        raise ReturnWindowClosed(f"已超过退单时限（派遣后{_window_text()}内），按首办负责制由本单位负责办理")
    apply_action(
        session,
        case,
        Action.RETURN,
        actor,
        reason=f"{label}：{text}",
        at=now,
        data={"reason_code": reason_code, "reason_label": label, "reason_text": text},
    )
    session.flush()
    return case


def rule_on_return(session: Session, case: Case, actor: str, *, department_code: str, reason: str) -> Case:
    """审定: a supervisor names the department responsible for a case returned twice; binding — that
    department can no longer return it. Dispatches it there (its 签收 clock starts)."""
    actor = _supervisor(actor)
    lock_case(session, case)
    _allowed(case, Action.RULE)
    if not needs_ruling(case):
        raise NotNow(f"只有退单{RULING_AFTER_RETURNS}次及以上的工单需要审定，请直接派遣")
    text = _text(reason, "请填写审定意见")
    check_department(session, department_code)
    apply_action(
        session, case, Action.RULE, actor, reason=text, data={"binding": True}, department_code=department_code
    )
    session.flush()
    return case


# --- 延期 ------------------------------------------------------------------------------------------


def extension_history(session: Session, case_id: int | None) -> list[ExtensionRequest]:
    """Every 延期 request of the case, oldest first, with its decision."""
    query = (
        select(ExtensionRequest)
        .where(ExtensionRequest.case_id == case_id)
        .order_by(col(ExtensionRequest.requested_at), col(ExtensionRequest.id))
    )
    return list(session.exec(query))


def pending_extensions(session: Session, limit: int = 100) -> list[ExtensionRequest]:
    """Requests waiting for a supervisor, oldest first."""
    query = (
        select(ExtensionRequest)
        .where(ExtensionRequest.state == ExtensionState.PENDING.value)
        .order_by(col(ExtensionRequest.requested_at), col(ExtensionRequest.id))
        .limit(limit)
    )
    return list(session.exec(query))


def _check_extension_room(case: Case) -> None:
    most = routing_settings().extension_max_count
    if case.extension_count >= most:
        raise ExtensionRefused(f"该工单已延期{case.extension_count}次，最多可延期{most}次")


def request_extension(
    session: Session,
    case: Case,
    actor: str,
    *,
    working_days: int,
    reason: str,
    until: datetime | None = None,
    now: datetime | None = None,
    department_code: str | None = None,
) -> ExtensionRequest:
    """延期申请: the department asks for `working_days` more (at most HOTLINE_EXTENSION_MAX_DAYS, one
    pending request at a time, at most HOTLINE_EXTENSION_MAX_COUNT granted); its 办结 clock waits for
    the supervisor's answer. `until`: the date the department asked for, kept with the request."""
    actor = _actor(actor)
    lock_case(session, case)
    _own(session, case, actor, department_code)
    _allowed(case, Action.REQUEST_EXTENSION)
    if case.status != CaseStatus.IN_PROGRESS.value:
        raise NotNow("请先签收，再申请延期")
    most = routing_settings().extension_max_days
    if isinstance(working_days, bool) or not isinstance(working_days, int) or not 1 <= working_days <= most:
        raise ExtensionRefused(f"延期天数须为1至{most}个工作日")
    text = _text(reason, "请填写延期原因")
    _check_extension_room(case)
    now = now or utcnow()
    if until is not None and (until.tzinfo is None or until <= now):
        raise ExtensionRefused("申请的办结日期须晚于现在")
    if any(r.state == ExtensionState.PENDING.value for r in extension_history(session, case.id)):
        raise ExtensionRefused("已有一份延期申请等待审批，请等候结果")
    clock = running_clock(session, case.id)
    assert case.id is not None
    request = ExtensionRequest(
        case_id=case.id,
        clock_id=clock.id if clock is not None else None,
        department_code=case.department_code,
        requested_by=actor,
        requested_at=now,
        reason=text,
        working_days=working_days,
        requested_until=until,
    )
    session.add(request)
    session.flush()
    apply_action(
        session,
        case,
        Action.REQUEST_EXTENSION,
        actor,
        reason=text,
        at=now,
        data={"extension_request_id": request.id, "working_days": working_days},
    )
    session.flush()
    return request


def decide_extension(
    session: Session,
    request: ExtensionRequest,
    actor: str,
    *,
    approve: bool,
    note: str,
    now: datetime | None = None,
) -> ExtensionRequest:
    """A supervisor approves (延期: the granted working days are added to what the clock had left; the
    case's extension_count goes up) or refuses (驳回延期: the clock resumes with what it had left)."""
    actor = _supervisor(actor)
    case = session.get(Case, request.case_id)
    if case is None:
        raise ExtensionRefused("工单不存在")
    lock_case(session, case)
    session.refresh(request)  # another supervisor may have decided it meanwhile
    if request.state != ExtensionState.PENDING.value:
        raise ExtensionRefused("该延期申请已处理")
    text = _text(note, "请填写审批意见")
    action = Action.EXTEND if approve else Action.REFUSE_EXTENSION
    _allowed(case, action)
    if approve:
        _check_extension_room(case)
    now = now or utcnow()
    apply_action(
        session,
        case,
        action,
        actor,
        reason=text,
        at=now,
        data={"extension_request_id": request.id, "working_days": request.working_days if approve else 0},
    )
    request.state = (ExtensionState.APPROVED if approve else ExtensionState.REFUSED).value
    request.decided_by, request.decided_at, request.decision_note = actor, now, text
    session.add(request)
    session.flush()
    return request


# --- 反馈, notes, 补充材料 -------------------------------------------------------------------------------


def photo_required(session: Session, case: Case) -> bool:
    """Whether the case's policy (the version its round started with) asks for photo evidence at 反馈."""
    row = policy_version(session, case.sla_policy_code, case.sla_policy_version)
    if row is not None:
        return limits_for_grade(row, case.grade).require_photo
    return policy_for(load_policies(session), case.category_code, case.grade).require_photo


def _photos(photos: list[str]) -> list[str]:
    keys = [p.strip() for p in photos if isinstance(p, str) and p.strip()]
    if len(keys) != len(photos) or len(keys) > MAX_PHOTOS:
        raise DepartmentRefusal(f"照片有误（最多{MAX_PHOTOS}张）")
    if any(len(k) > 300 or has_unsafe(k) for k in keys):
        raise DepartmentRefusal("照片有误，请重新上传")
    return keys


def mark_handled(
    session: Session,
    case: Case,
    actor: str,
    *,
    note: str,
    photos: list[str],
    now: datetime | None = None,
    department_code: str | None = None,
) -> Case:
    """反馈: the department reports the case done, with a note and photos (attachment keys the caller has
    stored); refused without a photo when the case's policy requires one. The 核实 clock starts."""
    actor = _actor(actor)
    lock_case(session, case)
    _own(session, case, actor, department_code)
    _allowed(case, Action.HANDLE)
    text = _text(note, "请填写处置情况")
    keys = _photos(photos)
    if not keys and photo_required(session, case):
        raise PhotoRequired("该类问题须上传处置后的照片")
    apply_action(session, case, Action.HANDLE, actor, reason=text, at=now, data={"note": text, "photos": keys})
    session.flush()
    return case


def add_progress_note(
    session: Session, case: Case, actor: str, text: str, *, department_code: str | None = None
) -> CaseEvent:
    """进展备注: a line on the timeline (no move, no clock change)."""
    actor = _actor(actor)
    lock_case(session, case)
    _own(session, case, actor, department_code)
    if CaseStatus(case.status) in TERMINAL:
        raise NotNow(f"当前状态为“{LABELS_ZH[CaseStatus(case.status)]}”，不能添加进展")
    body = _text(text, "请填写进展情况")
    event = apply_action(session, case, Action.NOTE, actor, reason=body, data={"progress": True})
    session.flush()
    return event


def request_info(
    session: Session,
    case: Case,
    actor: str,
    reason: str,
    *,
    now: datetime | None = None,
    department_code: str | None = None,
) -> Case:
    """补充材料: the case waits on the resident; its clock pauses with what it has left."""
    actor = _actor(actor)
    lock_case(session, case)
    _own(session, case, actor, department_code)
    _allowed(case, Action.REQUEST_INFO)
    text = _text(reason, "请填写需要补充的材料")
    clock = running_clock(session, case.id)
    if clock is not None and PAUSE_INFO in pause_reasons(clock):
        raise NotNow("已在等待补充材料")
    apply_action(session, case, Action.REQUEST_INFO, actor, reason=text, at=now)
    session.flush()
    return case


def resume_work(
    session: Session,
    case: Case,
    actor: str,
    reason: str,
    *,
    now: datetime | None = None,
    department_code: str | None = None,
) -> Case:
    """材料已补充: the clock resumes with the time it had left (still paused while an extension waits)."""
    actor = _actor(actor)
    lock_case(session, case)
    _own(session, case, actor, department_code)
    _allowed(case, Action.RESUME)
    text = _text(reason, "请填写补充材料的情况")
    clock = running_clock(session, case.id)
    if clock is None or PAUSE_INFO not in pause_reasons(clock):
        raise NotNow("该工单没有在等待补充材料")
    apply_action(session, case, Action.RESUME, actor, reason=text, at=now)
    session.flush()
    return case


def waiting_on_extension(session: Session, case: Case) -> bool:
    clock = running_clock(session, case.id)
    return clock is not None and PAUSE_EXTENSION in pause_reasons(clock)
