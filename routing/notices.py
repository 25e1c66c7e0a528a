"""Notices to departments: an SMS to a contact (DepartmentContact) and, where an admin configured one, a
signed JSON webhook to the department's own system (DepartmentWebhook).

Each notice is a `DepartmentNotice` row written in the transaction of what caused it — the 派遣 (the
transition observer `on_transition`) or a ladder step (`step_notices`, called by the escalation sweep) —
under a unique `key` derived from that cause, so a cause retried or run twice never writes two. After the
commit the job SEND_DEPARTMENT_NOTICE(notice_id) sends it (`send_department_notice`): a failed attempt
raises, so the queue tries again with back-off (HOTLINE_JOB_MAX_ATTEMPTS, HOTLINE_JOB_RETRY_INTERVALS);
after the last attempt the notice is `failed` and listed for admins (`/admin/notices`, `hotline notices
list --failed`), who retry it (`retry_notice`). The row stores the contact's id, never a phone number;
the SMS itself is sent by telephony (JobName.SEND_DEPARTMENT_SMS, run in-process).

Webhook deliveries: POST, body the notice's JSON (`delivery_id`, `event`, `case_number`, `status`,
`deadline` …), headers X-Hotline-Timestamp (Unix seconds), X-Hotline-Delivery (the delivery id, the same
on every retry) and X-Hotline-Signature = hex HMAC-SHA256(secret, f"{timestamp}.{body}"). A receiver
checks it with `verify_signature` (docs/department-notices.md): recompute, compare in constant time,
refuse a timestamp more than 5 minutes away, and remember delivery ids to drop repeats.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import and_, or_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from cases.db import is_sqlite, session_scope
from cases.jobnames import JobName
from cases.jobs import enqueue_after_commit, run_now
from cases.lifecycle import LABELS_ZH, Action, CaseStatus
from cases.logcontext import bind_ids, job_ids
from cases.models import Case, CaseEvent, utcnow
from cases.reference import actor_id, reference_names
from cases.settings import kernel_settings
from cases.texts import SMS_SIGNATURE
from cases.timetext import when_zh
from routing.escalation import CLOCK_ZH, LadderError, Step, StepAction, Target
from routing.ladder import current_ladder
from routing.models import (
    ContactRole,
    DepartmentContact,
    DepartmentNotice,
    DepartmentWebhook,
    NoticeState,
    RuleRow,
    RuleSet,
    SlaClock,
)
from routing.notify_targets import notify_departments, notify_phones, parse_rule_target, phone_of, rule_target
from routing.settings import escalation_settings

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Hotline-Signature"
TIMESTAMP_HEADER = "X-Hotline-Timestamp"
DELIVERY_HEADER = "X-Hotline-Delivery"
MAX_AGE_SECONDS = 300  # what receivers are told to accept (docs/department-notices.md)


class Channel(StrEnum):
    SMS = "sms"
    WEBHOOK = "webhook"


class NoticeEvent(StrEnum):
    DISPATCH = "dispatch"  # 派遣: a new case for the department
    SLA_WARNING = "sla_warning"  # 预警: 80 % of a limit used
    URGE = "urge"  # 催办: the limit is up
    ESCALATE_YELLOW = "escalate_yellow"  # 督办黄牌
    ESCALATE_RED = "escalate_red"  # 督办红牌


STEP_EVENT = {
    StepAction.WARN: NoticeEvent.SLA_WARNING,
    StepAction.URGE: NoticeEvent.URGE,
    StepAction.YELLOW: NoticeEvent.ESCALATE_YELLOW,
    StepAction.RED: NoticeEvent.ESCALATE_RED,
}
EVENT_ZH = {
    NoticeEvent.DISPATCH: "派遣",
    NoticeEvent.SLA_WARNING: "预警",
    NoticeEvent.URGE: "催办",
    NoticeEvent.ESCALATE_YELLOW: "黄牌督办",
    NoticeEvent.ESCALATE_RED: "红牌督办",
}
STATE_ZH = {NoticeState.PENDING: "待发送", NoticeState.SENT: "已发送", NoticeState.FAILED: "发送失败"}
CHANNEL_ZH = {Channel.SMS: "短信", Channel.WEBHOOK: "接口推送"}


class NoticeNotSent(RuntimeError):
    """An attempt failed and the notice has attempts left: raised so the job queue tries again."""


class NoticeError(ValueError):
    """A notice cannot be retried (unknown, or already sent); the message is for people."""


# --- writing them ----------------------------------------------------------------------------------------


def active_contacts(session: Session, department_code: str, role: str | None = None) -> list[DepartmentContact]:
    query = select(DepartmentContact).where(
        DepartmentContact.department_code == department_code, col(DepartmentContact.active).is_(True)
    )
    if role is not None:
        query = query.where(DepartmentContact.role == role)
    return list(session.exec(query.order_by(col(DepartmentContact.id))))


def _sms_targets(session: Session, department_code: str, targets: Iterable[Target]) -> list[DepartmentContact]:
    """The contacts the targets name: duty, head (or the duty contacts when the department has no head)."""
    found: dict[int, DepartmentContact] = {}
    for target in targets:
        if target == Target.WEBHOOK:
            continue
        people = active_contacts(session, department_code, target.value)
        if not people and target == Target.HEAD:
            people = active_contacts(session, department_code, ContactRole.DUTY.value)
        found.update((c.id, c) for c in people if c.id is not None)
    return list(found.values())


def _active_webhook(session: Session, department_code: str) -> DepartmentWebhook | None:
    hook = session.get(DepartmentWebhook, department_code)
    return hook if hook is not None and hook.active else None


@dataclass(frozen=True)
class NoticeContent:
    """What a cause tells a department (the same for every target of it)."""

    event: NoticeEvent
    text: str  # the SMS, also in the webhook body
    deadline: datetime | None
    clock: str | None = None
    step: str | None = None


def _payload(case: Case, department_code: str, content: NoticeContent, now: datetime) -> dict[str, Any]:
    tz = ZoneInfo(kernel_settings().timezone)
    return {
        "delivery_id": uuid.uuid4().hex,
        "event": content.event.value,
        "event_zh": EVENT_ZH[content.event],
        "case_number": case.number,
        "status": case.status,
        "status_zh": LABELS_ZH.get(CaseStatus(case.status), case.status),
        "department": department_code,
        "deadline": content.deadline.astimezone(tz).isoformat() if content.deadline else None,
        "clock": content.clock,
        "step": content.step,
        "occurred_at": now.astimezone(tz).isoformat(timespec="seconds"),
        "text": content.text,
    }


def _add_notice(session: Session, notice: DepartmentNotice) -> DepartmentNotice | None:
    """Insert once per key: None when a notice with this key exists (the cause ran before)."""
    if session.exec(select(DepartmentNotice.id).where(DepartmentNotice.key == notice.key)).first() is not None:
        return None
    try:
        with session.begin_nested():
            session.add(notice)
    except IntegrityError:  # a concurrent run of the same cause wrote it first
        return None
    assert notice.id is not None
    enqueue_after_commit(session, JobName.SEND_DEPARTMENT_NOTICE, notice.id)
    return notice


def write_notices(
    session: Session,
    case: Case,
    department_code: str,
    targets: Iterable[Target],
    content: NoticeContent,
    key: str,
    now: datetime | None = None,
) -> list[DepartmentNotice]:
    """A notice per target of `targets` (the contacts they name, the webhook when configured and named),
    keyed `{key}:sms:{contact id}` / `{key}:webhook`, each sent by a job after the caller commits."""
    now = now or utcnow()
    targets = tuple(targets)
    rows: list[DepartmentNotice] = []

    def notice(key: str, channel: Channel, target: str, payload: dict[str, Any]) -> DepartmentNotice:
        return DepartmentNotice(
            key=key,
            department_code=department_code,
            case_id=case.id,
            channel=channel.value,
            target=target,
            event=content.event.value,
            payload=payload,
        )

    for contact in _sms_targets(session, department_code, targets):
        payload = _payload(case, department_code, content, now) | {"contact_role": contact.role}
        rows.append(notice(f"{key}:sms:{contact.id}", Channel.SMS, str(contact.id), payload))
    hook = _active_webhook(session, department_code) if Target.WEBHOOK in targets else None
    if hook is not None:
        rows.append(notice(f"{key}:webhook", Channel.WEBHOOK, hook.url, _payload(case, department_code, content, now)))
    return [n for n in (_add_notice(session, row) for row in rows) if n is not None]


def _short(text: str, n: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"


def dispatch_content(case: Case, now: datetime) -> NoticeContent:
    tz = kernel_settings().timezone
    what = reference_names().category(case.category_code) or ""
    about = "，".join(p for p in (what, _short(case.title, 40)) if p)
    due = case.dispatch_deadline
    when = f"，请于{when_zh(due, tz, now)}前签收" if due else "，请及时签收"
    text = f"{SMS_SIGNATURE}新派遣工单{case.number}（{about}）{when}。"
    return NoticeContent(NoticeEvent.DISPATCH, text, due, clock="sign")


def on_transition(session: Session, case: Case, event: CaseEvent) -> None:
    """Transition observer: a case dispatched (派遣, also again after 退单/重开, 审定, and 改派 to another
    department) tells its department, in the same transaction (`hotline.wiring` registers it after the clocks'
    observer, so the 签收 deadline it names is the new one)."""
    if event.to_status != CaseStatus.DISPATCHED.value:
        return
    if event.from_status == CaseStatus.DISPATCHED.value and event.action != Action.REASSIGN.value:
        return
    if not case.department_code:
        return
    if event.id is None:
        session.flush()
    now = utcnow()
    content = dispatch_content(case, now)
    write_notices(session, case, case.department_code, _dispatch_targets(), content, f"dispatch:{event.id}", now)
    notify = (event.data or {}).get("notify")
    if notify and isinstance(notify, list):
        copy_notices(session, case, event, [str(n) for n in notify], now)


def copy_content(case: Case, now: datetime) -> NoticeContent:
    """What a rule's notify entries are told: the case went to a department (theirs to know, not to sign for)."""
    names = reference_names()
    what = names.category(case.category_code) or ""
    about = "，".join(p for p in (what, _short(case.title, 40)) if p)
    to = names.department(case.department_code) or case.department_code or ""
    text = f"{SMS_SIGNATURE}抄送：工单{case.number}（{about}）已派至{to}办理，供知悉。"
    return NoticeContent(NoticeEvent.DISPATCH, text, None)


