#!/usr/bin/env bash
# Runs the ARS-linear peer one process at a time, task by task, with each task's budget of training env
# steps and seeds (issue 28):
#   Swimmer-v5 and Hopper-v5: 5M, seeds 0-4;  Walker2d-v5: 20M, seeds 0-2;
#   Ant-v5: 25M, seeds 0-2;  HalfCheetah-v5: 25M, seeds 0-2.
# A (task, seed) whose <results>/<task>-s<seed>.json exists is skipped and an interrupted one resumes from
# its last checkpoint (for the same budget), so rerunning this script continues the loop. Last, results
# written before best_test existed are completed by an identical rerun (--backfill).
#
# Environment variables (defaults: the folders beside this script; a relative path is taken from the
# folder the script is started in):
#   PEERS_PYTHON   the peers' venv python (default ../peers-venv/bin/python beside the checkout)
#   ARS_RESULTS    finished results (.json, .npz)          default results/
#   ARS_CHECKPOINTS resumable state                        default checkpoints/
#   ARS_LOGS       one log per (task, seed)                 default logs/
#   ARS_LEDGER     every process started                    default ledger.jsonl
#   ARS_TASKS      the tasks to run, in order               default "Swimmer-v5 Hopper-v5 Walker2d-v5 Ant-v5 HalfCheetah-v5"
#   ARS_BUDGET, ARS_SEEDS  one budget and seed list for every task instead of the above (smoke tests)
# A second loop must not run on the same folders at the same time (two processes would train one seed).
# Start it in the background from the repository root:
#   nice -n 10 nohup bash benchmarks/peers/run_all.sh > benchmarks/peers/logs/run_all.log 2>&1 &
set -u
absolute() { case "$1" in /*) echo "$1" ;; *) echo "$PWD/$1" ;; esac; }
HERE=$(cd "$(dirname "$0")" && pwd)
PY=$(absolute "${PEERS_PYTHON:-$HERE/../../../peers-venv/bin/python}")  # the peers venv beside the checkout
RESULTS=$(absolute "${ARS_RESULTS:-$HERE/results}")
CHECKPOINTS=$(absolute "${ARS_CHECKPOINTS:-$HERE/checkpoints}")
LOGS=$(absolute "${ARS_LOGS:-$HERE/logs}")
LEDGER=$(absolute "${ARS_LEDGER:-$HERE/ledger.jsonl}")
TASKS=${ARS_TASKS:-Swimmer-v5 Hopper-v5 Walker2d-v5 Ant-v5 HalfCheetah-v5}
cd "$HERE"

budget_of() {  # training env steps per task
  if [ -n "${ARS_BUDGET:-}" ]; then echo "$ARS_BUDGET"; return 0; fi
  case "$1" in
    Swimmer-v5 | Hopper-v5) echo 5000000 ;;
    Walker2d-v5) echo 20000000 ;;
    Ant-v5 | HalfCheetah-v5) echo 25000000 ;;
    *) echo "run_all.sh: no budget for task $1; add it to budget_of" >&2; return 1 ;;
  esac
}
seeds_of() {
  if [ -n "${ARS_SEEDS:-}" ]; then echo "$ARS_SEEDS"; return 0; fi
  case "$1" in
    Swimmer-v5 | Hopper-v5) echo 0 1 2 3 4 ;;
    *) echo 0 1 2 ;;
  esac
}

for task in $TASKS; do  # check every task before the first run starts
  budget_of "$task" > /dev/null || exit 2
done
mkdir -p "$LOGS" "$RESULTS" "$CHECKPOINTS" "$(dirname "$LEDGER")"
for task in $TASKS; do
  budget=$(budget_of "$task")
  for seed in $(seeds_of "$task"); do
    if [ -e "${RESULTS}/${task}-s${seed}.json" ]; then
      echo "skip ${task} seed ${seed}: result exists"
      continue
    fi
    echo "$(date -u +%FT%TZ) start ${task} seed ${seed}, budget ${budget}"
    "$PY" ars_linear.py "$task" --seed "$seed" --budget "$budget" --out "$RESULTS" \
      --checkpoints "$CHECKPOINTS" --ledger "$LEDGER" >> "${LOGS}/${task}-s${seed}.log" 2>&1
    rc=$?
    echo "$(date -u +%FT%TZ) end ${task} seed ${seed}: exit ${rc}"
  done
done
for task in $TASKS; do
  for seed in $(seeds_of "$task"); do
    if [ -e "${RESULTS}/${task}-s${seed}.json" ] && ! grep -q '"best_test"' "${RESULTS}/${task}-s${seed}.json"; then
      echo "$(date -u +%FT%TZ) backfill ${task} seed ${seed}"
      "$PY" ars_linear.py "$task" --seed "$seed" --backfill --out "$RESULTS" --checkpoints "$CHECKPOINTS" \
        --ledger "$LEDGER" >> "${LOGS}/${task}-s${seed}-backfill.log" 2>&1
      rc=$?
      echo "$(date -u +%FT%TZ) end backfill ${task} seed ${seed}: exit ${rc}"
    fi
  done
done
