#!/usr/bin/env bash
# Re-runs every measurement in docs/benchmarks.md (about 20 minutes on 2 cores); results in runs/final_*.
set -x
cd "$(dirname "$0")/.."
mkdir -p runs
export OMP_WAIT_POLICY=passive
./build/bench_engine --benchmark_min_time=0.5 > runs/final_engine.txt 2>&1
env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE /usr/bin/python3 bench/torch_mlp_step.py --threads 1 > runs/final_torch_mlp_t1.txt 2>&1
env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE /usr/bin/python3 bench/torch_mlp_step.py --threads 2 > runs/final_torch_mlp_t2.txt 2>&1
python3 bench/attention_compare.py --threads 2 --repeats 3 --shapes "224,4,12,8;224,4,42,16;224,4,64,128;32,8,96,64;32,8,336,64;32,8,720,64" > runs/final_attention.md 2>&1
./build/attend bench attention --batch 1 --heads 8 --len_q 4096 --len_k 4096 --dim 64 --backward --threads 2 --repeats 2 > runs/final_attention_4096.txt 2>&1
for L in 96 336 720 2048 4096 8192; do ./build/attend bench attention --batch 4 --heads 8 --len_q $L --len_k $L --dim 64 --threads 2 --repeats 3 --prob_sparse --no_reference; done > runs/final_probsparse.txt 2>&1
python3 bench/compare_torch.py --attend build/attend --models PatchTST,iTransformer,Transformer,Informer,TemporalFusionTransformer,LSTM,TCN,DLinear --threads 1 --d_model 64 --n_heads 4 --d_ff 128 --max_batches 50 --repeats 50 --warmup 20 --jsonl runs/final_models_t1.jsonl > runs/final_models_t1.md 2> runs/final_models_t1.err
bench/accuracy.sh DLinear > runs/final_accuracy_dlinear.md 2>&1
echo finished > runs/final_done
