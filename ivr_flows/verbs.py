"""What a call step asks the carrier to do, without naming a carrier. The telephony adapter renders
these to TwiML; another vendor's adapter could render them to its own markup."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class Say:
    text: str
    audio: str | None = None  # a recorded prompt's file name; played instead when recordings are configured


@dataclass(frozen=True)
class Gather:
    input: str  # "dtmf" | "speech"
    action: str
    prompts: list[Say] = field(default_factory=list)
    num_digits: int | None = None
    finish_on_key: str | None = None
    timeout: int = 6
    hints: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Redirect:
    url: str


@dataclass(frozen=True)
class Enqueue:
    queue: str
    wait_url: str
    action: str


@dataclass(frozen=True)
class Record:
    action: str
    max_length: int = 120
    transcribe_callback: str | None = None


@dataclass(frozen=True)
class Dial:
    number: str
    caller_id: str | None = None
    action: str | None = None


@dataclass(frozen=True)
class Play:
    url: str
    loop: int = 1


@dataclass(frozen=True)
class Pause:
    seconds: int = 1


@dataclass(frozen=True)
class Hangup:
    pass


@dataclass(frozen=True)
class Leave:
    pass


Verb = Say | Gather | Redirect | Enqueue | Record | Dial | Play | Pause | Hangup | Leave


class Renderer(Protocol):
    """Turns a step's verbs into the carrier's markup (TwiML for Twilio)."""

    def render(self, verbs: list[Verb]) -> str: ...
