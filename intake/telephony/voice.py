"""Twilio voice webhooks: each request is one turn of a call, run through the YAML flow engine.

Turn numbers (`?n=`) are put in every URL we hand Twilio, so a request is identified by CallSid + path +
turn: a retried webhook gets the TwiML stored for the first one and nothing runs twice.
"""

from __future__ import annotations

import copy
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from cases import providers
from cases.db import session_scope
from cases.models import utcnow
from cases.sanitize import DB_INT_MAX
from intake.telephony import handlers, outbound, reference
from intake.telephony.models import CallSession, CallStep
from intake.telephony.security import twilio_form
from intake.telephony.settings import telephony_settings
from intake.telephony.twiml import TwimlRenderer
from ivr_flows.engine import Engine, Turn
from ivr_flows.loader import Flow, load_flows
from ivr_flows.settings import flow_settings
from ivr_flows.verbs import Enqueue, Hangup, Play, Record, Say, Verb

log = logging.getLogger(__name__)

router = APIRouter(prefix="/twilio/voice", tags=["telephony"], include_in_schema=False)
PREFIX = "/twilio/voice"
XML = "application/xml"
DEFAULT_HOLD_MUSIC = "http://com.twilio.sounds.music.s3.amazonaws.com/MARKOVICHAMP-Borghestral.mp3"


WARM_UP = True  # tests turn it off


@dataclass
class _WarmUp:
    """Whether this process started loading what calls need (once per process)."""

    started: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)


WARMED_UP = providers.Key("IVR warm-up", _WarmUp)


def _load_for_calls() -> None:
    flows()
    reference.speech_hints()
    from classifiers.base import ReportFacts
    from classifiers.serving import registry

    registry.get_classifier().classify(ReportFacts(text="东门菜市场附近有暴露垃圾"))


def warm_up(background: bool = True) -> None:
    """Load the category model, flows and speech hints once per process: loading takes seconds, and a
    caller would otherwise hear them as silence after speaking. The app calls this at start-up, before it
    accepts requests (`HOTLINE_WARM_UP_ON_START`); as a fallback the first call of a process that skipped
    it starts the load in the background (the greeting and menu leave enough time)."""
    state = providers.get(WARMED_UP)
    with state.lock:
        if state.started or not WARM_UP:
            return
        state.started = True

    def work() -> None:
        try:
            _load_for_calls()
        except Exception:
            log.exception("IVR warm-up failed; the first call will load on demand")

    if background:
        threading.Thread(target=work, name="ivr-warm-up", daemon=True).start()
    else:
        work()


def _load_flows() -> dict[str, Flow]:
    return load_flows(flow_settings().ivr_flows_dir, handlers=set(handlers.HANDLERS))


FLOWS = providers.Key("call flows", _load_flows)


def flows() -> dict[str, Flow]:
    """Loaded once per process; a broken flow file stops the first call with its file:line error."""
    return providers.get(FLOWS)


def _twiml(xml: str) -> Response:
    return Response(content=xml, media_type=XML)


def _engine(turn_no: int) -> Engine:
    def url_for(flow: str, step: str, kind: str) -> str:
        suffix = "" if kind == "enter" else f"/{kind}"
        return f"{PREFIX}/{flow}/{step}{suffix}?{urlencode({'n': turn_no})}"

    return Engine(flows(), handlers.HANDLERS, url_for, hints={"report": reference.speech_hints()})


def _new_session(params: dict[str, str], flow: str) -> CallSession:
    sid = params["CallSid"]
    return CallSession(
        call_sid=sid,
        flow=flow,
        from_phone=params.get("From"),
        to_phone=params.get("To"),
        direction=params.get("Direction", "inbound").split("-")[0],
        status=params.get("CallStatus", "in-progress"),
        context={"call": {"sid": sid, "from": params.get("From"), "to": params.get("To")}, "vars": {}},
    )


def _load_session(s: Session, params: dict[str, str], flow: str) -> CallSession:
    sid = params["CallSid"]
    cs = s.exec(select(CallSession).where(CallSession.call_sid == sid)).first()
    if cs is not None:
        return cs
    cs = _new_session(params, flow)
    try:
        with s.begin_nested():
            s.add(cs)
    except IntegrityError:  # two first webhooks of one call raced
        return s.exec(select(CallSession).where(CallSession.call_sid == sid)).one()
    return cs


