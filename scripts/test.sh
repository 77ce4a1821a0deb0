#!/usr/bin/env bash
# Installs what is missing, builds everything and runs every test (the README's test command).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install_deps.sh
# The Python module too (its pytest suite is the ctest test "python"), for Debian's python3: a
# python3 earlier on PATH (pyenv, a venv) may lack numpy, pybind11's headers or pytest.
scripts/build.sh -DATTEND_BUILD_TESTS=ON -DATTEND_BUILD_BENCH=ON -DATTEND_PYTHON=ON \
  -DPython_EXECUTABLE=/usr/bin/python3
# Spinning OpenMP workers starve each other on a shared 2-core machine.
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
cd build
ctest --output-on-failure -j"$(nproc)" --timeout 600
