#!/usr/bin/env bash
# Creates .venv and installs the project into it: `scripts/setup.sh run` (what `make run` needs) or
# `scripts/setup.sh dev` (plus the test and lint tools, for `make test`).
#
# Why it looks like this (docs/benchmarks.md, "First hour"): pip took most of a newcomer's first
# `make run`. uv (from PyPI, one wheel) resolves and installs in parallel; wheels only, so nothing is
# compiled on the newcomer's machine — the one exception is jieba, which PyPI has only as a source
# archive of pure Python (building it copies files, no compiler). If uv cannot be installed (no PyPI,
# only a local mirror pip is configured for), pip does the same work, slower.
set -euo pipefail

what="${1:-run}"
PYTHON="${PYTHON:-python3.11}"
VENV="${VENV:-.venv}"
case "$what" in
  run) spec="-e ." ;;
  dev) spec="-e .[dev]" ;;
  *) echo "usage: $0 run|dev" >&2; exit 2 ;;
esac

t0=$(date +%s)
step() { echo "==> [$(( $(date +%s) - t0 ))s] $*"; }

if [ ! -x "$VENV/bin/python" ]; then
  step "creating $VENV with $PYTHON"
  "$PYTHON" -m venv "$VENV"
fi

if [ ! -x "$VENV/bin/uv" ]; then
  step "installing uv (the installer) into $VENV"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-warn-script-location \
    --only-binary :all: uv 2>/dev/null \
    || step "uv is not available here: installing with pip instead (slower)"
fi

if [ -x "$VENV/bin/uv" ]; then
  # uv reads no pip.conf: a mirror configured for pip (PIP_INDEX_URL, PIP_EXTRA_INDEX_URL) is passed on.
  if [ -n "${PIP_INDEX_URL:-}" ] && [ -z "${UV_DEFAULT_INDEX:-}${UV_INDEX_URL:-}" ]; then
    export UV_DEFAULT_INDEX="$PIP_INDEX_URL"
  fi
  if [ -n "${PIP_EXTRA_INDEX_URL:-}" ] && [ -z "${UV_INDEX:-}${UV_EXTRA_INDEX_URL:-}" ]; then
    export UV_INDEX="$PIP_EXTRA_INDEX_URL"
  fi
  step "installing the hotline ($what) with uv: wheels only"
  # No --compile-bytecode (pip's habit): it took the install from 16 s to 38 s and the demo's first start
  # was no faster within the noise of this machine (docs/benchmarks.md, "First hour").
  # shellcheck disable=SC2086  # $spec is two words on purpose
  "$VENV/bin/uv" pip install --python "$VENV/bin/python" --only-binary :all: --no-binary jieba $spec
else
  step "installing the hotline ($what) with pip: wheels only"
  # shellcheck disable=SC2086
  "$VENV/bin/python" -m pip install --disable-pip-version-check --progress-bar off \
    --only-binary :all: --no-binary jieba $spec
fi
step "done"
