#!/usr/bin/env python3
"""attend side of the speed benchmarks (run by hand, never by tests); JSON lines like
torch_models.py.

  epoch    `attend compare --models NAME --train_epochs 1` on ETTh1 (TSLib's protocol: seq 96/48/96,
           features M, batch 32, Adam, MSE); reports epoch_train_s, the optimisation loop of the
           epoch without vali/test (what TSLib prints as "cost time" and torch_models.py times)
  latency  `attend bench model --model NAME --batch 1,32 --json` (eval, no grad, median of repeats)

Example:
  python3 bench/attend_models.py --attend build/attend --model DLinear --threads 1
"""
import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile

import model_size

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

def run(cmd):
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       env=dict(os.environ, OMP_WAIT_POLICY="passive"))
    if r.returncode != 0:
        sys.exit(f"error: {' '.join(cmd)} exited {r.returncode}:\n{r.stderr}")
    return r.stdout


def epoch(a):
    with tempfile.TemporaryDirectory() as tmp:
        run([a.attend, "compare", "--models", a.model, "--quiet", "--out", tmp,
             "--threads", str(a.threads), "--repeats", "1", "--warmup", "0",
             "--data", "ETTh1", "--root_path", os.path.dirname(a.data),
             "--data_path", os.path.basename(a.data), "--features", "M",
             "--train_epochs", "1", "--batch_size", str(a.batch_size),
             "--learning_rate", str(a.learning_rate), "--seed", str(a.seed)] + model_size.as_args(a))
        with open(os.path.join(tmp, "compare.csv")) as f:
            row = next(csv.DictReader(f))
    return [{"side": "attend", "mode": "epoch", "model": row["model"], "epoch": 1,
             "threads": a.threads, "seconds": float(row["epoch_train_s"]),
             "seconds_per_epoch": float(row["epoch_train_s"]),
             "train_s_with_vali": float(row["train_s"]), "mse": float(row["mse"]),
             "params": int(row["params"])}]


def latency(a):
    out = run([a.attend, "bench", "model", "--model", a.model, "--json", "--batch", a.batch,
               "--repeats", str(a.repeats), "--warmup", str(a.warmup),
               "--threads", str(a.threads), "--seed", str(a.seed)] + model_size.as_args(a))
    rows = []
    for line in out.splitlines():
        j = json.loads(line)
        j["mode"] = "latency"
        j["repeats"] = a.repeats
        rows.append(j)
    return rows


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--attend", default=os.path.join(ROOT, "build", "attend"), help="attend binary")
    p.add_argument("--mode", choices=["epoch", "latency", "all"], default="all")
    p.add_argument("--model", default="PatchTST")
    p.add_argument("--threads", type=int, default=0, help="attend --threads (0: all cores)")
    p.add_argument("--data", default=os.path.join(ROOT, "data", "ETTh1.csv"))
    model_size.add_arguments(p)
    p.add_argument("--batch_size", type=int, default=32)
    p.add_argument("--learning_rate", type=float, default=1e-4)
    p.add_argument("--batch", default="1,32", help="latency: comma-separated batch sizes")
    p.add_argument("--repeats", type=int, default=20)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--seed", type=int, default=2)
    a = p.parse_args()
    rows = []
    if a.mode in ("epoch", "all"):
        rows += epoch(a)
    if a.mode in ("latency", "all"):
        rows += latency(a)
    for r in rows:
        print(json.dumps(r), flush=True)


if __name__ == "__main__":
    main()