def _run_turn(request: Request, params: dict[str, str], flow: str, step: str | None, kind: str) -> Response:
    """Load the call, replay or run this turn, store the answer."""
    started = time.perf_counter()
    sid = _call_sid_for(params, flow, step)
    request_key = f"{sid}:{request.url.path}?{request.url.query}"[:300]
    with session_scope() as s:  # read only: the one write of this turn comes at the end
        prior = s.exec(select(CallStep).where(CallStep.request_key == request_key)).first()
        if prior is not None:
            return _twiml(prior.response)  # Twilio retried: same answer, no second side effect
        known = s.exec(select(CallSession).where(CallSession.call_sid == sid)).first()
        cs = known or _new_session(params, flow)
        ctx: dict[str, Any] = copy.deepcopy(cs.context)
        turn_no = cs.turn + 1
    _start_survey(request, flow, ctx)
    engine = _engine(turn_no)
    turn = _turn_of(params, kind)
    verbs, error = _answer(engine, flow, step, kind, ctx, turn)
    xml = TwimlRenderer().render(verbs)

    # Call state and the replay record: a power cut losing the last of these only makes Twilio's retry run
    # the turn again (the handlers are idempotent), so this commit does not wait for the disk.
    with session_scope(durable=False) as s:
        if known is not None:
            s.add(known)  # the row read above, detached: an UPDATE of what this turn changed, no second read
            cs = known
        else:
            cs = _load_session(s, params, flow)
        _remember_turn(cs, flow, ctx, turn_no)
        _note_queue(cs, flows()[flow], step, kind, verbs, params)
        s.add(cs)
        s.add(
            CallStep(
                call_sid=sid,
                request_key=request_key,
                flow=flow,
                step=step or flows()[flow].start,
                digits=params.get("Digits"),
                speech=params.get("SpeechResult"),
                confidence=turn.confidence,
                response=xml,
                error=error,
                elapsed_ms=(time.perf_counter() - started) * 1000,
            )
        )
        try:  # now, not at the scope's end: a duplicate is answered with what the first one stored
            s.commit()
        except IntegrityError:  # the same request ran twice at once: answer what the first stored
            s.rollback()
            prior = s.exec(select(CallStep).where(CallStep.request_key == request_key)).one()
            return _twiml(prior.response)
    return _twiml(xml)


def _call_sid_for(params: dict[str, str], flow: str, step: str | None) -> str:
    """The call this webhook belongs to, once its flow and step are known ones."""
    sid = params.get("CallSid")
    if not sid:
        raise HTTPException(400, "CallSid missing")
    if flow not in flows():
        raise HTTPException(404, f"unknown flow {flow!r}")
    if step is not None and step not in flows()[flow].steps:
        raise HTTPException(404, f"unknown step {step!r}")
    return sid


def _start_survey(request: Request, flow: str, ctx: dict[str, Any]) -> None:
    """An outbound survey call names its case (and the report of the reporter it calls) in the URL of its
    first webhook, which Twilio signs."""
    if flow == "survey" and "case_id" not in ctx.get("vars", {}) and request.query_params.get("case_id"):
        report = request.query_params.get("report_id", "")
        report_id = int(report) if report.isdigit() and len(report) < 12 else None
        handlers.init_survey(ctx, int(request.query_params["case_id"]), report_id)


def _turn_of(params: dict[str, str], kind: str) -> Turn:
    return Turn(
        digits=params.get("Digits"),
        speech=params.get("SpeechResult"),
        confidence=_confidence(params.get("Confidence")),
        timed_out=kind == "timeout",
        params=params,
    )


def _answer(
    engine: Engine, flow: str, step: str | None, kind: str, ctx: dict[str, Any], turn: Turn
) -> tuple[list[Verb], str | None]:
    """The verbs for this turn, and the error that replaced them with an apology (None when all went well)."""
    try:
        if kind == "enter":
            return engine.enter(flow, step, ctx), None
        assert step is not None
        return engine.input(flow, step, ctx, turn), None
    except Exception as exc:  # never leave a caller in silence: apologise and hand over to a person
        log.exception("call %s: flow %s step %s failed", turn.params.get("CallSid"), flow, step)
        return _apology(flow), f"{type(exc).__name__}: {exc}"[:1000]


def _remember_turn(cs: CallSession, flow: str, ctx: dict[str, Any], turn_no: int) -> None:
    """The call's state after this turn, and the report and case it has led to so far."""
    cs.context = ctx
    cs.turn = turn_no
    cs.updated_at = utcnow()
    if ctx.get("vars", {}).get("report_id"):
        cs.report_id = ctx["vars"]["report_id"]
    if ctx.get("vars", {}).get("case_id") and flow == "main":
        cs.case_id = ctx["vars"]["case_id"]


def _note_queue(
    cs: CallSession, flow: Flow, step: str | None, kind: str, verbs: list[Verb], params: dict[str, str]
) -> None:
    """The agents' queue on the call (for the hotline's figures): this turn's answer puts the caller in it
    (<Enqueue>), or this is the <Enqueue>'s action, which Twilio requests when the caller left the queue,
    with how (QueueResult) and after how long (QueueTime)."""
    if cs.queued_at is None and any(isinstance(v, Enqueue) for v in verbs):
        cs.queued_at = utcnow()
    entered = flow.steps.get(step) if step else None
    if kind == "input" and entered is not None and entered.type == "enqueue" and cs.queue_result is None:
        cs.queue_result = (params.get("QueueResult") or "unknown")[:24].lower()
        waited = params.get("QueueTime", "")
        cs.queue_seconds = int(waited) if waited.isdigit() and len(waited) < 7 else None


