#!/usr/bin/env bash
# The README's test command: set up (idempotent), the linter (ruff, ruff.toml), then every
# test against a real roscore. Extra arguments go to pytest (e.g. -k arena, -x).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$ROOT/scripts/setup.sh"
cd "$ROOT"
set +u; source scripts/env.sh; set -u
echo "[tests] ruff check (ruff.toml)"
.venv/bin/ruff check . || { echo "[tests] the linter found problems (fix them, or run .venv/bin/ruff check --fix .)"; exit 1; }
set +e
.venv/bin/python -m pytest "$@"
rc=$?
set -e
if [ "$rc" = 5 ]; then echo "[tests] pytest collected no tests: that is a failure here"; exit 1; fi
exit "$rc"
