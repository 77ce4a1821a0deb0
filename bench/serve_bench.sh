#!/usr/bin/env bash
# attend serve's benchmarks (docs/serving.md, "Benchmarks"; figures in docs/benchmarks.md).
# Trains two PatchTST checkpoints on ETTh1, seq_len/pred_len 96/96: "small" (d_model 16, n_heads 4,
# e_layers 1, d_ff 32, one epoch on all of ETTh1) and "tslib" (TSLib's defaults: d_model 512,
# n_heads 8, e_layers 2, d_ff 2048; one epoch on the first 1000 rows: the weights do not change
# the timings). For each, with the server and bench/serve_load sharing the machine:
#   offline Model::forecast batch 1 and batch 32, the server's per-request overhead at one client
#   (latency less Model::forecast, with serve_load's own client and with cpp-httplib's; and the
#   server's CPU time per request less Model::forecast's),
#   load at 1, 8 and 64 keep-alive clients of batch-1 requests (with the server's and the load
#   generator's CPU time per request), and 64 clients' throughput over
#   offline batch-32 throughput, measured in turn (3 rounds of LOAD_SECONDS/2 each);
#   the overhead, load and ratio once for each of ENCODINGS (json: values and answers as JSON
#   numbers; base64: as base64 of float32), and GET /healthz at one client (the floor under the
#   overhead: httplib and the loopback without JSON or forecast);
# for "small" also a soak (64 clients, the server's RSS sampled every second) and an abuse run
# (malformed requests, each must be answered 4xx, then a valid one 200).
# Usage: bench/serve_bench.sh [LOAD_SECONDS=10] [SOAK_SECONDS=60] [ABUSE_REQUESTS=10000] [THREADS=1]
#        [ENCODINGS="json base64"]
# (SOAK_SECONDS or ABUSE_REQUESTS 0: that part is skipped)
# Output: runs/serve_bench/*.txt (the summary lines also on stdout). Build first:
#   cmake --build build --target attend_cli serve_load
set -euo pipefail
cd "$(dirname "$0")/.."
export OMP_WAIT_POLICY=passive
LOAD=${1:-10}
SOAK=${2:-60}
ABUSE=${3:-10000}
THREADS=${4:-1}
ENCODINGS=${5:-json base64}
B=build/attend
L=build/serve_load
OUT=runs/serve_bench
mkdir -p "$OUT"

# `attend train ARGS`, quietly; prints the checkpoint folder (an earlier run's, when its folder is
# still there: the timings do not depend on the weights; rm -r runs/serve_bench to train again)
train() {
  local log="$OUT/train_$1.txt" done
  shift
  done=$(sed -n 's/^checkpoint: //p' "$log" 2>/dev/null || true)
  if [[ -n "$done" && -f "$done/config.json" ]]; then
    echo "$done"
    return
  fi
  if ! "$B" train "$@" --checkpoints "$OUT" >"$log" 2>&1; then
    echo "training failed, see $log" >&2
    exit 1
  fi
  sed -n 's/^checkpoint: //p' "$log"
}

small=$(train small --model PatchTST --data ETTh1 --data_path ETTh1.csv --seq_len 96 \
  --label_len 48 --pred_len 96 --d_model 16 --n_heads 4 --e_layers 1 --d_ff 32 \
  --train_epochs 1 --model_id serve_small)
head -1001 data/ETTh1.csv >"$OUT/etth1_1000.csv"
tslib=$(train tslib --model PatchTST --data custom --root_path "$OUT" --data_path etth1_1000.csv \
  --features M --target OT --seq_len 96 --label_len 48 --pred_len 96 --d_model 512 --n_heads 8 \
  --e_layers 2 --d_ff 2048 --train_epochs 1 --model_id serve_tslib)

# `attend serve` of checkpoint $2 as model $1 on a free port: sets SERVER_PID and PORT
start_server() {
  "$B" serve --checkpoint "$1=$2" --port 0 --threads "$THREADS" >"$OUT/server_$1.out" \
    2>"$OUT/server_$1.err" &
  SERVER_PID=$!
  for _ in $(seq 100); do
    PORT=$(sed -n 's/.*127\.0\.0\.1:\([0-9]*\).*/\1/p' "$OUT/server_$1.out")
    [[ -n "$PORT" ]] && return 0
    sleep 0.1
  done
  echo "the server did not start, see $OUT/server_$1.err" >&2
  exit 1
}


for name in small tslib; do
  ck=${!name}
  start_server "$name" "$ck"
  {
    echo "== $name ($ck), server and offline --threads $THREADS, $(date -u '+%F %T UTC')"
    echo "load average (1, 5, 15 min): $(cut -d' ' -f1-3 /proc/loadavg)"
    "$L" offline --checkpoint "$ck" --data data/ETTh1.csv --threads "$THREADS" --seconds 5
    "$L" ping --port "$PORT" --requests 5000 --pid "$SERVER_PID"
    for encoding in $ENCODINGS; do
      for client in raw httplib; do
        "$L" overhead --port "$PORT" --model "$name" --checkpoint "$ck" --data data/ETTh1.csv \
          --threads "$THREADS" --requests "$([[ $name == small ]] && echo 3000 || echo 200)" \
          --pid "$SERVER_PID" --client "$client" --encoding "$encoding"
      done
    done
    for encoding in $ENCODINGS; do
      echo "-- encoding $encoding"
      "$L" load --port "$PORT" --model "$name" --data data/ETTh1.csv --clients 1,8,64 \
        --seconds "$LOAD" --pid "$SERVER_PID" --encoding "$encoding"
      "$L" ratio --port "$PORT" --model "$name" --checkpoint "$ck" --data data/ETTh1.csv \
        --threads "$THREADS" --clients 64 --seconds "$((LOAD / 2 > 0 ? LOAD / 2 : 1))" --rounds 3 \
        --encoding "$encoding"
    done
    if [[ $name == small && $SOAK != 0 ]]; then
      "$L" soak --port "$PORT" --model "$name" --data data/ETTh1.csv --pid "$SERVER_PID" \
        --clients 64 --seconds "$SOAK"
    fi
    if [[ $name == small && $ABUSE != 0 ]]; then
      "$L" abuse --port "$PORT" --model "$name" --data data/ETTh1.csv --requests "$ABUSE"
    fi
    echo "load average (1, 5, 15 min): $(cut -d' ' -f1-3 /proc/loadavg)"
    curl -s "http://127.0.0.1:$PORT/metrics" |
      grep -E '^attend_serve_(batch_series_(sum|count)|errors_total|requests_total)' || true
  } 2>&1 | tee "$OUT/$name.txt"
  kill -TERM "$SERVER_PID"
  status=0
  wait "$SERVER_PID" || status=$?
  echo "server: SIGTERM, exit status $status" | tee -a "$OUT/$name.txt"
done