def copy_notices(session: Session, case: Case, event: CaseEvent, notify: list[str], now: datetime) -> None:
    """A 派遣 by a rule that names others to notify: each department's duty contacts by SMS (no webhook: the
    case is not theirs to take), and each phone number of the rule by SMS, the notice naming the number by
    its place in the published rule (`notify_targets.rule_target`) so the number stays out of the notice."""
    content = copy_content(case, now)
    key = f"dispatch:{event.id}:notify"
    for code in notify_departments(notify):
        if code != case.department_code:
            write_notices(session, case, code, (Target.DUTY,), content, f"{key}:{code}", now)
    version, rule_key = (event.data or {}).get("rule_set_version"), (event.data or {}).get("rule")
    phones = notify_phones(notify)
    if not phones:
        return
    if not isinstance(version, int) or not isinstance(rule_key, str):
        log.warning("case %s: a rule's notify numbers were not told (no published rule named)", case.id)
        return
    for index, _ in phones:
        payload = _payload(case, case.department_code or "", content, now) | {"contact_role": "rule"}
        row = DepartmentNotice(
            key=f"{key}:phone:{index}",
            department_code=case.department_code or "",
            case_id=case.id,
            channel=Channel.SMS.value,
            target=rule_target(version, rule_key, index),
            event=content.event.value,
            payload=payload,
        )
        _add_notice(session, row)


