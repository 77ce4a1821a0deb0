#!/usr/bin/env python3
"""A training step at TSLib's ETTh1 script sizes: attend against TSLib's PyTorch models, same
threads (issue 24's first goal; run by hand, never by tests).

For each model, in turn and alternating which side goes first between rounds:
  torch   bench/torch_models.py --mode epoch --max_batches N --epochs 2: TSLib's training loop
          (Adam, MSE, dropout 0.1) on ETTh1's training windows; the second epoch's time per batch
          (the first pays PyTorch's warm-up);
  attend  attend bench model --train --json: the median of --repeats steps after --warmup.
Both step times are then set against each other, and an epoch is extrapolated to the training set's
batch count (268 batches of 32 on ETTh1 at seq_len 96 / pred_len 96). Sizes: run.py's defaults
(d_model 512, d_ff 2048, n_heads 8, e_layers 2, d_layers 1, seq/label/pred 96/48/96) with the flags
of TSLib's ETTh1 scripts: PatchTST --e_layers 1 --n_heads 2, Transformer and Informer --factor 3,
iTransformer --d_model 128 --d_ff 128, TFT run.py's defaults (bench/roofline.sh uses the same).

  python3 bench/train_step_vs_torch.py --threads 2 --rounds 2
"""
import argparse
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
# PyTorch with Debian's OpenBLAS (libopenblas0-openmp), its tuning variables unset for it alone
TORCH_PY = ["env", "-u", "OPENBLAS_CORETYPE", "-u", "OPENBLAS_L2_SIZE", "/usr/bin/python3"]
SCRIPT_FLAGS = {
    "PatchTST": {"e_layers": 1, "n_heads": 2},
    "iTransformer": {"d_model": 128, "d_ff": 128},
    "Transformer": {"factor": 3},
    "Informer": {"factor": 3},
    "TFT": {},
}


def run_json(cmd):
    print("$ " + " ".join(cmd), file=sys.stderr, flush=True)
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       env={**os.environ, "OMP_WAIT_POLICY": "passive"})
    if r.returncode != 0:
        sys.exit(f"error: {cmd[0]} exited {r.returncode}:\n{r.stderr}")
    return [json.loads(l) for l in r.stdout.splitlines() if l.startswith("{")]


def torch_step(a, model, flags):
    cmd = TORCH_PY + [os.path.join(HERE, "torch_models.py"), "--mode", "epoch", "--model", model,
                      "--threads", str(a.threads), "--max_batches", str(a.max_batches),
                      "--epochs", "2"]
    for k, v in flags.items():
        cmd += [f"--{k}", str(v)]
    last = run_json(cmd)[-1]
    return last["seconds"] / last["batches"] * 1e3, last["full_epoch_batches"]


def attend_step(a, model, flags):
    cmd = [a.attend, "bench", "model", "--train", "--model", model, "--threads", str(a.threads),
           "--repeats", str(a.repeats), "--warmup", "2", "--json"]
    for k, v in flags.items():
        cmd += [f"--{k}", str(v)]
    (row,) = [r for r in run_json(cmd) if r.get("mode") == "train_step"]
    return row["median_ms"], row


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--attend", default=os.path.join(ROOT, "build", "attend"))
    p.add_argument("--models", default=",".join(SCRIPT_FLAGS))
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--rounds", type=int, default=1)
    p.add_argument("--max_batches", type=int, default=6, help="torch: batches timed per epoch")
    p.add_argument("--repeats", type=int, default=5, help="attend: steps timed")
    a = p.parse_args()
    with open("/proc/loadavg") as f:
        print(f"load average before: {' '.join(f.read().split()[:3])}", file=sys.stderr)
    rows = []
    for m in a.models.split(","):
        flags = SCRIPT_FLAGS[m]
        best_t, best_a, batches, info = None, None, None, None
        for r in range(a.rounds):
            sides = ["torch", "attend"] if r % 2 == 0 else ["attend", "torch"]
            for side in sides:
                if side == "torch":
                    t, batches = torch_step(a, m, flags)
                    best_t = t if best_t is None else min(best_t, t)
                else:
                    s, info = attend_step(a, m, flags)
                    best_a = s if best_a is None else min(best_a, s)
        rows.append((m, best_a, best_t, batches, info))
    with open("/proc/loadavg") as f:
        print(f"load average after: {' '.join(f.read().split()[:3])}", file=sys.stderr)
    print(f"threads {a.threads}; each side's lowest step time over {a.rounds} round(s); "
          f"epoch = step x batches of ETTh1's training set; ratio = torch / attend")
    print()
    print("| model | flags | attend ms/step | torch ms/step | ratio | attend s/epoch | "
          "torch s/epoch | attend % of FMA peak |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for m, s, t, nb, info in rows:
        flags = " ".join(f"--{k} {v}" for k, v in SCRIPT_FLAGS[m].items()) or "(defaults)"
        pct = 100 * info["step_gflops_per_core"] / info["peak_gflops_per_core"]
        print(f"| {m} | {flags} | {s:.1f} | {t:.1f} | {t / s:.2f}x | {s * nb / 1e3:.1f} | "
              f"{t * nb / 1e3:.1f} | {pct:.0f} % |")


if __name__ == "__main__":
    main()
