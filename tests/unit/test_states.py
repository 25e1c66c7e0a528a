"""Names for stored states keep today's stored strings (no migration, old rows read the same), and the
channel list is declared once: the API documents exactly the kernel's channels."""

from __future__ import annotations

from pathlib import Path

from cases.states import Channel, EventKind, ReportState
from intake.telephony.states import OutboundKind, OutboundStatus, SmsKind


def test_stored_values_are_todays_strings() -> None:
    assert [c.value for c in Channel] == ["voice", "sms", "web", "camera", "open311", "api", "agent", "grid"]
    assert [s.value for s in ReportState] == ["pending", "processing", "done", "failed"]
    assert [k.value for k in EventKind] == [
        "open",
        "link_report",
        "classify",
        "hold_for_agent",
        "confirm",
        "correct",
        "sms_reply",
        "reveal_phone",
        "duplicate_proposed",
        "sla_warning",
        "check_requested",
        "sla_recalculated",
    ]
    assert [k.value for k in OutboundKind] == ["sms", "call"]
    assert {s.value for s in OutboundStatus} == {
        "queued",
        "pending",
        "deferred",
        "sent",
        "delivered",
        "opted_out",
        "failed",
        "skipped",
    }
    assert [k.value for k in SmsKind] == ["report", "append", "query", "stop", "start", "help"]


def test_the_api_documents_the_kernels_channels(env: Path) -> None:
    from hotline.app import create_app

    schema = create_app().openapi()["components"]["schemas"]
    assert schema["Channel"]["enum"] == [c.value for c in Channel]
    assert {"$ref": "#/components/schemas/Channel"} in schema["ApiReportIn"]["properties"]["channel"]["anyOf"]
