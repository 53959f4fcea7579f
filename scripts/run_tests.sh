#!/usr/bin/env bash
# The README's test command: set up (idempotent), the linter (ruff, ruff.toml), then every
# test against a real roscore. Extra arguments go to pytest (e.g. -k arena, -x).
# The tests run in SBI_TEST_WORKERS processes (pytest-xdist; default 2, 0 = one process):
# most of them use one core (torch_threads: 1) or wait on ROS, so two share 2 cores well.
# Each worker has its own roscore on its own port (test/conftest.py).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$ROOT/scripts/setup.sh"
cd "$ROOT"
set +u; source scripts/env.sh; set -u
echo "[tests] ruff check (ruff.toml)"
.venv/bin/ruff check . || { echo "[tests] the linter found problems (fix them, or run .venv/bin/ruff check --fix .)"; exit 1; }
set +e
WORKERS="${SBI_TEST_WORKERS:-2}"
case "$WORKERS" in ''|*[!0-9]*) echo "[tests] SBI_TEST_WORKERS must be a whole number, got '$WORKERS'" >&2; exit 2;; esac
.venv/bin/python -m pytest -n "$WORKERS" --dist worksteal "$@"
rc=$?
set -e
if [ "$rc" = 5 ]; then echo "[tests] pytest collected no tests: that is a failure here"; exit 1; fi
exit "$rc"
