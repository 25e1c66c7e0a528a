"""`hotline call simulate`: be Twilio in a terminal. Walks a call against a running server with correctly
signed webhooks (X-Twilio-Signature over the public URL), exactly the form fields Twilio sends, following
Gather actions, Redirects, Enqueue and Record — so a person can test the IVR with no phone. Tests use the
same `CallSimulator` with a TestClient transport."""

from __future__ import annotations

import time
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlparse

import httpx
import typer
from twilio.request_validator import RequestValidator

from intake.settings import intake_settings
from intake.telephony.settings import telephony_settings
from intake.urls import public_base_url_is_set

app = typer.Typer(help="Walk IVR calls without a phone.", no_args_is_help=True)

# (path with query, form params, headers) -> (status code, body)
Transport = Callable[[str, dict[str, str], dict[str, str]], tuple[int, str]]
# (kind, Gather/Record/Enqueue attributes) -> what the caller does; None = silence
Answer = Callable[[str, dict[str, str]], str | None]


@dataclass
class CallSimulator:
    transport: Transport
    public_base_url: str
    auth_token: str
    from_number: str = "+8613800138000"
    to_number: str = "+8671312319"
    account_sid: str = "AC" + "0" * 32
    call_sid: str = field(default_factory=lambda: "CA" + uuid.uuid4().hex)
    out: Callable[[str], None] = print
    max_requests: int = 60  # a looping flow cannot keep the simulator (or a test) busy forever
    pause_scale: float = 0.0  # 1.0 waits out <Pause> like Twilio; tests skip the wait
    requests: list[tuple[str, dict[str, str], str]] = field(default_factory=list)
    latencies_ms: list[float] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)

    def _params(self, extra: dict[str, str]) -> dict[str, str]:
        base = {
            "CallSid": self.call_sid,
            "AccountSid": self.account_sid,
            "From": self.from_number,
            "To": self.to_number,
            "Caller": self.from_number,
            "Called": self.to_number,
            "CallStatus": "in-progress",
            "Direction": "inbound",
            "ApiVersion": "2010-04-01",
        }
        return base | extra

    def post(self, path: str, extra: dict[str, str] | None = None) -> str:
        """Send one signed webhook as Twilio would and return the body."""
        if len(self.requests) >= self.max_requests:
            raise RuntimeError(f"more than {self.max_requests} webhooks in one call")
        params = self._params(extra or {})
        url = self.public_base_url.rstrip("/") + path
        signature = RequestValidator(self.auth_token).compute_signature(url, params)
        t0 = time.perf_counter()
        status, body = self.transport(path, params, {"X-Twilio-Signature": signature})
        self.latencies_ms.append((time.perf_counter() - t0) * 1000)
        self.requests.append((path, params, body))
        if status >= 400:
            raise RuntimeError(f"POST {path} answered {status}: {body[:200]}")
        return body

    def _path(self, url: str, current: str) -> str:
        """Twilio resolves relative action URLs against the current document's URL."""
        absolute = urljoin(self.public_base_url.rstrip("/") + current, url)
        p = urlparse(absolute)
        return p.path + (f"?{p.query}" if p.query else "")

    def run(
        self,
        answer: Answer,
        start: str = "/twilio/voice",
        status_callback: str | None = "/twilio/voice/status",
        first: dict[str, str] | None = None,
    ) -> list[str]:
        """Play the whole call; returns everything said to the caller, in order."""
        said: list[str] = []
        path = start
        body: str | None = self.post(path, first or {"CallStatus": "ringing"})
        while body is not None:
            body, path = self._play(body, path, answer, said)
        if status_callback:
            duration = str(max(1, int(time.monotonic() - self.started)))
            self.post(status_callback, {"CallStatus": "completed", "CallDuration": duration})
        return said

    def _say(self, el: ET.Element, said: list[str]) -> None:
        if el.tag == "Say":
            said.append(el.text or "")
            self.out(f"  IVR: {el.text}")
        elif el.tag == "Play":
            self.out(f"  IVR: [播放 {el.text}]")

    def _play(self, body: str, current: str, answer: Answer, said: list[str]) -> tuple[str | None, str]:
        """Act out one TwiML document verb by verb; returns the next document (None: the call ended) and its path."""
        for el in ET.fromstring(body):
            if el.tag in ("Say", "Play"):
                self._say(el, said)
            elif el.tag == "Pause":
                self._pause(el)
            elif el.tag == "Gather":
                heard = self._gather(el, current, answer, said)
                if heard is not None:
                    return heard
            elif el.tag in _LAST_VERBS:
                return _LAST_VERBS[el.tag](self, el, current, answer, said)
        self.out("  [文档结束，挂机]")
        return None, current

    def _pause(self, el: ET.Element) -> None:
        if self.pause_scale:
            time.sleep(min(10.0, float(el.get("length", "1")) * self.pause_scale))

    def _gather(self, el: ET.Element, current: str, answer: Answer, said: list[str]) -> tuple[str | None, str] | None:
        """The caller's keys or words sent to the Gather's action; None when they gave none (Twilio then
        falls through to the next verb)."""
        for child in el:
            self._say(child, said)
        got = answer(el.get("input", "dtmf"), dict(el.attrib))
        if not got:
            self.out("  市民: （没有输入）")
            return None
        action = self._path(el.get("action") or current, current)
        if el.get("input") == "speech":
            extra = {"SpeechResult": got, "Confidence": "0.92"}
            self.out(f"  市民（说）: {got}")
        else:
            extra = {"Digits": got}
            self.out(f"  市民（按键）: {got}")
        return self.post(action, extra), action

    def _redirect(self, el: ET.Element, current: str, answer: Answer, said: list[str]) -> tuple[str | None, str]:
        target = self._path(el.text or current, current)
        return self.post(target), target

    def _enqueue(self, el: ET.Element, current: str, answer: Answer, said: list[str]) -> tuple[str | None, str]:
        """Hold once (the wait URL's words), then leave the queue as the caller's answer says."""
        wait = self._path(el.get("waitUrl") or "", current)
        self.out(f"  [排队 {el.text}]")
        hold = self.post(
            wait,
            {
                "QueuePosition": "1",
                "QueueTime": "0",
                "QueueSid": "QU" + "0" * 32,
                "AvgQueueTime": "0",
                "CurrentQueueSize": "1",
            },
        )
        for h in ET.fromstring(hold):
            self._say(h, said)
        result = answer("queue", dict(el.attrib)) or "leave"
        action = self._path(el.get("action") or current, current)
        return self.post(action, {"QueueResult": result, "QueueTime": "30"}), action

    def _record(self, el: ET.Element, current: str, answer: Answer, said: list[str]) -> tuple[str | None, str]:
        """A voicemail: the recording to the action, then its transcription to the callback, as Twilio does."""
        text = answer("record", dict(el.attrib))
        action = self._path(el.get("action") or current, current)
        rec = f"https://api.twilio.com/2010-04-01/Accounts/{self.account_sid}/Recordings/RE{uuid.uuid4().hex}"
        self.out(f"  市民（留言）: {text or ''}")
        nxt = self.post(action, {"RecordingUrl": rec, "RecordingDuration": "12", "RecordingSid": rec.rsplit("/", 1)[1]})
        cb = el.get("transcribeCallback")
        if cb and text:
            self.post(
                self._path(cb, current),
                {"TranscriptionText": text, "TranscriptionStatus": "completed", "RecordingUrl": rec},
            )
        return nxt, action

    def _dial(self, el: ET.Element, current: str, answer: Answer, said: list[str]) -> tuple[str | None, str]:
        self.out(f"  [接通 {''.join(el.itertext())}]")
        return None, current

    def _hang_up(self, el: ET.Element, current: str, answer: Answer, said: list[str]) -> tuple[str | None, str]:
        self.out("  [挂机]")
        return None, current