def _rule_phone(session: Session, target: str) -> str | None:
    """The phone number a rule target names, read from that published version (which never changes)."""
    parsed = parse_rule_target(target)
    if parsed is None:
        return None
    version, key, index = parsed
    q = (
        select(RuleRow.actions)
        .join(RuleSet, col(RuleSet.id) == col(RuleRow.rule_set_id))
        .where(RuleSet.version == version, RuleRow.key == key)
    )
    actions = session.exec(q).first()
    entries = (actions or {}).get("notify") or []
    return phone_of(str(entries[index])) if index < len(entries) else None


def _dispatch_targets() -> tuple[Target, ...]:
    """Who the 派遣 notice goes to (the ladder file's `dispatch`); a ladder file that cannot be read must
    not stop a dispatch: then the duty contacts and the webhook, as shipped."""
    try:
        return current_ladder().dispatch_notify
    except LadderError as exc:
        log.error("escalation ladder refused, 派遣 notices go to the duty contacts and webhook: %s", exc)
        return (Target.DUTY, Target.WEBHOOK)


def step_content(case: Case, clock: SlaClock, step: Step, now: datetime) -> NoticeContent:
    tz = kernel_settings().timezone
    kind = CLOCK_ZH.get(clock.kind, clock.kind)
    due = clock.due_at
    when = when_zh(due, tz, now) if due else ""
    texts = {
        StepAction.WARN: f"工单{case.number}{kind}时限将到（{when}），请抓紧办理。",
        StepAction.URGE: f"【催办】工单{case.number}已超过{kind}时限（{when}），请立即办理。",
        StepAction.YELLOW: f"【督办·黄牌】工单{case.number}{kind}超时（时限{when}），已列入督办。",
        StepAction.RED: f"【督办·红牌】工单{case.number}{kind}严重超时（时限{when}），已红牌督办。",
    }
    return NoticeContent(
        STEP_EVENT[step.action], SMS_SIGNATURE + texts[step.action], due, clock=clock.kind, step=step.name
    )


