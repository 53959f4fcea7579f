#!/usr/bin/env bash
# The README's main job: the whole interaction loop (Algorithm 1) in the simulated arena
# under ROS -- every node, one launch file -- then evaluation on held-out scenes and a
# Markdown report with plots.
#
#   scripts/run_loop.sh [INTERACTIONS]        (default 500; 20-35 min on 2 cores)
#
# Environment: RUN_DIR (default results/loop; an existing run is continued, so a longer
# budget is one argument away), PRESET (default), SEED (0), EVAL_PER_BACKGROUND (5).
# Adapting in place: INIT=FILE (or INIT=shipped) starts from a model instead of the passive
# bootstrap; ENVIRONMENT=DIR (objects/ and surfaces/) is the table the robot learns at, and
# the report scores held-out scenes of it beside the standard test split; OBJECT_SCALE
# (metres per file unit, default 1) and OBJECT_UP (z or y) say how to read its object files.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$ROOT/scripts/setup.sh"
cd "$ROOT"
set +u; source scripts/env.sh; set -u

INTERACTIONS="${1:-${INTERACTIONS:-500}}"
RUN_DIR="$(realpath -m "${RUN_DIR:-$ROOT/results/loop}")"
PRESET="${PRESET:-default}"
SEED="${SEED:-0}"
EVAL_PER_BACKGROUND="${EVAL_PER_BACKGROUND:-5}"
PY="$ROOT/.venv/bin/python"
INIT="${INIT:-}"
ENVIRONMENT="${ENVIRONMENT:-}"
OBJECT_SCALE="${OBJECT_SCALE:-1}"
OBJECT_UP="${OBJECT_UP:-z}"
if [ "$INIT" = shipped ]; then
  INIT=$("$PY" -c 'from seg_by_interaction.perception.shipped import shipped_model; print(shipped_model())')
fi
STANDARD_PRESET="$PRESET"
if [ -n "$ENVIRONMENT" ]; then          # the user's table: a preset showing only its objects and surfaces
  mkdir -p "$RUN_DIR"
  PRESET=$("$PY" -m seg_by_interaction environment "$ENVIRONMENT" --base "$PRESET" \
    --object-scale "$OBJECT_SCALE" --up "$OBJECT_UP" --out "$RUN_DIR/environment.yaml" | tail -n1)
fi
echo "[main] run folder: $RUN_DIR  (interactions: $INTERACTIONS, preset: $PRESET, seed: $SEED${INIT:+, init: $INIT})"
# The arguments checked and the run folder claimed for this script's lifetime, before any
# work: a second run_loop.sh (or launch) on the same folder is refused here.
"$PY" -m seg_by_interaction.ros.preflight --preset "$PRESET" --data-dir "$RUN_DIR" \
  --interactions "$INTERACTIONS" --lock --owner-pid $$ --init "$INIT" >/dev/null

# Steps 1 and 2 side by side: rendering the held-out sets and collecting the bootstrap are
# one core's work each (a fresh clone renders the sets once; later runs reuse them).
echo "[main] 1/4 held-out test scenes and the out-of-arena set (rendered once, then reused), beside step 2"
mkdir -p "$RUN_DIR"
SETS_LOG="$RUN_DIR/eval_sets.log"
STARTED=$(date +%s)
render_sets() {   # each renderer a job of its own, so that a TERM (below) reaches it
  trap 'kill $(jobs -p) 2>/dev/null; exit 143' TERM
  "$PY" -m seg_by_interaction --preset "$STANDARD_PRESET" eval-set --out "$ROOT/results/eval_sets" \
    --split test --per-background "$EVAL_PER_BACKGROUND" > "$RUN_DIR/.eval_json" & wait $! || return 1
  "$PY" -m seg_by_interaction --preset "$STANDARD_PRESET" eval-set --out "$ROOT/results/eval_sets" \
    --out-of-arena > "$RUN_DIR/.ooa_json" & wait $! || return 1
  if [ -n "$ENVIRONMENT" ]; then        # held-out scenes of the user's table: new placements and views
    "$PY" -m seg_by_interaction --preset "$PRESET" eval-set --out "$RUN_DIR/eval_sets" \
      --split train --objects train --seed 777 --per-background "$EVAL_PER_BACKGROUND" \
      > "$RUN_DIR/.env_json" & wait $! || return 1
  fi
}
render_sets 2> "$SETS_LOG" &
SETS_PID=$!
# on any exit before the sets are done (a failed bootstrap, Ctrl-C) the renderers stop too
trap 'kill "$SETS_PID" 2>/dev/null || true' EXIT

