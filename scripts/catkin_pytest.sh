#!/usr/bin/env bash
# What `catkin_make run_tests` runs (CMakeLists.txt): the pytest suite, as scripts/run_tests.sh
# without its setup step (the workspace is being built already), junit XML to $1 for
# catkin_test_results. SBI_PYTEST_ARGS replaces the default selection (the whole test/ dir),
# e.g. SBI_PYTEST_ARGS="test/test_layers.py -q" catkin_make run_tests
set -eo pipefail
results="$1"
shift
# the physical repo: catkin calls this through .catkin_ws/src/seg_by_interaction's links
ROOT="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
cd "$ROOT"
source scripts/env.sh
# shellcheck disable=SC2086  # SBI_PYTEST_ARGS is a list of pytest arguments
exec .venv/bin/python -m pytest --junitxml="$results" ${SBI_PYTEST_ARGS:-} "$@"
