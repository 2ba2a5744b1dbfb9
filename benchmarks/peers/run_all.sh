#!/usr/bin/env bash
# Runs the ARS-linear peer one process at a time: Swimmer-v5 seeds 0-4, then Hopper-v5 seeds 0-4,
# 5M training env steps each. A (task, seed) whose results/<task>-s<seed>.json exists is skipped and
# an interrupted one resumes from its last checkpoint, so rerunning this script continues the loop.
# Last, results written before best_test existed are completed by an identical rerun (--backfill).
# Start it in the background from the repository root:
#   nice -n 10 nohup bash benchmarks/peers/run_all.sh > benchmarks/peers/logs/run_all.log 2>&1 &
set -u
cd "$(dirname "$0")"
PY=${PEERS_PYTHON:-../../../peers-venv/bin/python}  # the peers venv beside the checkout
BUDGET=${BUDGET:-5000000}
mkdir -p logs results
for task in Swimmer-v5 Hopper-v5; do
  for seed in 0 1 2 3 4; do
    if [ -e "results/${task}-s${seed}.json" ]; then
      echo "skip ${task} seed ${seed}: result exists"
      continue
    fi
    echo "$(date -u +%FT%TZ) start ${task} seed ${seed}"
    "$PY" ars_linear.py "$task" --seed "$seed" --budget "$BUDGET" >> "logs/${task}-s${seed}.log" 2>&1
    rc=$?
    echo "$(date -u +%FT%TZ) end ${task} seed ${seed}: exit ${rc}"
  done
done
for task in Swimmer-v5 Hopper-v5; do
  for seed in 0 1 2 3 4; do
    if [ -e "results/${task}-s${seed}.json" ] && ! grep -q '"best_test"' "results/${task}-s${seed}.json"; then
      echo "$(date -u +%FT%TZ) backfill ${task} seed ${seed}"
      "$PY" ars_linear.py "$task" --seed "$seed" --backfill >> "logs/${task}-s${seed}-backfill.log" 2>&1
      rc=$?
      echo "$(date -u +%FT%TZ) end backfill ${task} seed ${seed}: exit ${rc}"
    fi
  done
done
