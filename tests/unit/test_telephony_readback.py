"""Issue 12, defect 9: a call reads back only what it understood. Fillers or a low-confidence category get a
plainer re-prompt, then an agent (or voicemail out of hours) — walked as signed webhooks through the app."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from cases.db import session_scope
from cases.models import Report
from classifiers.base import Classification, ReportFacts
from hotline.cli_call import CallSimulator
from hotline.settings import reset_settings
from ivr_flows.speech import content_chars, has_content, may_read_back
from tests import telephony_fixtures as tf
from tests.telephony_fixtures import scripted, simulator
from tests.twilio_standin import TwilioStandIn

standin, twilio_env = tf.standin, tf.twilio_env  # fixtures

READBACK = "您反映的是"
PLAINER = "请您简单说一句：在哪里，有什么问题。比如：胜利街路灯不亮。"


class SureOfAnything:
    """Answers every text with one category at one confidence — what the shipped model does with fillers
    ("嗯那个就是" → 06026 河道污染 at 0.07) or worse, a model sure of nonsense."""

    def __init__(self, code: str, confidence: float) -> None:
        self.code, self.confidence = code, confidence
        self.seen: list[str] = []

    def classify(self, facts: ReportFacts) -> Classification:
        self.seen.append(facts.text)
        return Classification(
            self.code, self.confidence, "421102001001001", 0.9, grid_source="text", model_version="test"
        )


@pytest.fixture
def model(twilio_env: TwilioStandIn) -> Iterator[SureOfAnything]:
    import routing.pipeline
    from classifiers.serving import registry

    fake = SureOfAnything("06026", 0.072)
    mp = pytest.MonkeyPatch()
    mp.setattr(registry, "get_classifier", lambda: fake)
    mp.setattr(routing.pipeline, "get_classifier", lambda: fake)
    yield fake
    mp.undo()


def _bodies(sim: CallSimulator) -> list[ET.Element]:
    return [ET.fromstring(body) for _, _, body in sim.requests if body.startswith("<?xml")]


def _verbs(sim: CallSimulator, tag: str) -> list[ET.Element]:
    return [el for root in _bodies(sim) for el in root.iter(tag)]


def _reports() -> list[Report]:
    with session_scope() as s:
        return list(s.exec(select(Report)).all())


def test_fillers_get_a_plainer_reprompt_then_the_agent_queue(client: TestClient, model: SureOfAnything) -> None:
    sim = simulator(client)
    said = sim.run(scripted("1", "嗯那个就是", "嗯那个就是", "bridged"))
    assert not any(READBACK in s for s in said), said
    assert not any("河道污染" in s for s in said)
    assert any(PLAINER in s for s in said)  # the re-prompt, with an example to copy
    assert said.index(next(s for s in said if PLAINER in s)) < said.index(next(s for s in said if "转接人工" in s))
    assert any("还是没有听清楚" in s for s in said)
    [enqueue] = _verbs(sim, "Enqueue")
    assert enqueue.text == "agents"
    assert _reports() == []  # nothing was confirmed, nothing stored
    assert model.seen == []  # fillers are not content, whatever a model would say


@pytest.mark.parametrize("confidence", [0.072, 0.99])
@pytest.mark.parametrize("filler", ["嗯那个就是", "喂？喂？", "嗯嗯啊", "那个……就是说", "您好，我想反映一个问题", "啊"])
def test_filler_only_speech_is_never_read_back(
    client: TestClient, model: SureOfAnything, filler: str, confidence: float
) -> None:
    model.confidence = confidence
    said = simulator(client).run(scripted("1", filler, filler, "bridged"))
    assert not any(READBACK in s for s in said)
    assert any(PLAINER in s for s in said) and any("转接人工" in s for s in said)


def test_content_below_the_floor_is_not_read_back(client: TestClient, model: SureOfAnything) -> None:
    model.confidence = 0.2  # real words, but the model is not sure what they are about
    sim = simulator(client)
    said = sim.run(scripted("1", "那个河道那边", "就是河道那边有点那个", "bridged"))
    assert not any(READBACK in s for s in said)
    assert any(PLAINER in s for s in said)
    assert len(_verbs(sim, "Enqueue")) == 1
    assert model.seen == ["那个河道那边", "就是河道那边有点那个"]


def test_out_of_hours_fillers_go_to_voicemail(
    client: TestClient, model: SureOfAnything, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOTLINE_AGENT_HOURS", "")
    reset_settings()
    sim = simulator(client)
    said = sim.run(scripted("1", "嗯那个就是", "嗯", "东门巷路灯不亮"))
    assert not any(READBACK in s for s in said)
    assert any(PLAINER in s for s in said)
    assert _verbs(sim, "Enqueue") == [] and len(_verbs(sim, "Record")) == 1
    assert any("留言已记录" in s for s in said)
    [report] = _reports()
    assert report.hints["voicemail"] and report.hints["needs_review"]
    assert "嗯" not in report.text  # the fillers are not the resident's report


def test_a_clear_second_try_is_read_back(client: TestClient, twilio_env: TwilioStandIn) -> None:
    said = simulator(client).run(scripted("1", "嗯那个就是", "东门菜市场附近有暴露垃圾", "1"))
    assert any(PLAINER in s for s in said)
    assert "您反映的是东门菜市场附近的暴露垃圾问题，对吗？确认请按1，重新描述请按2，转人工请按3。" in said
    [report] = _reports()
    assert report.text == "东门菜市场附近有暴露垃圾" and report.case_id is not None


def test_a_clear_utterance_is_read_back_at_once(client: TestClient, model: SureOfAnything) -> None:
    model.code, model.confidence = "06010", 0.66  # what the shipped model gives this sentence
    said = simulator(client).run(scripted("1", "东门菜市场附近有暴露垃圾", "1"))
    assert not any(PLAINER in s for s in said)
    assert any(s.startswith("您反映的是") and "暴露垃圾" in s for s in said)


def test_the_floor_is_a_setting(client: TestClient, model: SureOfAnything, monkeypatch: pytest.MonkeyPatch) -> None:
    model.code, model.confidence = "06010", 0.66
    monkeypatch.setenv("HOTLINE_IVR_READBACK_MIN_CONFIDENCE", "0.8")
    reset_settings()
    said = simulator(client).run(scripted("1", "东门菜市场附近有暴露垃圾", "东门菜市场附近有暴露垃圾", "bridged"))
    assert not any(READBACK in s for s in said)
    monkeypatch.setenv("HOTLINE_IVR_READBACK_MIN_CONFIDENCE", "0.6")
    reset_settings()
    said = simulator(client).run(scripted("1", "东门菜市场附近有暴露垃圾", "1"))
    assert any(READBACK in s for s in said)


def _say_report(client: TestClient, speech: str, confidence: str) -> tuple[CallSimulator, str]:
    """Ring, press 1 for a report, say `speech` with Twilio's `Confidence`: the call and the TwiML answer."""
    sim = simulator(client)
    sim.post("/twilio/voice", {"CallStatus": "ringing"})
    menu = ET.fromstring(sim.requests[-1][2]).find("Gather")
    assert menu is not None
    report = ET.fromstring(sim.post(menu.get("action", ""), {"Digits": "1"})).find("Gather")
    assert report is not None
    return sim, sim.post(report.get("action", ""), {"SpeechResult": speech, "Confidence": confidence})