# The verbs after which Twilio reads no further in a document: each leads to the next one, or ends the call.
_LAST_VERBS: dict[str, Callable[[CallSimulator, ET.Element, str, Answer, list[str]], tuple[str | None, str]]] = {
    "Redirect": CallSimulator._redirect,
    "Enqueue": CallSimulator._enqueue,
    "Record": CallSimulator._record,
    "Dial": CallSimulator._dial,
    "Hangup": CallSimulator._hang_up,
    "Leave": CallSimulator._hang_up,
    "Reject": CallSimulator._hang_up,
}


def http_transport(base: str, timeout: float = 20.0) -> Transport:
    client = httpx.Client(base_url=base.rstrip("/"), timeout=timeout)

    def send(path: str, params: dict[str, str], headers: dict[str, str]) -> tuple[int, str]:
        r = client.post(path, data=params, headers=headers)
        return r.status_code, r.text

    return send


def _ask(kind: str, attrs: dict[str, str]) -> str | None:
    if kind == "speech":
        return typer.prompt("  你说（直接回车 = 沉默）", default="", show_default=False) or None
    if kind == "dtmf":
        end = attrs.get("finishOnKey")
        hint = f"按键，以{end}结束" if end else "按键"
        return (typer.prompt(f"  {hint}（直接回车 = 不按）", default="", show_default=False) or "").rstrip("#") or None
    if kind == "record":
        return typer.prompt("  留言内容（提示音后说话）", default="", show_default=False) or None
    if kind == "queue":
        ok = typer.confirm("  有坐席接听吗？", default=False)
        return "bridged" if ok else "leave"
    return None