def _confidence(raw: str | None) -> float | None:
    """Twilio's speech Confidence (0..1); anything else counts as no estimate rather than failing the turn."""
    try:
        value = float(raw) if raw else None
    except ValueError:
        return None
    return value if value is not None and 0.0 <= value <= 1.0 else None  # also refuses nan and inf


def _apology(flow: str) -> list[Verb]:
    if flow == "survey":
        return [Say("抱歉，系统出现故障，我们稍后再联系您。再见。"), Hangup()]
    return [
        Say("抱歉，系统暂时出现故障。请在提示音后留言，说明问题和地点，我们会尽快处理。"),
        Record(action=f"{PREFIX}/main/voicemail/input?n=fallback", max_length=120),
        Say("感谢您的来电，再见。"),
        Hangup(),
    ]


@router.post("")
def incoming(request: Request, params: dict[str, str] = Depends(twilio_form)) -> Response:
    """The number's voice webhook: a new inbound call starts the main flow."""
    warm_up()
    return _run_turn(request, params, "main", None, "enter")


@router.post("/status")
def status_callback(
    params: dict[str, str] = Depends(twilio_form), om: int | None = Query(default=None, ge=1, le=DB_INT_MAX)
) -> Response:
    """Call status callback: final status and duration on the session; outbound calls' results."""
    sid = params.get("CallSid")
    status = params.get("CallStatus", "")
    if sid:
        with session_scope(durable=False) as s:  # call bookkeeping (see _run_turn)
            cs = s.exec(select(CallSession).where(CallSession.call_sid == sid)).first()
            if cs is None:
                cs = CallSession(
                    call_sid=sid,
                    flow="",
                    from_phone=params.get("From"),
                    to_phone=params.get("To"),
                    direction=params.get("Direction", "inbound").split("-")[0],
                )
            cs.status = status or cs.status
            duration = params.get("CallDuration", "")
            if duration.isascii() and duration.isdigit() and len(duration) <= 9:  # fits the INTEGER column
                cs.duration_seconds = int(duration)
            if status in ("completed", "busy", "failed", "no-answer", "canceled"):
                cs.ended_at = cs.ended_at or utcnow()
            cs.updated_at = utcnow()
            s.add(cs)
    if om is not None:
        outbound.call_finished(om, status)
    return Response(status_code=204)


@router.post("/fallback")
def fallback(request: Request, params: dict[str, str] = Depends(twilio_form)) -> Response:
    """Twilio's fallback URL: the primary webhook failed (ErrorCode, ErrorUrl). Record it and take a
    voicemail with a static answer that needs nothing but this process."""
    sid = params.get("CallSid")
    log.error("call %s: Twilio fell back: error %s at %s", sid, params.get("ErrorCode"), params.get("ErrorUrl"))
    if sid:
        try:
            with session_scope() as s:
                cs = _load_session(s, params, "main")
                cs.error_code = params.get("ErrorCode")
                cs.error_url = (params.get("ErrorUrl") or "")[:500]
                s.add(cs)
        except Exception:
            log.exception("call %s: could not record the fallback", sid)
    return _twiml(TwimlRenderer().render(_apology("main")))


@router.post("/{flow}/{step}/transcription")
def transcription(flow: str, step: str, params: dict[str, str] = Depends(twilio_form)) -> Response:
    handlers.add_transcription(
        params.get("CallSid", ""), params.get("TranscriptionText", ""), params.get("TranscriptionStatus")
    )
    return Response(status_code=204)


@router.post("/{flow}/{step}/wait")
def wait(flow: str, step: str, params: dict[str, str] = Depends(twilio_form)) -> Response:
    """The queue's wait URL, polled while the caller holds: position, music, or off to voicemail."""
    if flow not in flows() or step not in flows()[flow].steps:
        raise HTTPException(404, "unknown step")
    s = telephony_settings()
    queue_time = int(params.get("QueueTime", "0") or 0)
    if queue_time >= s.twilio_queue_max_wait_seconds:
        from ivr_flows.verbs import Leave

        return _twiml(TwimlRenderer().render([Leave()]))  # Enqueue's action then routes to voicemail
    verbs: list[Verb] = list(_engine(0).wait(flow, step, {}, params))
    verbs.append(Play(s.twilio_hold_music_url or DEFAULT_HOLD_MUSIC))
    return _twiml(TwimlRenderer().render(verbs))


@router.post("/{flow}/{step}/{kind}")
def step_input(
    request: Request, flow: str, step: str, kind: str, params: dict[str, str] = Depends(twilio_form)
) -> Response:
    if kind not in ("input", "timeout"):
        raise HTTPException(404, "unknown webhook")
    return _run_turn(request, params, flow, step, kind)


@router.post("/{flow}/{step}")
def step_enter(request: Request, flow: str, step: str, params: dict[str, str] = Depends(twilio_form)) -> Response:
    """Enter a step directly: outbound calls start here (/twilio/voice/survey/ask?case_id=…)."""
    return _run_turn(request, params, flow, step, "enter")
