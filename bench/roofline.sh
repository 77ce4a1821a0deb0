#!/usr/bin/env bash
# The roofline of one training step per model at TSLib's ETTh1 script sizes (issue 24;
# docs/benchmarks.md): `attend bench model --train` counts the step's GEMM and fused-attention
# FLOPs from their shapes, times them, and sets them against the FMA peak it measures on the ISA
# in use. run.py's defaults (d_model 512, d_ff 2048, batch 32, seq/label/pred 96/48/96, 7
# channels) and the flags the ETTh1 scripts add: PatchTST --e_layers 1 --n_heads 2, Transformer
# and Informer --factor 3, iTransformer --d_model 128 --d_ff 128; TFT run.py's defaults.
# Usage: bench/roofline.sh [models...]   (env: THREADS=2 REPEATS=5 ATTEND=build/attend)
set -euo pipefail
cd "$(dirname "$0")/.."
attend=${ATTEND:-build/attend}
threads=${THREADS:-2}
repeats=${REPEATS:-5}
models=("$@")
[[ ${#models[@]} -gt 0 ]] || models=(PatchTST iTransformer Transformer Informer TFT)
export OMP_WAIT_POLICY=passive
lscpu | grep -E "Model name|^Flags" | sed 's/^Flags:.*\(avx512f\).*/ISA: AVX-512/; s/^Flags:.*/ISA: AVX2 (no AVX-512)/'
uptime
for model in "${models[@]}"; do
  case $model in
    PatchTST) extra=(--e_layers 1 --n_heads 2) ;;
    Transformer | Informer) extra=(--factor 3) ;;
    iTransformer) extra=(--d_model 128 --d_ff 128) ;;
    *) extra=() ;;
  esac
  "$attend" bench model --train --model "$model" "${extra[@]}" --threads "$threads" \
    --repeats "$repeats" --warmup 2
  echo
done
uptime
