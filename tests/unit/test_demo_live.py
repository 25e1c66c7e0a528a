"""`make run` as a newcomer meets it: `hotline demo` on the port HOTLINE_PORT names, in a 60-column
terminal, then `hotline call simulate` from a second terminal with nothing exported — the call is
signed with the token the demo left in its state file and the server accepts every webhook."""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from rich.cells import cell_len

from tests.conftest import free_port

REPO = Path(__file__).resolve().parents[2]
HOTLINE = [sys.executable, "-m", "hotline.cli"]

pytestmark = pytest.mark.slow


def _lines(proc: subprocess.Popen[str]) -> queue.Queue[str]:
    lines: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.put(line.rstrip("\n"))

    threading.Thread(target=pump, daemon=True).start()
    return lines


def _until(lines: queue.Queue[str], proc: subprocess.Popen[str], marker: str, seconds: float) -> list[str]:
    seen: list[str] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=0.5)
        except queue.Empty:
            if proc.poll() is not None:
                break
            continue
        seen.append(line)
        if marker in line:
            return seen
    raise AssertionError(f"no {marker!r} from the demo:\n" + "\n".join(seen))


def test_demo_serves_on_the_port_setting_and_the_simulator_calls_it_out_of_the_box(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_")}
    env |= {
        "HOTLINE_DATABASE_URL": f"sqlite:///{tmp_path / 'demo.db'}",
        "HOTLINE_VAR_DIR": str(tmp_path / "var"),
        "HOTLINE_PORT": str(port),
        "HOTLINE_LOG_LEVEL": "WARNING",
        "COLUMNS": "60",
        "PYTHONPATH": str(REPO),
    }
    demo = subprocess.Popen(
        [*HOTLINE, "demo"], cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    try:
        out = _until(_lines(demo), demo, "Press Ctrl-C", 180)
        assert any(f"serving on http://127.0.0.1:{port}" in line for line in out), out
        table = out[out.index(next(line for line in out if "serving on" in line)) + 1 :]
        cases = [line for line in table if line.startswith("12319-")]
        assert len(cases) == 5, out  # the list form: one block per case, its number first
        wide = [line for line in table if cell_len(line) > 60 and "http" not in line and "/demo.json" not in line]
        assert not wide, wide  # only lines with a URL or path may be longer (the terminal wraps those)

        call = subprocess.run(
            [*HOTLINE, "call", "simulate"],
            cwd=tmp_path,
            env={k: v for k, v in env.items() if k != "HOTLINE_PORT"},  # the demo's URL comes from its file
            input="1\n东门菜市场门口垃圾堆了好几天没人清理\n" + "\n" * 20,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert call.returncode == 0, call.stdout + call.stderr
        assert f"http://127.0.0.1:{port}/twilio/voice" in call.stdout
        assert "通话结束" in call.stdout and "IVR:" in call.stdout
    finally:
        demo.terminate()
        demo.wait(timeout=20)
