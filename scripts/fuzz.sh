#!/usr/bin/env bash
# Fuzzing: builds the libFuzzer targets of fuzz/ (clang-14, ASan + UBSan, build type Fuzz) into
# build-fuzz/ when needed, then runs one target for SECONDS, or each in turn with `all`.
#   scripts/fuzz.sh TARGET|all SECONDS [more libFuzzer flags]
# Targets: csv timestamp safetensors config scaler flags serve_request (fuzz/<target>_fuzz.cpp).
# Each run starts from the seed corpus fuzz/corpus/<target>/ plus the inputs earlier runs kept in
# build-fuzz/corpus/<target>/, and uses fuzz/<target>.dict when there is one. A crash, leak or
# sanitizer report stops the run, leaves the input in build-fuzz/crashes/ and exits non-zero.
set -euo pipefail
cd "$(dirname "$0")/.."
targets=(csv timestamp safetensors config scaler flags serve_request)
if (($# < 2)); then
  echo "usage: scripts/fuzz.sh TARGET|all SECONDS [libFuzzer flags]  (targets: ${targets[*]})" >&2
  exit 2
fi
which=$1 seconds=$2
shift 2
if [[ "$which" != all ]]; then
  [[ " ${targets[*]} " == *" $which "* ]] || { echo "error: unknown target '$which' (${targets[*]})" >&2; exit 2; }
  targets=("$which")
fi

scripts/install_deps.sh --fuzz
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
if [[ ! -f build-fuzz/build.ninja ]]; then
  cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=Fuzz -DCMAKE_CXX_COMPILER=clang++-14 \
    -DATTEND_FUZZ=ON -DATTEND_BUILD_TESTS=OFF -DATTEND_BUILD_BENCH=OFF -DATTEND_PYTHON=OFF -DATTEND_SHARED=OFF \
    "${launcher[@]}" >/dev/null
fi
cmake --build build-fuzz -j"$(nproc)" --target "${targets[@]/%/_fuzz}"

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}
status=0
for t in "${targets[@]}"; do
  mkdir -p "build-fuzz/corpus/$t" build-fuzz/crashes
  dict=()
  [[ -f "fuzz/$t.dict" ]] && dict=(-dict="fuzz/$t.dict")
  log="build-fuzz/$t.log"
  rc=0
  start=$SECONDS
  "build-fuzz/${t}_fuzz" "build-fuzz/corpus/$t" "fuzz/corpus/$t" "${dict[@]}" \
    -max_total_time="$seconds" -timeout=10 -print_final_stats=1 \
    -artifact_prefix="build-fuzz/crashes/$t-" "$@" >"$log" 2>&1 || rc=$?
  elapsed=$((SECONDS - start))
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
  corpus=$(grep -o 'corp: [0-9]*/[0-9]*[a-zA-Z]*' "$log" | tail -1 | sed 's/corp: //')
  if ((rc == 0)); then
    echo "fuzz $t: ok, ${execs:-?} execs in ${elapsed} s (${rate:-?}/s), corpus ${corpus:-?} (inputs/size)"
  else
    echo "fuzz $t: FAILED (exit $rc) after ${execs:-?} execs; the report (from $log):" >&2
    grep -E "ERROR|SUMMARY|runtime error|uncaught|Test unit written" "$log" | head -20 >&2 || true
    status=1
  fi
done
exit $status
