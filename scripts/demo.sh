#!/usr/bin/env bash
# The main job: installs what is missing, builds attend, trains and tests a small PatchTST on the
# bundled data/ETTh1.csv (prints MSE/MAE), then forecasts the 96 hours after the data into
# runs/forecast.csv. Extra arguments go to `attend demo` (e.g. --train_epochs 5 --threads 2).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install_deps.sh
scripts/build.sh -DATTEND_BUILD_TESTS=OFF -DATTEND_BUILD_BENCH=OFF
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
mkdir -p runs
./build/attend demo "$@" | tee runs/demo.txt
run=$(sed -n 's/^checkpoint: //p' runs/demo.txt | tail -1)
./build/attend forecast --checkpoint "$run" --input data/ETTh1.csv --output runs/forecast.csv
echo "forecast: runs/forecast.csv ($(($(wc -l < runs/forecast.csv) - 1)) rows)"
