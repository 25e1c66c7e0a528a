"""A newcomer's first `make run`: from a fresh clone to the demo's cases on screen, for a baseline ref and
for the working tree's branch, interleaved in one run so both see the same machine load.

Each round clones both refs into a scratch folder, then for each: the install step `make run` runs (the
`setup-run` target where the Makefile has one, else `setup`), timed, with cold caches (PIP_NO_CACHE_DIR,
a fresh UV_CACHE_DIR); then the demo's first start, `hotline demo --exit` on a free port with a fresh
database (migrate, seed, load the model, five reports to cases), timed. Figures are medians, and the
branch's as a ratio of the baseline's.

    python bench/first_hour.py                         # baseline main, branch = this checkout's HEAD
    python bench/first_hour.py --baseline 75d3352 --rounds 3
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _timed(cmd: list[str], cwd: Path, env: dict[str, str], log: Path) -> float:
    t0 = time.perf_counter()
    with log.open("w") as out:
        subprocess.run(cmd, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, check=True, timeout=1200)
    return time.perf_counter() - t0


def first_run(ref: str, scratch: Path) -> tuple[float, float]:
    """(install seconds, demo first-start seconds) of a fresh clone of `ref`."""
    work = scratch / "clone"
    subprocess.run(["git", "clone", "-q", str(REPO), str(work)], check=True)
    subprocess.run(["git", "-C", str(work), "checkout", "-q", ref], check=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HOTLINE_", "VIRTUAL_ENV"))}
    env |= {"PIP_NO_CACHE_DIR": "1", "UV_CACHE_DIR": str(scratch / "uv-cache")}
    target = "setup-run" if "setup-run:" in (work / "Makefile").read_text() else "setup"
    install = _timed(["make", target], work, env, scratch / "install.log")
    port = str(_free_port())
    demo = _timed([".venv/bin/hotline", "demo", "--port", port, "--exit"], work, env, scratch / "demo.log")
    return install, demo


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--baseline", default="main")
    ap.add_argument("--branch", default="HEAD")
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    refs = {
        name: subprocess.run(
            ["git", "-C", str(REPO), "rev-parse", "--short", ref], capture_output=True, text=True
        ).stdout.strip()
        for name, ref in (("baseline", args.baseline), ("branch", args.branch))
    }
    runs: dict[str, list[tuple[float, float]]] = {"baseline": [], "branch": []}
    for i in range(args.rounds):
        for name, ref in refs.items():
            with tempfile.TemporaryDirectory(prefix=f"first-hour-{name}-") as tmp:
                runs[name].append(first_run(ref, Path(tmp)))
            install, demo = runs[name][-1]
            print(f"round {i + 1} {name} {ref}: install {install:.1f} s, demo {demo:.1f} s", flush=True)
    med = {n: (statistics.median(r[0] for r in rs), statistics.median(r[1] for r in rs)) for n, rs in runs.items()}
    load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    print(f"\nmedians of {args.rounds} rounds, load average at the end {load}")
    print("| | install | demo's first start | `make run` to cases on screen |")
    print("|---|---|---|---|")
    for name in ("baseline", "branch"):
        install, demo = med[name]
        ratio = (install + demo) / sum(med["baseline"])
        print(f"| {name} `{refs[name]}` | {install:.1f} s | {demo:.1f} s | {install + demo:.1f} s ({ratio:.2f}×) |")


if __name__ == "__main__":
    main()
