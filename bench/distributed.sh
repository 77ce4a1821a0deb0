#!/usr/bin/env bash
# Epoch time of 1 process x 2 threads against 2 processes x 1 thread (mpirun), PatchTST and
# Transformer at TSLib's ETTh1 script sizes (run.py's defaults: d_model 512, d_ff 2048, batch 32,
# dropout 0.1; PatchTST --e_layers 1 --n_heads 2, Transformer --factor 3), on the first ROWS rows
# of ETTh1 as custom data (70/10/20: 2600 rows give 51 training batches, 165 validation and 425
# test windows), one epoch, REPEATS alternating pairs. docs/distributed.md has the figures.
# Usage: bench/distributed.sh [models...]   (env: ROWS=2600 REPEATS=2 ATTEND=build/attend)
set -euo pipefail
cd "$(dirname "$0")/.."
attend=${ATTEND:-build/attend}
rows=${ROWS:-2600}
repeats=${REPEATS:-2}
models=("$@")
[[ ${#models[@]} -gt 0 ]] || models=(PatchTST Transformer)
export OMP_WAIT_POLICY=passive
work=runs/distributed_bench
mkdir -p "$work/data"
head -n $((rows + 1)) data/ETTh1.csv >"$work/data/etth1_head.csv"
mpirun=(mpirun --oversubscribe --bind-to none --mca mpi_yield_when_idle 1 --mca btl self,vader
        --mca btl_vader_single_copy_mechanism none)
[[ $(id -u) != 0 ]] || mpirun+=(--allow-run-as-root)

for model in "${models[@]}"; do
  case $model in
    PatchTST) extra=(--e_layers 1 --n_heads 2) ;;
    Transformer) extra=(--factor 3) ;;
    *) extra=() ;;
  esac
  flags=(train --model "$model" --data custom --root_path "$work/data/" --data_path etth1_head.csv
         --features M --seq_len 96 --label_len 48 --pred_len 96 --train_epochs 1 "${extra[@]}")
  for ((i = 1; i <= repeats; i++)); do
    for form in 1x2 2x1; do
      rm -rf "$work/$form"
      log=$work/${model}_${form}_$i.log
      if [[ $form == 1x2 ]]; then
        /usr/bin/time -f "peak RSS %M KB" "$attend" "${flags[@]}" --threads 2 \
          --checkpoints "$work/$form" >"$log" 2>&1
      else
        ATTEND_MPI_STATS=1 "${mpirun[@]}" -np 2 /usr/bin/time -f "peak RSS %M KB" \
          "$attend" "${flags[@]}" --threads 1 --checkpoints "$work/$form" >"$log" 2>&1
      fi
      echo "$model $form #$i: $(grep -o 'epoch 1/1.*' "$log" | sed 's/.*| //') |" \
        "$(grep -o '[0-9.]* steps/s' "$log" | tail -1) |" \
        "$(grep -o 'mse:[^,]*' "$log") | $(grep -h 'allreduce\|peak RSS' "$log" | tr '\n' ' ')"
    done
  done
done
