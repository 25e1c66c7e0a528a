"""Two `hotline serve` nodes behind one nginx port, on one machine: what docs/operations.md's "Scaling"
describes, run for real.

    HOTLINE_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/hotline_two \\
    HOTLINE_REDIS_URL=redis://127.0.0.1:6379/0 \\
    .venv/bin/python scripts/two_nodes.py [--reports 40]

Starts a `hotline worker`, two `hotline serve` on free ports and nginx (from PATH: Debian's `nginx`
package) on a third with deploy/nginx/hotline.conf's proxy settings, then posts reports through nginx and
checks that every one landed exactly once (its retry, sent again through nginx, gets the same report
back; every report becomes a case) and that both nodes served (nginx's X-Upstream header on every
answer). Prints what it found; exit status 0 when everything held. (That the nodes share rate limits and
sessions through Redis and PostgreSQL is tested in tests/integration/test_fleet.py.)
The database is upgraded first; use a scratch one, the script adds rows.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent

NGINX_CONF = """
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/nginx-error.log warn;
events {{ worker_connections 256; }}
http {{
    access_log {dir}/nginx-access.log;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    upstream hotline_web {{
        server 127.0.0.1:{a};
        server 127.0.0.1:{b};
        keepalive 8;
    }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://hotline_web;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_set_header X-Request-ID $request_id;
            add_header X-Upstream $upstream_addr always;
        }}
    }}
}}
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(url: str, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise SystemExit(f"{url} did not answer within {timeout:.0f} s")


def hotline(*args: str, env: dict[str, str]) -> str:
    done = subprocess.run([str(BIN / "hotline"), *args], env=env, capture_output=True, text=True, check=True)
    return done.stdout


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reports", type=int, default=40)
    args = parser.parse_args()
    nginx = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin")
    if nginx is None:
        print("nginx is not installed (Debian: apt-get install nginx-light); nothing was started", file=sys.stderr)
        return 2
    for name in ("HOTLINE_DATABASE_URL", "HOTLINE_REDIS_URL"):
        if not os.environ.get(name):
            print(f"{name} must be set (PostgreSQL and Redis: several nodes share them)", file=sys.stderr)
            return 2
    work = Path(tempfile.mkdtemp(prefix="hotline-two-nodes-"))
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "HOTLINE_VAR_DIR": str(work / "var"),
        "HOTLINE_QUEUE_NAME": f"two-nodes-{uuid.uuid4().hex[:6]}",
        "HOTLINE_SECRET_KEY": os.environ.get("HOTLINE_SECRET_KEY", uuid.uuid4().hex),  # the same on both nodes
    }
    hotline("db", "upgrade", env=env)
    key = hotline("apikeys", "create", "two-nodes", "--scope", "intake", "--scope", "read", env=env).splitlines()[-1]
    a, b, port = free_port(), free_port(), free_port()
    procs: list[subprocess.Popen[bytes]] = []

    def start(cmd: list[str], log: str) -> None:
        procs.append(subprocess.Popen(cmd, env=env, stdout=(work / log).open("wb"), stderr=subprocess.STDOUT))

    try:
        start([str(BIN / "hotline"), "worker"], "worker.log")
        for p, log in ((a, "node-a.log"), (b, "node-b.log")):
            start([str(BIN / "hotline"), "serve", "--port", str(p), "--workers", "1"], log)
        (work / "nginx.conf").write_text(NGINX_CONF.format(dir=work, a=a, b=b, port=port))
        start([nginx, "-p", str(work), "-c", str(work / "nginx.conf"), "-g", "daemon off;"], "nginx.log")
        for p in (a, b):
            wait_for(f"http://127.0.0.1:{p}/healthz")
        base = f"http://127.0.0.1:{port}"
        wait_for(f"{base}/healthz")
        return check(base, key, args.reports, env)
    finally:
        for proc in reversed(procs):
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
        print(f"logs in {work}")


def check(base: str, key: str, n: int, env: dict[str, str]) -> int:
    run = uuid.uuid4().hex[:8]
    served: Counter[str] = Counter()
    ids: dict[str, int] = {}
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=30) as client:
        for i in range(n):
            body = {"channel": "api", "external_id": f"{run}-{i}", "text": "东门菜市场门口暴露垃圾没人清理"}
            first = client.post("/api/v1/reports", json=body)
            again = client.post("/api/v1/reports", json=body)  # a retry, likely on the other node
            served[first.headers.get("X-Upstream", "?")] += 1
            served[again.headers.get("X-Upstream", "?")] += 1
            if first.status_code != 202 or again.json().get("report_id") != first.json().get("report_id"):
                print(f"report {i}: {first.status_code} {first.text[:200]} / {again.status_code}")
                return 1
            ids[body["external_id"]] = first.json()["report_id"]
        deadline = time.monotonic() + 120
        pending = set(ids.values())
        while pending and time.monotonic() < deadline:
            for rid in list(pending):
                if client.get(f"/api/v1/reports/{rid}").json().get("case_number"):
                    pending.discard(rid)
            time.sleep(0.5)
    ok = len(set(ids.values())) == n and not pending and len([u for u in served if u != "?"]) >= 2
    print(f"{n} reports posted twice each through nginx; {n - len(pending)} became cases; served by {dict(served)}")
    print("every report landed once and both nodes served" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
