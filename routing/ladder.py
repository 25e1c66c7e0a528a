"""The escalation ladder a running process uses: the YAML file (HOTLINE_ESCALATION_LADDER_PATH, else the
shipped routing/data/escalation.yaml), parsed by `routing.escalation.parse_ladder` and reloaded when the
file changes (the one refresh policy, `cases.providers.Refreshing`, every HOTLINE_ROUTING_REFRESH_SECONDS;
a refused edit is logged and the ladder in use kept)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import yaml

from cases import providers
from routing.escalation import Ladder, LadderError, parse_ladder
from routing.settings import escalation_settings, routing_settings

SHIPPED = Path(__file__).parent / "data" / "escalation.yaml"


def ladder_path() -> Path:
    return escalation_settings().escalation_ladder_path or SHIPPED


def load_ladder(path: Path | None = None) -> Ladder:
    """The ladder of a file, or LadderError naming the file and what is wrong."""
    path = path or ladder_path()
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise LadderError(f"{path}: cannot read the escalation ladder ({exc.strerror or exc})") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise LadderError(f"{path}: not valid YAML ({exc})") from None
    return parse_ladder(data, str(path))


def _digest() -> str | None:
    path = ladder_path()
    try:
        return hashlib.sha256(str(path).encode() + b"\0" + path.read_bytes()).hexdigest()
    except OSError:
        return None  # gone for a moment (an editor saving): keep the ladder in use


LADDER = providers.Key(
    "escalation ladder",
    lambda: providers.Refreshing(
        "escalation ladder", load_ladder, _digest, lambda: routing_settings().routing_refresh_seconds
    ),
)


def current_ladder() -> Ladder:
    """The ladder of this process (the first call raises LadderError for a bad file)."""
    return providers.get(LADDER).get()
