#!/usr/bin/env bash
# Builds the library and every C++ test with AddressSanitizer + UndefinedBehaviorSanitizer (the
# Sanitize build type, -O1) into build-asan/ and runs the whole suite there; any report fails it.
# Not the Python module (ATTEND_PYTHON OFF): python3 would need the ASan runtime preloaded. The
# mpirun tests (tests/mpi) run too, with Open MPI's own leaks suppressed (scripts/lsan.supp).
# .ci/run runs it after the README's test command.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install_deps.sh
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Sanitize -DATTEND_BUILD_TESTS=ON \
  -DATTEND_BUILD_BENCH=OFF -DATTEND_PYTHON=OFF "${launcher[@]}" >/dev/null
cmake --build build-asan -j"$(nproc)"
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
# halt_on_error: the first report fails the test; leaks inside the system's fontconfig (Cairo's
# text) are the library's own caches, not attend's.
export ASAN_OPTIONS=${ASAN_OPTIONS:-halt_on_error=1:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$PWD/scripts/lsan.supp}
cd build-asan
ctest --output-on-failure -j"$(nproc)" --timeout 1200