def step_notices(
    session: Session, case: Case, clock: SlaClock, step: Step, step_id: int, now: datetime
) -> list[DepartmentNotice]:
    """The notices of one ladder step taken (`step_id`: its EscalationStep row, which keys them)."""
    department = clock.department_code or case.department_code
    if not department or not step.notify:
        return []
    return write_notices(
        session, case, department, step.notify, step_content(case, clock, step, now), f"step:{step_id}", now
    )


# --- sending them ----------------------------------------------------------------------------------------


# What a webhook body carries of a notice's payload (the payload also keeps who retried it).
BODY_FIELDS = (
    "delivery_id",
    "event",
    "event_zh",
    "case_number",
    "status",
    "status_zh",
    "department",
    "deadline",
    "clock",
    "step",
    "occurred_at",
    "text",
)


def canonical_body(payload: dict[str, Any]) -> str:
    """The exact JSON text a webhook delivery sends (and signs): the same on every retry."""
    body = {k: payload.get(k) for k in BODY_FIELDS}
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def sign(secret: str, timestamp: str, body: str) -> str:
    """hex HMAC-SHA256(secret, f"{timestamp}.{body}")."""
    return hmac.new(secret.encode(), f"{timestamp}.{body}".encode(), hashlib.sha256).hexdigest()


def verify_signature(
    secret: str, timestamp: str, body: str, signature: str, *, now: float | None = None, max_age: int = MAX_AGE_SECONDS
) -> bool:
    """What a receiver checks: the timestamp is a number within `max_age` seconds of now, and the signature
    is the HMAC of timestamp and body (compared in constant time). Repeats are the receiver's to drop, by
    X-Hotline-Delivery."""
    if not timestamp.isdigit():
        return False
    if abs((time.time() if now is None else now) - int(timestamp)) > max_age:
        return False
    return hmac.compare_digest(sign(secret, timestamp, body), signature)


class WebhookRefused(RuntimeError):
    def __init__(self, status: int) -> None:
        super().__init__(f"接口返回 HTTP {status}")
        # A 4xx other than timeout / too early / rate limit will not change by trying again.
        self.permanent = 400 <= status < 500 and status not in (408, 425, 429)


def post_webhook(url: str, secret: str, payload: dict[str, Any], timeout: float) -> str:
    """Deliver one notice; returns what the receiver answered, raises on anything but 2xx."""
    body = canonical_body(payload)
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": "hotline12319-notices/1",
        TIMESTAMP_HEADER: timestamp,
        DELIVERY_HEADER: str(payload.get("delivery_id", "")),
        SIGNATURE_HEADER: sign(secret, timestamp, body),
    }
    response = httpx.post(url, content=body.encode(), headers=headers, timeout=timeout, follow_redirects=False)
    if not 200 <= response.status_code < 300:
        raise WebhookRefused(response.status_code)
    return f"HTTP {response.status_code}"


