#!/usr/bin/env bash
# Accuracy runs for docs/benchmarks.md: each model at TSLib's run.py defaults (d_model 512,
# n_heads 8, e_layers 2, d_ff 2048, dropout 0.1, lr 1e-4, batch 32, 10 epochs, patience 3,
# lradj type1), seq_len 96 (36 for national_illness, label_len 18), every test window kept.
# Usage: bench/accuracy.sh MODEL [DATASET ...]   (datasets: ETTh1 ETTh2 exchange_rate national_illness)
# Prints one Markdown row per run: model | dataset | horizon | mse | mae | seconds.
# SEEDS="1 2 3" runs each horizon once per seed and prints the means (MSE ± its std over seeds);
# EXTRA_FLAGS are appended to every train command (a repeated flag takes the later value);
# HORIZONS="96 192" runs only those horizons. Each run's log (epochs, losses, early stopping) is
# kept in runs/accuracy/logs/MODEL_DATASET_HORIZON_seedN.log (…_seedN_TAG.log with LOG_TAG=TAG, for
# variants of one setting, which should also pass their own --model_id in EXTRA_FLAGS). A run
# stopped by Ctrl-C or SIGTERM keeps its state: the same command with EXTRA_FLAGS="… --resume"
# continues it (and its log).
# TSLIB_SCRIPTS=1 adds the flags of TSLib's own experiment script for that model, dataset and
# horizon (scripts/long_term_forecast/*_script/<Model>*.sh), where they differ from run.py's
# defaults; see tslib_script_flags below. EXTRA_FLAGS still come last.
set -euo pipefail
cd "$(dirname "$0")/.."
model=$1
shift
datasets=("$@")
[[ ${#datasets[@]} -gt 0 ]] || datasets=(ETTh1 ETTh2 exchange_rate national_illness)
attend=${ATTEND:-build/attend}
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
mkdir -p runs/accuracy/logs

# The flags TSLib's scripts pass beyond run.py's defaults (dataset sizes and --des/--itr aside).
tslib_script_flags() {  # model dataset horizon
  case $1:$2 in
    PatchTST:ETTh1)
      case $3 in 96) echo "--e_layers 1 --n_heads 2" ;; 720) echo "--e_layers 1 --n_heads 16" ;;
                 *) echo "--e_layers 1 --n_heads 8" ;; esac ;;
    PatchTST:ETTh2) echo "--e_layers 3 --n_heads 4" ;;
    PatchTST:exchange_rate) [[ $3 == 336 ]] && echo "--train_epochs 1" || true ;;
    PatchTST:national_illness)
      case $3 in 24) echo "--e_layers 4 --n_heads 4 --d_model 1024" ;;
                 60) echo "--e_layers 4 --n_heads 16 --d_model 2048" ;;
                 *) echo "--e_layers 4 --n_heads 4 --d_model 2048" ;; esac ;;
    Informer:*|Transformer:*) echo "--factor 3" ;;
  esac
}
for ds in "${datasets[@]}"; do
  case $ds in
    ETTh1|ETTh2) data=$ds; seq=96; label=48; horizons=(96 192 336 720) ;;
    exchange_rate) data=custom; seq=96; label=48; horizons=(96 192 336 720) ;;
    national_illness) data=custom; seq=36; label=18; horizons=(24 36 48 60) ;;
    *) echo "unknown dataset $ds" >&2; exit 2 ;;
  esac
  [[ -z ${HORIZONS:-} ]] || read -r -a horizons <<<"$HORIZONS"
  for pl in "${horizons[@]}"; do
    start=$(date +%s)
    results=()
    for seed in ${SEEDS:-2}; do
      log=runs/accuracy/logs/${model}_${ds}_${pl}_seed${seed}${LOG_TAG:+_$LOG_TAG}.log
      # a resumed run continues the stopped run's log
      [[ " ${EXTRA_FLAGS:-} " == *" --resume "* ]] || : >"$log"
      rc=0
      line=$("$attend" train --model "$model" --data "$data" --root_path ./data/ --data_path "$ds.csv" \
        --features M --seq_len "$seq" --label_len "$label" --pred_len "$pl" --seed "$seed" \
        --checkpoints runs/accuracy --model_id "${ds}_${seq}_${pl}" \
        $([[ -z ${TSLIB_SCRIPTS:-} ]] || tslib_script_flags "$model" "$ds" "$pl") \
        ${EXTRA_FLAGS:-} 2>>"$log" | tail -1) || rc=$?  # pipefail: attend's exit status
      if [[ $line != mse:* ]]; then
        if ((rc == 130 || rc == 143)); then  # stopped by Ctrl-C or SIGTERM, state saved
          echo "stopped: $model on $ds at horizon $pl (seed $seed); its state is saved, rerun" \
            "with --resume in EXTRA_FLAGS to continue; see $log" >&2
        else
          echo "error: $model on $ds at horizon $pl (seed $seed) did not finish; see $log" >&2
        fi
        exit 1
      fi
      results+=("$(sed -E 's/mse:([0-9.e+-]+), mae:([0-9.e+-]+)/\1 \2/' <<<"$line")")
    done
    secs=$(( $(date +%s) - start ))
    # One seed: mse | mae. Several: the mean, then "± population std" of MSE over the seeds.
    printf '%s\n' "${results[@]}" | awk -v m="$model" -v d="$ds" -v h="$pl" -v s="$secs" '
      { mse[NR] = $1; mae[NR] = $2; a += $1; b += $2 }
      END {
        a /= NR; b /= NR; v = 0
        for (i = 1; i <= NR; ++i) v += (mse[i] - a) ^ 2
        sd = NR > 1 ? sprintf(" ± %.3f", sqrt(v / NR)) : ""
        printf "| %s | %s | %s | %.3f%s | %.3f | %s |\n", m, d, h, a, sd, b, s
      }'
  done
done
