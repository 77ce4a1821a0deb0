#!/usr/bin/env python3
"""attend against PyTorch on the same models, sizes and threads (run by hand, never by tests).

For each model runs bench/torch_models.py and bench/attend_models.py (epoch and latency modes)
and prints a Markdown table: seconds per training epoch on ETTh1 on both sides and the ratio
torch / attend (> 1: attend is faster), forecast latency at batch 1 and 32 on both sides and
their ratios. Raw JSON lines go to --jsonl when given.

Example (small, quick):
  python3 bench/compare_torch.py --attend build/attend --models DLinear --threads 1 \
      --max_batches 20 --repeats 5
"""
import argparse
import json
import os
import subprocess
import sys

import model_size

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
TORCH_PY = ["env", "-u", "OPENBLAS_CORETYPE", "-u", "OPENBLAS_L2_SIZE", "/usr/bin/python3"]
DEFAULT_MODELS = "PatchTST,iTransformer,Transformer,Informer,TFT,LSTM,TCN,DLinear"


def run_jsonl(cmd):
    print("$ " + " ".join(cmd), file=sys.stderr, flush=True)
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if r.returncode != 0:
        sys.exit(f"error: exited {r.returncode}:\n{r.stderr}")
    return [json.loads(l) for l in r.stdout.splitlines() if l.startswith("{")]


def pick(rows, mode, batch=None):
    for r in rows:
        if r["mode"] == mode and (batch is None or r.get("batch") == batch):
            return r
    return None


def ratio(t, a):
    return f"{t / a:.2f}x" if t and a else "-"


def fmt(v, digits):
    return f"{v:.{digits}f}" if v is not None else "-"


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--attend", default=os.path.join(ROOT, "build", "attend"))
    p.add_argument("--models", default=DEFAULT_MODELS)
    p.add_argument("--threads", type=int, default=1)
    model_size.add_arguments(p)
    p.add_argument("--max_batches", type=int, default=0,
                   help="torch epoch: time N batches and extrapolate (0: the whole epoch)")
    p.add_argument("--repeats", type=int, default=20)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--no_epoch", action="store_true", help="latency only")
    p.add_argument("--jsonl", help="also write every raw JSON line here")
    a = p.parse_args()
    common = ["--threads", str(a.threads), "--repeats", str(a.repeats), "--warmup", str(a.warmup)]
    common += model_size.as_args(a)
    mode = "latency" if a.no_epoch else "all"
    table, raw = [], []
    for m in a.models.split(","):
        t = run_jsonl(TORCH_PY + [os.path.join(HERE, "torch_models.py"), "--mode", mode, "--model", m,
                                  "--max_batches", str(a.max_batches)] + common)
        s = run_jsonl([sys.executable, os.path.join(HERE, "attend_models.py"), "--attend", a.attend,
                       "--mode", mode, "--model", m] + common)
        raw += t + s
        te, ae = pick(t, "epoch"), pick(s, "epoch")
        row = {"model": m,
               "te": te and te["seconds_per_epoch"], "ae": ae and ae["seconds_per_epoch"],
               "t1": pick(t, "latency", 1)["median_ms"], "a1": pick(s, "latency", 1)["median_ms"],
               "t32": pick(t, "latency", 32)["median_ms"], "a32": pick(s, "latency", 32)["median_ms"]}
        table.append(row)
    if a.jsonl:
        with open(a.jsonl, "w") as f:
            for r in raw:
                f.write(json.dumps(r) + "\n")
    print(f"threads {a.threads}, d_model {a.d_model}, n_heads {a.n_heads}, e_layers {a.e_layers}, "
          f"d_layers {a.d_layers}, d_ff {a.d_ff}, seq/label/pred {a.seq_len}/{a.label_len}/"
          f"{a.pred_len}; ratio = torch / attend (> 1: attend faster)"
          + (f"; torch epoch extrapolated from {a.max_batches} batches" if a.max_batches else ""))
    print()
    print("| model | attend s/epoch | torch s/epoch | ratio | attend b1 ms | torch b1 ms | ratio |"
          " attend b32 ms | torch b32 ms | ratio |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in table:
        print(f"| {r['model']} | {fmt(r['ae'], 2)} | {fmt(r['te'], 2)} | {ratio(r['te'], r['ae'])} "
              f"| {r['a1']:.3f} | {r['t1']:.3f} | {ratio(r['t1'], r['a1'])} "
              f"| {r['a32']:.3f} | {r['t32']:.3f} | {ratio(r['t32'], r['a32'])} |")


if __name__ == "__main__":
    main()
