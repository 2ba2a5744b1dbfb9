#!/usr/bin/env bash
# Export the two champions (default graph and one per --target, 200 traced env steps, trace seed 0) and run the
# cross-check in the consumers' venv. Usage: benchmarks/nir_consumers/run.sh [VENV_PYTHON] (default ../nir-venv/bin/python)
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${1:-../nir-venv/bin/python}
OUT=$(mktemp -d)
for champ in hopper-2d-1ep cartpole-2d; do
  python -m spatial_snn.cli export "genomes/$champ.h5" --to "$OUT/$champ.nir" --trace 200
  for t in norse snntorch spyx rockpool; do
    python -m spatial_snn.cli export "genomes/$champ.h5" --to "$OUT/$champ-$t.nir" --trace 200 --target "$t"
  done
done
"$PY" benchmarks/nir_consumers/crosscheck.py "$OUT" --out benchmarks/nir_consumers
rm -r "$OUT"
