#!/usr/bin/env bash
# Speed of two attend binaries side by side (a refactor's before and after): the d_model 64 model
# table (epoch on ETTh1 and batch-1/32 forecast latency per model, bench/attend_models.py) and the
# fused attention table (forward + backward), each run alternately ROUNDS times. Prints one
# Markdown table of medians and the after/before ratio (> 1: after is slower).
# usage: bench/before_after.sh BEFORE_BIN AFTER_BIN [ROUNDS] [THREADS]
set -euo pipefail
cd "$(dirname "$0")/.."
A=$1 B=$2 ROUNDS=${3:-3} THREADS=${4:-1}
export OMP_WAIT_POLICY=passive
out=$(mktemp -d)
models=(PatchTST iTransformer Transformer Informer TemporalFusionTransformer LSTM TCN DLinear)
shapes=("224 4 12 8" "224 4 42 16" "224 4 64 128" "32 8 96 64" "32 8 336 64" "32 8 720 64")
for r in $(seq "$ROUNDS"); do
  for side in before after; do
    bin=$A; [[ $side == after ]] && bin=$B
    for m in "${models[@]}"; do
      python3 bench/attend_models.py --attend "$bin" --model "$m" --threads "$THREADS" \
        --d_model 64 --n_heads 4 --d_ff 128 --repeats 50 --warmup 20 --data data/ETTh1.csv \
        >> "$out/$side.jsonl"
    done
    for s in "${shapes[@]}"; do
      read -r b h l d <<< "$s"
      "$bin" bench attention --batch "$b" --heads "$h" --len_q "$l" --len_k "$l" --dim "$d" \
        --backward --threads 2 --repeats 3 --no_reference --json |
        python3 -c 'import json, sys; print(json.dumps(json.load(sys.stdin)))' >> "$out/$side.attn.jsonl"
    done
  done
done
python3 - "$out" <<'PY'
import json, os, statistics, sys
d = sys.argv[1]
def rows(name):
    with open(os.path.join(d, name)) as f:
        return [json.loads(l) for l in f if l.startswith("{")]
def med(v): return statistics.median(v) if v else float("nan")
print("| measure | before | after | after/before |\n|---|---:|---:|---:|")
before, after = rows("before.jsonl"), rows("after.jsonl")
keys = []
for r in before:
    k = (r.get("model"), r.get("mode"), r.get("batch"))
    if k not in keys: keys.append(k)
def val(r): return r["seconds_per_epoch"] if r["mode"] == "epoch" else r["median_ms"]
for k in keys:
    a = med([val(r) for r in before if (r.get("model"), r.get("mode"), r.get("batch")) == k])
    b = med([val(r) for r in after if (r.get("model"), r.get("mode"), r.get("batch")) == k])
    unit = "s/epoch" if k[1] == "epoch" else f"ms b{k[2]}"
    print(f"| {k[0]} {unit} | {a:.4g} | {b:.4g} | {b / a:.3f} |")
def fused(name):  # (shape, median ms) of the fused path of each run
    out = []
    for j in rows(name):
        c = j["config"]
        for r in j["results"]:
            if r["path"] == "fused":
                out.append(((c["batch"], c["heads"], c["len_q"], c["dim"], "fused"), r["median_ms"]))
    return out
ab, aa = fused("before.attn.jsonl"), fused("after.attn.jsonl")
for k in dict.fromkeys(k for k, _ in ab):
    a = med([v for kk, v in ab if kk == k])
    b = med([v for kk, v in aa if kk == k])
    print(f"| attention B{k[0]} H{k[1]} L{k[2]} D{k[3]} {k[4]} fwd+bwd ms | {a:.4g} | {b:.4g} | {b / a:.3f} |")
PY