@app.command("simulate")
def simulate(
    to: str = typer.Option(
        None, "--to", help="Server to call (default: the running demo's URL, else HOTLINE_PUBLIC_BASE_URL)."
    ),
    from_: str = typer.Option("+8613800138000", "--from", help="Caller's number."),
    public_url: str = typer.Option(
        None, "--public-url", help="Base URL Twilio signs (default: HOTLINE_PUBLIC_BASE_URL if set, else --to)."
    ),
    start: str = typer.Option("/twilio/voice", "--start", help="First webhook path."),
) -> None:
    """Call the hotline from the terminal: prompts are printed, you type digits or "speech"."""
    from hotline.cli_demo import read_state, state_path

    s, public_base_url = telephony_settings(), intake_settings().public_base_url
    demo = read_state()  # what `hotline demo` (make run) left: its URL and the Twilio token it checks with
    token = s.twilio_auth_token or demo.get("twilio_auth_token")
    if not token:
        typer.echo(
            f"HOTLINE_TWILIO_AUTH_TOKEN is not set (and no demo has run here: {state_path()}): "
            "the server would refuse unsigned webhooks.",
            err=True,
        )
        raise typer.Exit(2)
    server = to or demo.get("base_url") or public_base_url
    # The server checks the signature against HOTLINE_PUBLIC_BASE_URL when that is set, else against the
    # address it was called on (intake.telephony.security.public_url): sign for the same one.
    signed_for = public_url or (public_base_url if public_base_url_is_set() else server)
    sim = CallSimulator(
        http_transport(server),
        signed_for,
        token,
        from_number=from_,
        account_sid=s.twilio_account_sid or "AC" + "0" * 32,
        out=typer.echo,
        pause_scale=1.0,
    )
    typer.echo(f"来电 {from_} → {server}{start}  (CallSid {sim.call_sid})")
    sim.run(_ask, start=start)
    lat = sorted(sim.latencies_ms)
    typer.echo(f"通话结束：{len(lat)} 个 webhook，最慢 {lat[-1]:.0f} ms" if lat else "通话结束")
