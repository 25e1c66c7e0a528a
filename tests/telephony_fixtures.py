"""Fixtures for the telephony tests: Twilio settings, the REST stand-in, a simulator driving the app."""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from twilio.request_validator import RequestValidator

from hotline.cli_call import CallSimulator
from hotline.settings import reset_settings
from tests.twilio_standin import TwilioStandIn

TOKEN = "test-auth-token-0123456789abcdef"
ACCOUNT = "AC" + "1" * 32
PUBLIC = "https://hotline.example.gov.cn"  # what Twilio signs; the test server itself is http://testserver
HOTLINE = "+8671312319"


@pytest.fixture
def standin() -> Iterator[TwilioStandIn]:
    s = TwilioStandIn().start()
    yield s
    s.stop()


@pytest.fixture
def twilio_env(env: Path, monkeypatch: pytest.MonkeyPatch, standin: TwilioStandIn) -> Iterator[TwilioStandIn]:
    monkeypatch.setenv("HOTLINE_TWILIO_AUTH_TOKEN", TOKEN)
    monkeypatch.setenv("HOTLINE_TWILIO_ACCOUNT_SID", ACCOUNT)
    monkeypatch.setenv("HOTLINE_TWILIO_FROM_NUMBER", HOTLINE)
    monkeypatch.setenv("HOTLINE_TWILIO_API_BASE_URL", standin.url)
    monkeypatch.setenv("HOTLINE_PUBLIC_BASE_URL", PUBLIC)
    monkeypatch.setenv("HOTLINE_AGENT_HOURS", "00:00-24:00")
    monkeypatch.setenv("HOTLINE_QUIET_HOURS", "")
    monkeypatch.setenv("HOTLINE_SURVEY_DELAY_MINUTES", "0")  # survey calls go out when asked
    monkeypatch.setenv("HOTLINE_TWILIO_RATE_PER_SECOND", "0")
    reset_settings()
    # The category model is being replaced in parallel (issue 4); these tests are about the call, so they
    # pin the deterministic keyword classifier for both the in-call read-back and the pipeline.
    import routing.pipeline
    from classifiers.serving import registry
    from tests.keyword_classifier import KeywordClassifier

    kw = KeywordClassifier.from_reference_data()
    pin = pytest.MonkeyPatch()  # undone before the shared `env` teardown clears the registry's cache
    pin.setattr(registry, "get_classifier", lambda: kw)
    pin.setattr(routing.pipeline, "get_classifier", lambda: kw)
    from intake.telephony import voice

    pin.setattr(voice, "WARM_UP", False)
    yield standin
    pin.undo()


def transport(client: TestClient):  # type: ignore[no-untyped-def]
    def send(path: str, params: dict[str, str], headers: dict[str, str]) -> tuple[int, str]:
        r = client.post(path, data=params, headers=headers)
        return r.status_code, r.text

    return send


def simulator(client: TestClient, **kw: object) -> CallSimulator:
    return CallSimulator(transport(client), PUBLIC, TOKEN, account_sid=ACCOUNT, out=lambda _: None, **kw)  # type: ignore[arg-type]


def scripted(*inputs: str | None):  # type: ignore[no-untyped-def]
    """An answer function that plays the given inputs in order (None = silence)."""
    queue = list(inputs)

    def answer(kind: str, attrs: dict[str, str]) -> str | None:
        if not queue:
            raise AssertionError(f"the call asked for more input ({kind}) than the script has")
        return queue.pop(0)

    answer.remaining = queue  # type: ignore[attr-defined]
    return answer


def send_sms(client: TestClient, body: str, phone: str, sid: str | None = None, **extra: str) -> str:
    """Post an inbound SMS as Twilio does (signed over the public URL); returns the TwiML reply's text."""
    params = {
        "MessageSid": sid or "SM" + uuid.uuid4().hex,
        "AccountSid": ACCOUNT,
        "From": phone,
        "To": "+8671312319",
        "Body": body,
        "NumMedia": "0",
        **extra,
    }
    sig = RequestValidator(TOKEN).compute_signature(PUBLIC + "/twilio/sms", params)
    r = client.post("/twilio/sms", data=params, headers={"X-Twilio-Signature": sig})
    assert r.status_code == 200, r.text
    msg = ET.fromstring(r.text).find("Message")
    return (msg.text or "") if msg is not None else ""
