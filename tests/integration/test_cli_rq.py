"""Production: a CLI command that moves a case enqueues its follow-up jobs to RQ (it runs none itself), and
a `hotline worker` sends the 派遣 SMS."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from rq import Queue
from sqlalchemy import text

from cases.db import get_engine, session_scope
from cases.models import Report
from cases.service import apply_action, open_case
from hotline.queues import redis_connection
from tests.integration.conftest import BIN
from tests.telephony_fixtures import ACCOUNT, HOTLINE, PUBLIC, TOKEN
from tests.twilio_standin import TwilioStandIn

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]


def test_cli_enqueues_to_rq_and_the_worker_sends(prod_env: dict[str, str]) -> None:
    with get_engine().begin() as conn:
        conn.execute(text("DELETE FROM outbound_message"))
    with session_scope() as s:
        case = open_case(s, actor="system:pipeline", title="门口那堆东西好几天了没人管")
        apply_action(s, case, "register", "system:pipeline")
        case.needs_review = True
        s.add(
            Report(
                channel="sms",
                external_id="cli-rq",
                text="门口那堆东西好几天了没人管",
                phone="+8613800138000",
                case_id=case.id,
                processing_status="done",
            )
        )
        s.commit()
        number, case_id = case.number, case.id
    standin = TwilioStandIn().start()
    try:
        env = {
            **prod_env,
            "PYTHONPATH": str(REPO),
            "HOTLINE_TWILIO_AUTH_TOKEN": TOKEN,
            "HOTLINE_TWILIO_ACCOUNT_SID": ACCOUNT,
            "HOTLINE_TWILIO_FROM_NUMBER": HOTLINE,
            "HOTLINE_TWILIO_API_BASE_URL": standin.url,
            "HOTLINE_PUBLIC_BASE_URL": PUBLIC,
            "HOTLINE_QUIET_HOURS": "",
            "HOTLINE_TWILIO_RATE_PER_SECOND": "0",
        }
        out = subprocess.run(
            [
                str(BIN / "hotline"),
                "cases",
                "confirm",
                number,
                "--agent",
                "li",
                "--category",
                "06010",
                "--grid",
                "421102001001001",
            ],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert out.returncode == 0, out.stderr
        assert standin.messages() == []  # the command itself sends nothing on Redis
        queue = Queue(prod_env["HOTLINE_QUEUE_NAME"], connection=redis_connection(prod_env["HOTLINE_REDIS_URL"]))
        jobs = [queue.fetch_job(j) for j in queue.job_ids]
        assert [(j.func_name, j.args) for j in jobs if j] == [
            ("intake.telephony.outbound.notify_case_status", (case_id,))
        ]
        worker = subprocess.run(
            [str(BIN / "hotline"), "worker", "--burst", "--no-sweep"],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert worker.returncode == 0, worker.stderr[-2000:]
        sent = [m for m in standin.messages() if "已派遣" in m["Body"]]
        assert len(sent) == 1 and number in sent[0]["Body"]
    finally:
        standin.stop()