@dataclass(frozen=True)
class _Claim:
    notice_id: int
    key: str
    channel: str
    attempt: int
    case_id: int | None
    payload: dict[str, Any]
    phone: str | None = None
    url: str | None = None
    secret: str | None = None


def _locked(session: Session, notice_id: int) -> DepartmentNotice | None:
    """The notice, read inside a transaction no other run of it can enter until this one ends (PostgreSQL:
    its row lock; SQLite: a no-op write first takes the one writer lock)."""
    if is_sqlite(session):
        same = {"state": col(DepartmentNotice.state)}
        session.execute(update(DepartmentNotice).where(col(DepartmentNotice.id) == notice_id).values(same))
        return session.get(DepartmentNotice, notice_id, populate_existing=True)
    return session.exec(select(DepartmentNotice).where(DepartmentNotice.id == notice_id).with_for_update()).first()


def current_contact(
    session: Session, contact: DepartmentContact | None, department_code: str
) -> DepartmentContact | None:
    """The contact a notice should reach: the one it names while active, else (an admin replaced or
    removed it) the newest active contact of the same department and role."""
    if contact is not None and contact.active:
        return contact
    role = contact.role if contact is not None else ContactRole.DUTY.value
    people = active_contacts(session, department_code, role)
    return people[-1] if people else None


def _fail(notice: DepartmentNotice, why: str) -> None:
    notice.state, notice.last_error = NoticeState.FAILED.value, why


def _target(session: Session, notice: DepartmentNotice) -> dict[str, str] | None:
    """Where this attempt goes (phone, or url and secret), or None with the notice failed."""
    if notice.channel == Channel.SMS.value and parse_rule_target(notice.target) is not None:
        phone = _rule_phone(session, notice.target)
        if phone is None:
            _fail(notice, "规则中的抄送号码已不存在")
            return None
        return {"phone": phone}
    if notice.channel == Channel.SMS.value:
        named = session.get(DepartmentContact, int(notice.target)) if notice.target.isdigit() else None
        contact = current_contact(session, named, notice.department_code)
        if contact is None or not contact.phone:
            _fail(notice, "该单位没有可用的联系人（已删除或停用）")
            return None
        notice.target = str(contact.id)
        return {"phone": contact.phone}
    hook = _active_webhook(session, notice.department_code)
    if hook is None:
        _fail(notice, "该单位的接口推送已删除或停用")
        return None
    notice.target = hook.url
    return {"url": hook.url, "secret": hook.secret}


def _claim(notice_id: int) -> _Claim | str | None:
    """Count this attempt (committed before anything is sent) and say where it goes. A state instead: the
    notice failed here (nowhere to send it); None: nothing to do (unknown, sent, failed before)."""
    with session_scope() as s:
        notice = _locked(s, notice_id)
        if notice is None or notice.state != NoticeState.PENDING.value:
            return None
        bind_ids(case_id=notice.case_id)
        notice.attempts += 1
        target = _target(s, notice)
        s.add(notice)
        if target is None:
            log.warning("department notice %s failed: %s", notice_id, notice.last_error)
            return notice.state
        return _Claim(
            notice_id, notice.key, notice.channel, notice.attempts, notice.case_id, dict(notice.payload), **target
        )


def _finish(claim: _Claim, error: str | None, permanent: bool) -> str:
    """Record the attempt's outcome; returns the notice's state after it."""
    with session_scope() as s:
        notice = _locked(s, claim.notice_id)
        assert notice is not None
        if notice.state == NoticeState.SENT.value:
            return notice.state  # another run of it got through meanwhile
        if error is None:
            notice.state, notice.sent_at, notice.last_error = NoticeState.SENT.value, utcnow(), None
        else:
            notice.last_error = error[:500]
            if permanent or notice.attempts >= kernel_settings().job_max_attempts:
                notice.state = NoticeState.FAILED.value
        s.add(notice)
        return notice.state


def _send(claim: _Claim) -> None:
    if claim.channel == Channel.SMS.value:
        text = str(claim.payload.get("text", ""))
        run_now(JobName.SEND_DEPARTMENT_SMS, claim.key, claim.phone, text, claim.case_id)
    else:
        assert claim.url is not None and claim.secret is not None
        post_webhook(claim.url, claim.secret, claim.payload, escalation_settings().notice_webhook_timeout_seconds)


