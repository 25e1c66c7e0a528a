"""Telephony's knobs: Twilio voice, SMS and outbound calls."""

from __future__ import annotations

from pydantic import Field

from cases import providers
from cases.settings import HotlineSettings


class TelephonySettings(HotlineSettings):
    """Twilio account and voice, agent and quiet hours, SMS threading, the survey call, calls to agents."""

    twilio_account_sid: str | None = Field(default=None, description="Twilio account SID (AC...).")
    twilio_auth_token: str | None = Field(
        default=None, description="Twilio auth token: signs webhooks and authenticates the REST client."
    )
    twilio_from_number: str | None = Field(default=None, description="The hotline's number (E.164) for outbound.")
    twilio_api_base_url: str | None = Field(
        default=None, description="Replaces https://api.twilio.com in REST calls (a local stand-in in tests)."
    )
    twilio_voice: str = Field(default="Polly.Zhiyu", description="Mandarin TTS voice for <Say>.")
    twilio_language: str = Field(default="cmn-CN", description="Language of <Say> prompts.")
    twilio_speech_language: str = Field(default="zh-CN", description="Language of speech <Gather>.")
    twilio_agent_queue: str = Field(default="agents", description="TaskRouter-less <Enqueue> queue name.")
    twilio_hold_music_url: str | None = Field(default=None, description="Hold music played while queued.")
    twilio_queue_max_wait_seconds: int = Field(default=120, description="Then the caller goes to voicemail.")
    twilio_rate_per_second: float = Field(default=5.0, description="Outbound REST requests per second.")
    twilio_max_attempts: int = Field(default=3, description="Tries per outbound message or call.")
    ivr_readback_min_confidence: float = Field(
        default=0.35,
        description="Below this category confidence (or Twilio speech confidence) a call does not read a "
        "category back: it asks again in plainer words, then offers an agent.",
    )
    agent_hours: str = Field(default="08:30-17:30", description="Agents answer calls (city time, HH:MM-HH:MM).")
    quiet_hours: str = Field(default="21:00-08:00", description="No outbound notices or survey calls then.")
    sms_thread_window_minutes: int = Field(
        default=30, description="Texts from one number this close together add to the same open report."
    )
    survey_delay_minutes: int = Field(default=10, description="Survey call this long after a case is verified (核实).")
    agent_ring_seconds: int = Field(
        default=20,
        ge=5,
        le=600,
        description="An agent's own phone rings this long (接听下一位, 回访) before it counts as not answered.",
    )
    agent_queue_wait_seconds: int = Field(
        default=15,
        ge=1,
        le=600,
        description="An agent who answered 接听下一位 waits this long for a caller when the queue emptied meanwhile.",
    )
    agent_call_stale_minutes: int = Field(
        default=120,
        ge=1,
        description="A call to an agent not ended after this long is no longer their current call (a lost "
        "status callback must not keep the console busy).",
    )


SETTINGS = providers.Key("telephony settings", TelephonySettings)


def telephony_settings() -> TelephonySettings:
    return providers.get(SETTINGS)
