"""No full phone number in any log line (issue 12, defect 5): a workload that logs a failing insert,
SMS intake, the web form, a voice call, an unexpected error and the access log, all into one file,
then a grep of that file for the numbers it used — written plainly, and as the JSON lines of
HOTLINE_LOG_FORMAT=json. tests/conftest.py greps the whole session's log too."""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog
from fastapi.testclient import TestClient
from sqlalchemy.exc import IntegrityError

from cases.db import session_scope
from hotline.bootstrap import configure_logging, log_formatter, mask_phones
from intake.ratelimit import reset_limiter
from intake.telephony.models import SmsOptOut
from tests import hostile
from tests import telephony_fixtures as tf
from tests.conftest import phone_leaks
from tests.twilio_standin import TwilioStandIn

standin, twilio_env = tf.standin, tf.twilio_env  # fixtures

MOBILE = "+8613733334444"
LANDLINE = "0715-8812345"
NUMBERS = {"13733334444", "07158812345", "7158812345"}


@pytest.fixture(params=["plain", "json"])
def log_file(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Path]:
    """Everything logged at DEBUG and up, SQLAlchemy's statements included, with tracebacks: through a
    plain stdlib formatter, or the process's JSON one (bootstrap.log_formatter)."""
    path = tmp_path / f"workload.{request.param}.log"
    handler = logging.FileHandler(path, encoding="utf-8")
    if request.param == "json":
        handler.setFormatter(log_formatter("json"))
    else:
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    sa = logging.getLogger("sqlalchemy.engine")
    sa_level = sa.level
    sa.setLevel(logging.INFO)  # every statement with its parameters
    try:
        yield path
    finally:
        handler.flush()
        root.removeHandler(handler)
        root.setLevel(old_level)
        sa.setLevel(sa_level)


def test_masking_covers_the_formats_phones_take() -> None:
    for raw in [
        "+8613733334444",
        "13733334444",
        "008613733334444",
        "137 3333 4444",
        "137-3333-4444",
        "0715-8812345",
        "07158812345",
        "+86 715 881 2345",
        "{'phone': '+8613733334444'}",
    ]:
        masked = mask_phones(f"x {raw} y")
        assert not any(n in re.sub(r"\D", "", masked) for n in NUMBERS), (raw, masked)
        assert "****" in masked
    for kept in ["12319-20261202-000123", "report 4711", "2026-12-02T01:02:03+08:00", "took 1764643200000 ms"]:
        assert mask_phones(kept) == kept


def test_workload_logs_hold_no_phone_number(client: TestClient, twilio_env: TwilioStandIn, log_file: Path) -> None:
    configure_logging()
    log = logging.getLogger("tests.workload")

    # A failing insert: the error carries the statement and, unless hidden, its parameters.
    with session_scope() as s:
        s.add(SmsOptOut(phone=MOBILE))
        s.commit()
    with pytest.raises(IntegrityError) as failed, session_scope() as s:
        s.add(SmsOptOut(phone=MOBILE))
        try:
            s.commit()
        except IntegrityError:
            log.exception("opt-out insert failed")
            raise
    assert "hidden" in str(failed.value)  # hide_parameters: no values in the exception text either

    # SMS intake, with a landline in the text; the web form; a whole voice call from the number.
    reply = hostile.signed(
        client,
        "/twilio/sms",
        {
            "MessageSid": "SM" + uuid.uuid4().hex,
            "AccountSid": tf.ACCOUNT,
            "From": MOBILE,
            "To": tf.HOTLINE,
            "NumMedia": "0",
            "Body": f"东门菜市场暴露垃圾，联系{LANDLINE}",
        },
        tf.TOKEN,
        tf.PUBLIC,
    )
    assert reply.status_code == 200
    reset_limiter()
    form = {
        "csrf_token": hostile.csrf_token(client),
        "description": "东门菜市场门口暴露垃圾",
        "address": "东门菜市场北门",
        "phone": MOBILE,
    }
    assert client.post("/h5/report", data=form, follow_redirects=False).status_code == 303
    tf.simulator(client, from_number=MOBILE).run(tf.scripted("1", "东门菜市场附近有暴露垃圾", "1"))

    # What other code paths and libraries log: arguments, %d, structlog, uvicorn's access line, rq.
    log.warning("SMS to %s failed", MOBILE)
    log.info("caller %d", int(MOBILE[3:]))
    log.info("contact %(phone)s", {"phone": LANDLINE})
    structlog.get_logger("tests.workload").info("outbound", to=MOBILE)
    structlog.get_logger("tests.workload").info("caller", number=int(MOBILE[3:]), contact={"phone": LANDLINE})
    try:
        raise ValueError(f"SMS to {MOBILE} refused")
    except ValueError:
        structlog.get_logger("tests.workload").exception("structlog with a traceback")
    logging.getLogger("uvicorn.access").info(
        '%s - "%s %s HTTP/%s" %d', "127.0.0.1:5000", "GET", f"/h5/track?phone={MOBILE[3:]}", "1.1", 200
    )
    try:
        raise ValueError(f"not a phone number: {MOBILE!r}")
    except ValueError:
        logging.getLogger("rq.worker").exception("job failed")

    text = log_file.read_text(encoding="utf-8")
    assert "INSERT INTO sms_opt_out" in text and "opt-out insert failed" in text and "job failed" in text
    assert "137****4444" in text  # the lines are there, masked
    assert "structlog with a traceback" in text
    assert phone_leaks(text, NUMBERS) == []
    if log_file.name.endswith(".json.log"):
        lines = [json.loads(line) for line in text.splitlines()]  # one object per line, tracebacks inside
        assert any("ValueError: SMS to" in line.get("exception", "") for line in lines)


def test_a_record_that_cannot_be_masked_is_withheld_not_raised(log_file: Path) -> None:
    class Hostile:
        def __str__(self) -> str:
            raise RuntimeError("no")

        __repr__ = __str__

    configure_logging()
    logging.getLogger("tests.workload").warning("value %s", Hostile())  # must not raise
    assert "withheld" in log_file.read_text(encoding="utf-8")
