"""PyTorch side of the engine benchmark: the same Linear(7->32)+GELU+Linear(32->7) forward +
backward step on a batch of 32 as bench_engine's BM_MlpStep, plus a per-op overhead figure.

Run (OpenBLAS's forced core type unset for this command only, so torch runs at full speed):
  env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python3 bench/torch_mlp_step.py --threads 1
"""
import argparse
import json
import time

import torch


def median_time(fn, warmup=200, repeats=7, inner=2000):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(inner):
            fn()
        times.append((time.perf_counter() - t0) / inner)
    times.sort()
    return times[len(times) // 2]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(1)

    model = torch.nn.Sequential(torch.nn.Linear(7, 32), torch.nn.GELU(), torch.nn.Linear(32, 7))
    x = torch.randn(32, 7)
    y = torch.randn(32, 7)
    loss_fn = torch.nn.MSELoss()

    def step():
        out = model(x)
        loss = loss_fn(out, y)
        loss.backward()
        for p in model.parameters():
            p.grad = None

    a = torch.ones(4, requires_grad=True)
    b = torch.ones(4, requires_grad=True)

    def add_on_tape():
        return a + b

    with torch.no_grad():
        a0, b0 = torch.ones(4), torch.ones(4)

    def add_no_grad():
        return a0 + b0

    res = {
        "torch": torch.__version__,
        "threads": args.threads,
        "mlp_step_us": median_time(step, inner=500) * 1e6,
        "add_on_tape_us": median_time(add_on_tape) * 1e6,
        "add_no_grad_us": median_time(add_no_grad) * 1e6,
    }
    if args.json:
        print(json.dumps(res))
    else:
        for k, v in res.items():
            print(f"{k}: {v:.3f}" if isinstance(v, float) else f"{k}: {v}")


if __name__ == "__main__":
    main()