def test_a_doubtful_transcript_is_not_read_back(client: TestClient, model: SureOfAnything) -> None:
    """Twilio's own Confidence counts: a transcript the recogniser doubts is asked again."""
    model.code, model.confidence = "06010", 0.9
    sim, body = _say_report(client, "东门菜市场附近有暴露垃圾", "0.12")
    assert READBACK not in body and PLAINER in body
    again = ET.fromstring(body).find("Gather")
    assert again is not None
    body = sim.post(again.get("action", ""), {"SpeechResult": "东门菜市场附近有暴露垃圾", "Confidence": "0.0"})
    assert READBACK in body  # 0 is Twilio's "no estimate", not "wrong"


# --- the pure rules, without I/O --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "嗯",
        "嗯那个就是",
        "嗯嗯",
        "啊",
        "喂",
        "喂喂喂",
        "喂？",
        "那个，这个，就是",
        "呃……然后",
        "您好",
        "你好，我想反映一下",
        "我也不知道",
        "嗯。。。",
        "有人吗？听得到吗",
        "就是说那个",
        "唉",
        "对对",
    ],
)
def test_no_content(text: str) -> None:
    assert not has_content(text)
    assert not may_read_back(text, "06026", 0.99, 0.35, 0.95)


@pytest.mark.parametrize(
    "text",
    [
        "路灯坏了",
        "垃圾",
        "嗯，东门菜市场有垃圾",
        "那个就是井盖丢了",
        "喂，胜利街污水横流",
        "3号楼",
        "好脏",
        "噪音扰民啊",
    ],
)
def test_content(text: str) -> None:
    assert has_content(text)


def test_content_chars_drops_fillers_and_punctuation() -> None:
    assert content_chars("嗯，那个就是东门菜场垃圾！") == "东门菜场垃圾"


def test_may_read_back_needs_a_category_above_the_floor() -> None:
    assert may_read_back("东门菜市场附近有暴露垃圾", "06010", 0.66, 0.35)
    assert may_read_back("东门菜市场附近有暴露垃圾", "06010", 0.35, 0.35)  # at the floor: read back
    assert not may_read_back("东门菜市场附近有暴露垃圾", "06010", 0.34, 0.35)
    assert not may_read_back("东门菜市场附近有暴露垃圾", None, 0.9, 0.35)
    assert not may_read_back("东门菜市场附近有暴露垃圾", "06010", 0.9, 0.35, speech_confidence=0.2)
    assert may_read_back("东门菜市场附近有暴露垃圾", "06010", 0.9, 0.35, speech_confidence=0.0)
    assert may_read_back("东门菜市场附近有暴露垃圾", "06010", 0.9, 0.35, speech_confidence=None)


@pytest.mark.parametrize("raw", ["abc", "nan", "-1", "7", "inf", ""])
def test_a_malformed_speech_confidence_is_no_estimate_not_an_error(
    client: TestClient, model: SureOfAnything, raw: str
) -> None:
    model.code, model.confidence = "06010", 0.9
    _, body = _say_report(client, "东门菜市场附近有暴露垃圾", raw)
    assert READBACK in body
