"""Renders the flow engine's verbs to TwiML with the `twilio` library."""

from __future__ import annotations

from twilio.twiml.voice_response import VoiceResponse

from cases.settings import get_settings
from ivr_flows.verbs import Dial, Enqueue, Gather, Hangup, Leave, Pause, Play, Record, Redirect, Say, Verb


class TwimlRenderer:
    def render(self, verbs: list[Verb]) -> str:
        s = get_settings()
        r = VoiceResponse()
        for verb in verbs:
            if isinstance(verb, Say):
                self._say(r, verb)
            elif isinstance(verb, Gather):
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
            elif isinstance(verb, Redirect):
                r.redirect(verb.url, method="POST")
            elif isinstance(verb, Enqueue):
                r.enqueue(
                    verb.queue or s.twilio_agent_queue,
                    wait_url=verb.wait_url,
                    wait_url_method="POST",
                    action=verb.action,
                    method="POST",
                )
            elif isinstance(verb, Record):
                r.record(
                    action=verb.action,
                    method="POST",
                    max_length=verb.max_length,
                    play_beep=True,
                    timeout=5,
                    transcribe=bool(verb.transcribe_callback),
                    transcribe_callback=verb.transcribe_callback,
                )
            elif isinstance(verb, Dial):
                d = r.dial(caller_id=verb.caller_id, action=verb.action)
                d.number(verb.number)
            elif isinstance(verb, Play):
                r.play(verb.url, loop=verb.loop)
            elif isinstance(verb, Pause):
                r.pause(length=verb.seconds)
            elif isinstance(verb, Hangup):
                r.hangup()
            elif isinstance(verb, Leave):
                r.leave()
        return str(r)

    @staticmethod
    def _say(parent: object, say: Say) -> None:
        s = get_settings()
        if say.audio and s.ivr_recordings_base_url:
            parent.play(s.ivr_recordings_base_url.rstrip("/") + "/" + say.audio)  # type: ignore[attr-defined]
        else:
            parent.say(say.text, language=s.twilio_language, voice=s.twilio_voice)  # type: ignore[attr-defined]