def _describe(exc: Exception) -> str:
    """An error as stored and logged: our own errors say what happened; others by type (a library's
    message may hold a URL's query or a phone number)."""
    if isinstance(exc, WebhookRefused | NoticeNotSent) or getattr(exc, "safe_message", False):
        return str(exc)
    if isinstance(exc, httpx.TimeoutException):
        return "接口超时未应答"
    if isinstance(exc, httpx.HTTPError):
        return f"接口无法连接（{type(exc).__name__}）"
    return type(exc).__name__


@job_ids("notice_id")
def send_department_notice(notice_id: int) -> str | None:
    """Job SEND_DEPARTMENT_NOTICE: one attempt at one notice. Returns its state after the attempt (None:
    nothing to do — sent already, failed before, unknown). A failed attempt with attempts left raises
    NoticeNotSent, so the queue retries with back-off; safe to run twice."""
    claim = _claim(notice_id)
    if not isinstance(claim, _Claim):
        return claim
    error, permanent = None, False
    try:
        _send(claim)
    except Exception as exc:
        error, permanent = _describe(exc), bool(getattr(exc, "permanent", False))
    state = _finish(claim, error, permanent)
    if error is None:
        return state
    attempts = kernel_settings().job_max_attempts
    if state == NoticeState.FAILED.value:
        log.error("department notice %s failed for good after %s attempt(s): %s", notice_id, claim.attempt, error)
        return state
    raise NoticeNotSent(f"department notice {notice_id} not sent (attempt {claim.attempt} of {attempts}): {error}")


# --- for admins ------------------------------------------------------------------------------------------


def problem_notices(session: Session, limit: int = 100) -> list[DepartmentNotice]:
    """Failed notices, and pending ones older than HOTLINE_NOTICE_STUCK_MINUTES (their job was lost), newest first."""
    stuck = utcnow() - timedelta(minutes=escalation_settings().notice_stuck_minutes)
    failed = col(DepartmentNotice.state) == NoticeState.FAILED.value
    lost = and_(col(DepartmentNotice.state) == NoticeState.PENDING.value, col(DepartmentNotice.created_at) < stuck)
    query = select(DepartmentNotice).where(or_(failed, lost)).order_by(col(DepartmentNotice.created_at).desc())
    return list(session.exec(query.limit(limit)))


def recent_notices(session: Session, *, failed_only: bool = False, limit: int = 50) -> list[DepartmentNotice]:
    if failed_only:
        return problem_notices(session, limit)
    query = select(DepartmentNotice).order_by(col(DepartmentNotice.created_at).desc(), col(DepartmentNotice.id).desc())
    return list(session.exec(query.limit(limit)))


def retry_notice(session: Session, notice_id: int, actor: str) -> DepartmentNotice:
    """Send a failed (or stuck) notice again, with all its attempts: pending, attempts 0, a job after the
    caller commits. The SMS goes to the contact's current version (an admin may have corrected the
    number). Who retried it is kept in the notice's payload."""
    notice = session.get(DepartmentNotice, notice_id)
    if notice is None:
        raise NoticeError("没有这条通知")
    if notice.state == NoticeState.SENT.value:
        raise NoticeError("这条通知已发送，无需重试")
    notice.state, notice.attempts, notice.last_error = NoticeState.PENDING.value, 0, None
    retried = list(notice.payload.get("retried", []))[-9:]
    retried.append({"by": actor_id(actor), "at": utcnow().isoformat(timespec="seconds")})
    notice.payload = {**notice.payload, "retried": retried}
    session.add(notice)
    session.flush()
    enqueue_after_commit(session, JobName.SEND_DEPARTMENT_NOTICE, notice_id)
    return notice


def notice_case_numbers(session: Session, notices: Iterable[DepartmentNotice]) -> dict[int, str]:
    """case id → number for the notices' cases (one query)."""
    ids = {n.case_id for n in notices if n.case_id is not None}
    if not ids:
        return {}
    return {
        cid: number for cid, number in session.exec(select(Case.id, Case.number).where(col(Case.id).in_(ids))) if cid
    }
