#!/usr/bin/env bash
# Installs what is missing, builds attend and runs the main job on the bundled data.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install_deps.sh
scripts/build.sh -DATTEND_BUILD_TESTS=OFF -DATTEND_BUILD_BENCH=OFF
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
./build/attend demo --data data/ETTh1.csv "$@"
