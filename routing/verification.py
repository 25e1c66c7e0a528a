"""On-site work of grid workers (网格员): 核实 after the department's 反馈, and 核查 before 立案.

`verify_case` passes (核实通过, Action.VERIFY: on to the 回访) or fails (核实不通过, Action.VERIFY_FAIL: back to
the department, whose new handling clock the clocks observer starts at the next grade) a handled case.
`check_case` answers a routing rule's `require_check`: found (核查属实, Action.CHECK → 立案, then the
pipeline's own route-and-dispatch step) or not found (Action.REJECT, 不予立案, with the reason).

Only a grid worker of the case's grid may do either (their grids come from their account, which routing
cannot read: the caller passes them), or a hotline agent or supervisor (who may verify by phone or from
the photos). Photos are attachment ids the caller has already stored (intake's attachment storage).
Each use case locks the case row, checks, moves it through `cases.service.apply_action` (its event
carries the note and the photos) and flushes; the caller commits. Refusals are `VerificationRefused`, a
`cases.reference.InvalidInput`, with a message for the person.
"""

from __future__ import annotations

import re
from collections.abc import Collection

from sqlalchemy import update
from sqlmodel import Session, col

from cases.db import is_sqlite
from cases.lifecycle import Action, CaseStatus
from cases.models import Case, CaseEvent
from cases.reference import ACTOR_KINDS, InvalidInput, actor_id
from cases.service import apply_action

MAX_PHOTOS = 9
NOTE_MAX = 500
PHOTO_ID = re.compile(r"att_[0-9a-f]{32}")
# Who may verify or check besides a grid worker of the case's grid.
HOTLINE_KINDS = ("agent", "supervisor")


class VerificationRefused(InvalidInput):
    """The 核实 / 核查 cannot be done as asked; the message says why, in Chinese, for the person."""


def _actor(raw: str, case: Case, grids: Collection[str]) -> str:
    actor = actor_id(raw, kinds=ACTOR_KINDS)
    kind = actor.partition(":")[0]
    if kind == "grid":
        if case.grid_code is None or case.grid_code not in grids:
            raise VerificationRefused("该工单不在您负责的网格内")
    elif kind not in HOTLINE_KINDS:
        raise VerificationRefused("只有本网格的网格员或热线坐席可以核实、核查工单")
    return actor


def _claim(session: Session, case: Case) -> None:
    """Read the case again under a lock held until the transaction ends, so two people answering the same
    task at once do not both move it: the second finds it moved and is refused. PostgreSQL: the row
    FOR UPDATE; SQLite: a no-op write first (it takes the one writer lock), then the read."""
    if is_sqlite(session):
        session.execute(update(Case).where(col(Case.id) == case.id).values(status=col(Case.status)))
        session.refresh(case)
    else:
        session.refresh(case, with_for_update=True)


def _photos(photos: Collection[str]) -> list[str]:
    kept = list(dict.fromkeys(photos))
    if len(kept) > MAX_PHOTOS:
        raise VerificationRefused(f"最多上传 {MAX_PHOTOS} 张照片")
    if any(not PHOTO_ID.fullmatch(p) for p in kept):
        raise VerificationRefused("照片未能保存，请重新拍摄后再提交")
    return kept


def _note(note: str) -> str:
    text = note.strip()
    if len(text) > NOTE_MAX:
        raise VerificationRefused(f"说明请不要超过 {NOTE_MAX} 字")
    return text


def verify_case(
    session: Session,
    case: Case,
    actor: str,
    *,
    passed: bool,
    note: str,
    photos: Collection[str],
    grids: Collection[str] = (),
) -> Case:
    """核实 a handled (反馈) case on site. Passed needs at least one photo; failed needs the reason (photos
    optional) and sends the case back to the department. `grids`: the acting grid worker's grids."""
    actor = _actor(actor, case, grids)
    _claim(session, case)
    if case.status != CaseStatus.HANDLED.value:
        raise VerificationRefused("该工单已不在待核实状态（可能已由他人核实），请返回列表刷新")
    kept, text = _photos(photos), _note(note)
    data = {"photos": kept, "on_site": actor.startswith("grid:")}
    if passed:
        if not kept:
            raise VerificationRefused("核实通过需要上传至少一张现场照片")
        apply_action(session, case, Action.VERIFY, actor, reason=text or "现场核实已处置", data=data)
    else:
        if not text:
            raise VerificationRefused("请填写核实不通过的原因")
        apply_action(session, case, Action.VERIFY_FAIL, actor, reason=text, data=data)
    session.flush()
    return case


def end_check_when_moved(session: Session, case: Case, event: CaseEvent) -> None:
    """Observer (`cases.hooks.on_transition`, wired in hotline/wiring.py): 核查 is asked of a case in 上报
    only, so whoever moves it on some other way — an agent's 立案 or 不予立案 from the console, a 合并 —
    ends the request with it, and the task leaves the grid worker's list."""
    if case.needs_check and case.status != CaseStatus.REPORTED.value:
        case.needs_check = False
        session.add(case)


def check_case(
    session: Session,
    case: Case,
    actor: str,
    *,
    found: bool,
    note: str,
    photos: Collection[str],
    grids: Collection[str] = (),
) -> Case:
    """核查 a reported case a routing rule holds for it. Found: 立案 (the grid worker's visit vouches for
    the place: grid confidence 1), then routed and dispatched (or held for an agent) as every report is
    after 立案. Not found: 不予立案 with the reason. Photos are optional either way."""
    actor = _actor(actor, case, grids)
    _claim(session, case)
    if case.status != CaseStatus.REPORTED.value or not case.needs_check:
        raise VerificationRefused("该工单已不在待核查状态（可能已由他人核查），请返回列表刷新")
    kept, text = _photos(photos), _note(note)
    data = {"photos": kept, "on_site": actor.startswith("grid:")}
    if found:
        reason = text or "现场核查属实"
        apply_action(
            session, case, Action.CHECK, actor, reason=reason, data=data, needs_check=False, grid_confidence=1.0
        )
        # Imported here: this module's observer is wired into every process (hotline.wiring), the pipeline and
        # its classifier only into those that check a case.
        from routing.pipeline import route_checked_case

        route_checked_case(session, case)
    else:
        if not text:
            raise VerificationRefused("请填写核查不属实的原因")
        apply_action(
            session, case, Action.REJECT, actor, reason=text, data=data | {"check": "not_found"}, needs_check=False
        )
    session.flush()
    return case
