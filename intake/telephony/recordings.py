"""Voicemail recordings stay at Twilio (the report keeps RecordingUrl); people's pages play them through
a route of their own that checks who asks, and this module fetches the audio with the account's
credentials. Only URLs of Twilio's recording resource are fetched, never whatever a report holds."""

from __future__ import annotations

import re

from intake.telephony.rest import TWILIO_API, fetch_media

_RECORDING = re.compile(r"/2010-04-01/Accounts/AC[0-9a-fA-F]{32}/Recordings/RE[0-9a-fA-F]{32}(\.mp3|\.wav)?")


class RecordingUnavailable(Exception):
    """Twilio did not give us the audio (not configured, gone, refused, not audio)."""


def is_recording_url(url: str) -> bool:
    return url.startswith(TWILIO_API + "/") and _RECORDING.fullmatch(url[len(TWILIO_API) :]) is not None


def fetch_recording(url: str) -> tuple[bytes, str]:
    """The recording as MP3 (Twilio converts on request: RecordingUrl + .mp3), with its content type."""
    if not is_recording_url(url):
        raise RecordingUnavailable("not a Twilio recording URL")
    if not url.endswith((".mp3", ".wav")):
        url += ".mp3"
    try:
        data, ctype = fetch_media(url)
    except Exception as exc:
        raise RecordingUnavailable(str(exc)) from exc
    if not ctype.startswith("audio/"):
        raise RecordingUnavailable(f"answered {ctype}, not audio")
    return data, ctype
