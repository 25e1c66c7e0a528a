#!/usr/bin/env bash
# The whole suite: unit, integration (real PostgreSQL + Redis), slow and browser tests.
# pytest's exit 5 ("no tests collected") is a failure here, never a pass.
set -uo pipefail
.venv/bin/pytest "$@"
rc=$?
if [ "$rc" -eq 5 ]; then
  echo "pytest collected no tests: failing" >&2
  exit 1
fi
exit "$rc"
