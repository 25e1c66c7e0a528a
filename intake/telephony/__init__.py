"""Telephony adapter: Twilio voice (IVR), SMS, outbound calls and messages, calls to agents' own phones.
The only package that imports `twilio`; the call flows themselves are vendor-free YAML in `ivr_flows/`."""

from __future__ import annotations

from fastapi import APIRouter

from intake.telephony import agent_voice, sms, voice

router = APIRouter()
router.include_router(voice.router)
router.include_router(sms.router)
router.include_router(agent_voice.router)
