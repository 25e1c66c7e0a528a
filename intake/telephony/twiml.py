"""Renders the flow engine's verbs to TwiML with the `twilio` library."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from twilio.twiml.voice_response import VoiceResponse

from intake.telephony.settings import telephony_settings
from ivr_flows.settings import flow_settings
from ivr_flows.verbs import Dial, Enqueue, Gather, Hangup, Leave, Pause, Play, Record, Redirect, Say, Verb


class TwimlRenderer:
    def render(self, verbs: list[Verb]) -> str:
        r = VoiceResponse()
        for verb in verbs:
            add = _ADD.get(type(verb))
            if add is not None:
                add(self, r, verb)
        return str(r)

    def _add_say(self, r: VoiceResponse, verb: Say) -> None:
        self._say(r, verb)

    def _add_gather(self, r: VoiceResponse, verb: Gather) -> None:
        s = telephony_settings()
        kwargs: dict[str, object] = {
            "input": verb.input,
            "action": verb.action,
            "method": "POST",
            "timeout": verb.timeout,
            "action_on_empty_result": False,
        }
        if verb.input == "speech":
            # Mandarin recognition; hints bias it towards taxonomy terms and the city's place names.
            kwargs.update(language=s.twilio_speech_language, speech_timeout="auto", profanity_filter=False)
            if verb.hints:
                kwargs["hints"] = ",".join(verb.hints[:500])
        if verb.num_digits:
            kwargs["num_digits"] = verb.num_digits
        if verb.finish_on_key:
            kwargs["finish_on_key"] = verb.finish_on_key
        g = r.gather(**kwargs)
        for p in verb.prompts:
            if isinstance(p, Say):
                self._say(g, p)

    def _add_redirect(self, r: VoiceResponse, verb: Redirect) -> None:
        r.redirect(verb.url, method="POST")

    def _add_enqueue(self, r: VoiceResponse, verb: Enqueue) -> None:
        r.enqueue(
            verb.queue or telephony_settings().twilio_agent_queue,
            wait_url=verb.wait_url,
            wait_url_method="POST",
            action=verb.action,
            method="POST",
        )

    def _add_record(self, r: VoiceResponse, verb: Record) -> None:
        r.record(
            action=verb.action,
            method="POST",
            max_length=verb.max_length,
            play_beep=True,
            timeout=5,
            transcribe=bool(verb.transcribe_callback),
            transcribe_callback=verb.transcribe_callback,
        )

    def _add_dial(self, r: VoiceResponse, verb: Dial) -> None:
        d = r.dial(caller_id=verb.caller_id, action=verb.action)
        d.number(verb.number)

    def _add_play(self, r: VoiceResponse, verb: Play) -> None:
        r.play(verb.url, loop=verb.loop)

    def _add_pause(self, r: VoiceResponse, verb: Pause) -> None:
        r.pause(length=verb.seconds)

    def _add_hangup(self, r: VoiceResponse, verb: Hangup) -> None:
        r.hangup()

    def _add_leave(self, r: VoiceResponse, verb: Leave) -> None:
        r.leave()

    @staticmethod
    def _say(parent: object, say: Say) -> None:
        s, recordings = telephony_settings(), flow_settings().ivr_recordings_base_url
        if say.audio and recordings:
            parent.play(recordings.rstrip("/") + "/" + say.audio)  # type: ignore[attr-defined]
        else:
            parent.say(say.text, language=s.twilio_language, voice=s.twilio_voice)  # type: ignore[attr-defined]


# One TwiML verb per engine verb.
_ADD: dict[type, Callable[[TwimlRenderer, VoiceResponse, Any], None]] = {
    Say: TwimlRenderer._add_say,
    Gather: TwimlRenderer._add_gather,
    Redirect: TwimlRenderer._add_redirect,
    Enqueue: TwimlRenderer._add_enqueue,
    Record: TwimlRenderer._add_record,
    Dial: TwimlRenderer._add_dial,
    Play: TwimlRenderer._add_play,
    Pause: TwimlRenderer._add_pause,
    Hangup: TwimlRenderer._add_hangup,
    Leave: TwimlRenderer._add_leave,
}