if [ -n "$INIT" ]; then
  echo "[main] 2/4 starting from a model: $INIT is the run's model v1 (no pre-training); the"
  echo "       standard arena's passive bootstrap is collected as a rehearsal set (training.replay.passive)"
  "$PY" -m seg_by_interaction --preset "$STANDARD_PRESET" bootstrap --data-dir "$RUN_DIR" --seed "$SEED"
else
  echo "[main] 2/4 passive bootstrap: masks from watching random pushes, pre-training v1 (paper 4.3)"
  "$PY" -m seg_by_interaction --preset "$PRESET" bootstrap --data-dir "$RUN_DIR" --seed "$SEED"
fi
if ! wait "$SETS_PID"; then
  echo "[main] rendering the held-out sets failed ($SETS_LOG):" >&2
  tail -n 20 "$SETS_LOG" >&2
  exit 1
fi
trap - EXIT
EVAL_JSON=$(tail -n1 "$RUN_DIR/.eval_json")
OOA_JSON=$(tail -n1 "$RUN_DIR/.ooa_json")
ENV_ARGS=()
if [ -n "$ENVIRONMENT" ]; then
  ENV_ARGS=(--env-json "$(tail -n1 "$RUN_DIR/.env_json")")
fi
# the run's sets by name, for `python -m seg_by_interaction progress --data-dir RUN_DIR`
"$PY" -c 'import json, sys; print(json.dumps({k: v for k, v in zip(sys.argv[1::2], sys.argv[2::2]) if v}))' \
  test "$EVAL_JSON" out_of_arena "$OOA_JSON" environment "${ENV_ARGS[1]:-}" > "$RUN_DIR/eval_sets.json"
SETS_READY=$(date +%s)
if [ -z "$INIT" ]; then                 # the examples are in the store: this pre-trains only
  "$PY" -m seg_by_interaction --preset "$PRESET" bootstrap --data-dir "$RUN_DIR" --seed "$SEED" \
    --pretrain
fi
PRETRAINED=$(date +%s)
STAGES=(--stage-seconds "held-out sets + passive bootstrap (side by side)=$(( SETS_READY - STARTED ))")
if [ -z "$INIT" ]; then
  STAGES+=(--stage-seconds "pre-training v1=$(( PRETRAINED - SETS_READY ))")
fi

echo "[main] 3/4 the interaction loop under ROS (roslaunch seg_by_interaction interaction_loop.launch)"
PORT=$("$PY" -c 'from seg_by_interaction.processes import free_port; print(free_port())')
export ROS_MASTER_URI="http://127.0.0.1:$PORT"
START=$(date +%s)
roslaunch -p "$PORT" seg_by_interaction interaction_loop.launch \
  interactions:="$INTERACTIONS" data_dir:="$RUN_DIR" preset:="$PRESET" seed:="$SEED" \
  record:=true bag:="$RUN_DIR/interactions.bag" init:="$INIT"
LOOP_SECONDS=$(( $(date +%s) - START ))

echo "[main] 4/4 evaluation and report"
# the report names the command that made it, with every setting that differs from the default
COMMAND="scripts/run_loop.sh $INTERACTIONS"
for VAR in SEED:0 EVAL_PER_BACKGROUND:5 OBJECT_SCALE:1 OBJECT_UP:z; do
  NAME=${VAR%%:*}; [ "${!NAME}" = "${VAR#*:}" ] || COMMAND="$NAME=${!NAME} $COMMAND"
done
[ "$STANDARD_PRESET" = default ] || COMMAND="PRESET=$STANDARD_PRESET $COMMAND"
COMMAND="${INIT:+INIT=$INIT }${ENVIRONMENT:+ENVIRONMENT=$ENVIRONMENT }$COMMAND"
"$PY" -m seg_by_interaction --preset "$PRESET" report --data-dir "$RUN_DIR" \
  --eval-json "$EVAL_JSON" --ooa-json "$OOA_JSON" "${ENV_ARGS[@]}" --out "$RUN_DIR/report" --seed "$SEED" \
  --loop-seconds "$LOOP_SECONDS" \
  "${STAGES[@]}" \
  --command "$COMMAND"
echo "[main] done: $RUN_DIR/report/report.md"
