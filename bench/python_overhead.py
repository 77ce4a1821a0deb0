#!/usr/bin/env python3
"""The Python layer's cost at batch 1, and Python predict against the same model in PyTorch
(run by hand, never by tests).

For each model: trains it for one epoch on ETTh1 through attend.Forecaster (the weights do not
change the timings), then times a forecast of the last seq_len rows four ways, median of
--repeats calls after --warmup, the four interleaved in rounds of 20 calls:

  C++          Predictor::forecast called in a C++ loop (no Python between calls)
  binding      the extension's Predictor.forecast on a table already built (pybind11 + GIL)
  numpy        Forecaster.predict_numpy(array, ds=datetime64 array): table in, arrays out
  DataFrame    Forecaster.predict(DataFrame): the DataFrame path, a DataFrame out

and prints the overheads numpy - C++ and DataFrame - C++ (goal for numpy: under 20 µs). With
--torch it also runs bench/torch_models.py --mode latency --batch 1 (the same model and sizes in
PyTorch, eval, no grad) for the ratio of Python predict to a PyTorch forward.

  PYTHONPATH=build/python /usr/bin/python3 bench/python_overhead.py --torch
"""
import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np
import pandas as pd

import model_size

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
TORCH_PY = ["env", "-u", "OPENBLAS_CORETYPE", "-u", "OPENBLAS_L2_SIZE", "/usr/bin/python3"]


def call_us(f, n):
    """Microseconds of each of n calls of f."""
    t = []
    for _ in range(n):
        start = time.perf_counter_ns()
        f()
        t.append((time.perf_counter_ns() - start) / 1e3)
    return t


def torch_b1_us(a, model):
    cmd = TORCH_PY + [os.path.join(HERE, "torch_models.py"), "--mode", "latency", "--batch", "1",
                      "--model", model, "--threads", str(a.threads), "--repeats", str(a.repeats),
                      "--warmup", str(a.warmup)] + model_size.as_args(a)  # fmt: skip
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"error: {' '.join(cmd)} exited {r.returncode}:\n{r.stderr}")
    rows = [json.loads(line) for line in r.stdout.splitlines() if line.startswith("{")]
    (row,) = [x for x in rows if x.get("mode") == "latency" and x.get("batch") == 1]
    return row["median_ms"] * 1e3


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--models", default="PatchTST,iTransformer,Transformer,Informer,TFT,LSTM,TCN,DLinear")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--repeats", type=int, default=500)
    p.add_argument("--warmup", type=int, default=50)
    p.add_argument("--torch", action="store_true", help="also time the PyTorch model at batch 1")
    p.add_argument("--data", default=os.path.join(ROOT, "data", "ETTh1.csv"))
    model_size.add_arguments(p)
    p.set_defaults(d_model=64, n_heads=4, d_ff=128)
    a = p.parse_args()

    import attend

    df = pd.read_csv(a.data, parse_dates=["date"])
    sizes = {name: getattr(a, name) for name, _, _ in model_size.FLAGS}
    print(f"attend {attend.__version__}; threads {a.threads}; "
          + ", ".join(f"{k} {v}" for k, v in sizes.items()) + f"; median of {a.repeats}")  # fmt: skip
    head = "| model | C++ µs | binding µs | numpy µs | DataFrame µs | numpy - C++ µs | " \
           "DataFrame - C++ µs |"  # fmt: skip
    cols = 7
    if a.torch:
        head += " torch b1 µs | torch / numpy |"
        cols += 2
    print(head)
    print("|" + " --- |" * 1 + " ---: |" * (cols - 1))
    for model in a.models.split(","):
        f = attend.Forecaster(model, h=a.pred_len, input_size=a.seq_len, freq="h",
                              threads=a.threads, verbose=False, train_epochs=1,
                              **{k: v for k, v in sizes.items()
                                 if k not in ("seq_len", "pred_len")})  # fmt: skip
        f.fit(df.iloc[: 24 * 30 * 6])  # six months: enough to train, quick
        window = df.iloc[-a.seq_len:]
        values = window.drop(columns="date").to_numpy()
        ds = window["date"].to_numpy()
        predictor = f._get_predictor()
        table = attend._attend.make_table("w", "date", "", list(window.columns[1:]),
                                          ds.astype("datetime64[s]").astype(np.int64),
                                          values, None)  # fmt: skip
        paths = {  # each returns the microseconds of n calls
            "C++": lambda n: [x * 1e6 for x in predictor.time_forecast(table, n)],
            "binding": lambda n: call_us(lambda: predictor.forecast(table), n),
            "numpy": lambda n: call_us(lambda: f.predict_numpy(values, ds=ds), n),
            "DataFrame": lambda n: call_us(lambda: f.predict(window), n),
        }
        for run in paths.values():
            run(a.warmup)
        # interleaved in rounds of 20 calls, so that a slow spell of the machine hits every path
        times = {name: [] for name in paths}
        for _ in range(max(1, a.repeats // 20)):
            for name, run in paths.items():
                times[name] += run(20)
        cpp, binding, numpy_path, frame = (float(np.median(times[n])) for n in paths)
        row = [model, cpp, binding, numpy_path, frame, numpy_path - cpp, frame - cpp]
        if a.torch:
            t = torch_b1_us(a, model)
            row += [t, f"{t / numpy_path:.2f}x"]
        print("| " + " | ".join(x if isinstance(x, str) else f"{x:.1f}" for x in row) + " |",
              flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
