#!/usr/bin/env python3
"""Forecast latency of attend against ONNX Runtime on the same models and sizes (issue 24; run by
hand, never by tests).

For each model: exports TSLib's PyTorch definition to ONNX (bench/onnx_export.py, checked against
PyTorch), then per thread count times `attend bench model --model M --batch 1,32 --threads T
--json` and ONNX Runtime's CPU build through its Node binding (bench/onnx_latency.js: intra-op
threads T, inter-op 1, graph optimisation 'all'), interleaved model by model and thread count by
thread count so that a slow spell of the machine hits both sides; with --rounds N each pair runs N
times, the side that goes first alternating, and each side's figure is its lowest median of the
rounds. Then the first forecast after building the model: `attend bench model --warmup 0
--repeats 1` in a fresh process per batch size, against attend's steady median (the issue's goal:
no slower than 2x), beside ONNX Runtime's session creation and first run.

Prints Markdown tables (ratio = ORT / attend, > 1: attend faster; the goals: >= 1.3 at batch 1,
>= 1.2 at batch 32). Raw JSON lines go to --jsonl when given.

Needs: build/attend, bench/onnx/node_modules (cd bench/onnx && npm install --ignore-scripts),
Debian's python3-torch (run through `env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE /usr/bin/python3`).

Example:
  python3 bench/compare_onnx.py --small --models DLinear,PatchTST --repeats 10
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
CANONICAL = {"TFT": "TemporalFusionTransformer"}
GOAL = {1: 1.3, 32: 1.2}  # ORT / attend at batch 1 and 32


def run_jsonl(cmd, env=None, tries=3):
    """The JSON lines a command prints; a command killed by a signal (the machine is shared) is
    run again, up to `tries` times in all."""
    for attempt in range(tries):
        print("$ " + " ".join(cmd), file=sys.stderr, flush=True)
        r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        if r.returncode >= 0 or attempt + 1 == tries:
            break
        print(f"killed by signal {-r.returncode}; running it again", file=sys.stderr, flush=True)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {r.returncode}:\n{r.stderr[-4000:]}")
    return [json.loads(l) for l in r.stdout.splitlines() if l.startswith("{")]


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--attend", default=os.path.join(ROOT, "build", "attend"))
    p.add_argument("--models", default=DEFAULT_MODELS)
    p.add_argument("--threads", default="1,2", help="comma-separated thread counts")
    p.add_argument("--batch", default="1,32", help="comma-separated batch sizes")
    model_size.add_arguments(p)
    p.add_argument("--small", action="store_true", help="d_model 64, d_ff 128 (the rest as given)")
    p.add_argument("--repeats", type=int, default=20, help="timed calls per batch size (median)")
    p.add_argument("--warmup", type=int, default=3, help="untimed calls before timing")
    p.add_argument("--rounds", type=int, default=1, help="attend/ORT pairs per model and threads")
    p.add_argument("--no_first", action="store_true", help="skip the first-call measurement")
    p.add_argument("--omp_wait_policy", default="passive",
                   help="OMP_WAIT_POLICY for attend, as the other benchmarks ('' leaves it unset)")
    p.add_argument("--onnx_dir", default="/tmp/attend_onnx", help="where the .onnx files go")
    p.add_argument("--jsonl", help="also write every raw JSON line here")
    a = p.parse_args()
    if a.small:
        a.d_model, a.d_ff = 64, 128
    threads = [int(t) for t in a.threads.split(",")]
    batches = [int(b) for b in a.batch.split(",")]
    sizes = model_size.as_args(a)
    env = dict(os.environ)
    if a.omp_wait_policy:
        env["OMP_WAIT_POLICY"] = a.omp_wait_policy
    onnx_dir = os.path.join(a.onnx_dir, f"d{a.d_model}_ff{a.d_ff}")
    timing = ["--repeats", str(a.repeats), "--warmup", str(a.warmup)]

    raw, table, first, failed = [], [], [], []
    jsonl = open(a.jsonl, "w") if a.jsonl else None

    def keep(rows):  # every raw line, written as it comes
        raw.extend(rows)
        for r in rows:
            if jsonl:
                jsonl.write(json.dumps(r) + "\n")
                jsonl.flush()

    for m in a.models.split(","):
        try:
            compare_model(a, m, onnx_dir, threads, batches, sizes, timing, env, keep, table,
                          first)
        except RuntimeError as e:
            failed.append((m, str(e).strip().splitlines()[-1]))
            print(f"{m} failed:\n{e}", file=sys.stderr)
    if jsonl:
        jsonl.close()
    print_tables(a, raw, table, first, failed, batches)
    sys.exit(1 if failed else 0)


def compare_model(a, m, onnx_dir, threads, batches, sizes, timing, env, keep, table, first):
    """Exports model m, times both sides and appends its rows to table and first."""
    name = CANONICAL.get(m, m)
    keep(run_jsonl(TORCH_PY + [os.path.join(HERE, "onnx_export.py"), "--model", m,
                               "--out", onnx_dir] + sizes))
    side = os.path.join(onnx_dir, f"{name}.json")
    best = {}  # (side, threads, batch) -> row with the lowest median over rounds
    for t in threads:
        attend_cmd = [a.attend, "bench", "model", "--model", m, "--json", "--batch", a.batch,
                      "--threads", str(t)] + timing + sizes
        ort_cmd = ["node", os.path.join(HERE, "onnx_latency.js"), "--model", side,
                   "--threads", str(t), "--batch", a.batch] + timing
        for r in range(a.rounds):
            pair = [("attend", attend_cmd), ("ort", ort_cmd)]
            for who, cmd in (pair if r % 2 == 0 else pair[::-1]):
                rows = run_jsonl(cmd, env if who == "attend" else None)
                for row in rows:
                    row.setdefault("side", who)
                    row["round"] = r
                    key = (who, t, row["batch"])
                    if key not in best or row["median_ms"] < best[key]["median_ms"]:
                        best[key] = row
                keep(rows)
    for t in threads:
        for b in batches:
            am, om = best[("attend", t, b)]["median_ms"], best[("ort", t, b)]["median_ms"]
            table.append({"model": m, "threads": t, "batch": b, "attend": am, "ort": om})
    if a.no_first:
        return
    for t in threads:
        ort_first = run_jsonl(["node", os.path.join(HERE, "onnx_latency.js"), "--model", side,
                               "--threads", str(t), "--batch", a.batch, "--first",
                               "--warmup", "0", "--repeats", "1"])
        keep(ort_first)
        for b in batches:
            # the first call in a fresh process: no warm-up, one timed call
            f = run_jsonl([a.attend, "bench", "model", "--model", m, "--json", "--batch",
                           str(b), "--threads", str(t), "--warmup", "0", "--repeats", "1"]
                          + sizes, env)[0]
            f["mode"] = "first"
            keep([f])
            of = next(r for r in ort_first if r["mode"] == "first")
            first.append({"model": m, "threads": t, "batch": b, "first": f["median_ms"],
                          "steady": best[("attend", t, b)]["median_ms"],
                          "ort_create": of["create_ms"] if b == batches[0] else None,
                          "ort_first": of["first_run_ms"] if b == batches[0] else None})


def print_tables(a, raw, table, first, failed, batches):
    ort_version = next((r["ort"] for r in raw if "ort" in r and r.get("side") == "ort"), "?")
    torch_version = next((r["torch"] for r in raw if "torch" in r), "?")
    print(f"d_model {a.d_model}, n_heads {a.n_heads}, e_layers {a.e_layers}, d_layers "
          f"{a.d_layers}, d_ff {a.d_ff}, seq/label/pred {a.seq_len}/{a.label_len}/{a.pred_len}, "
          f"7 channels; ONNX Runtime {ort_version} (onnxruntime-node, CPU), torch {torch_version}; "
          f"median of {a.repeats} calls after {a.warmup} warm-up"
          + (f", lowest of {a.rounds} interleaved rounds" if a.rounds > 1 else "")
          + "; ratio = ORT / attend (> 1: attend faster)")
    print()
    print("| model | threads | batch | attend ms | ORT ms | ORT / attend | goal |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | :---: |")
    for r in table:
        ratio = r["ort"] / r["attend"]
        goal = GOAL.get(r["batch"])
        mark = "-" if goal is None else ("met" if ratio >= goal else f"no (≥ {goal})")
        print(f"| {r['model']} | {r['threads']} | {r['batch']} | {r['attend']:.3f} | "
              f"{r['ort']:.3f} | {ratio:.2f}x | {mark} |")
    if first:
        print()
        print("First forecast after building the model, each in a fresh process (goal: attend "
              "first ≤ 2× its steady median); ONNX Runtime: session creation and first run at "
              f"batch {batches[0]}")
        print()
        print("| model | threads | batch | attend first ms | attend steady ms | first / steady |"
              " ORT create ms | ORT first run ms |")
        print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
        for r in first:
            oc = "-" if r["ort_create"] is None else f"{r['ort_create']:.1f}"
            of = "-" if r["ort_first"] is None else f"{r['ort_first']:.3f}"
            print(f"| {r['model']} | {r['threads']} | {r['batch']} | {r['first']:.3f} | "
                  f"{r['steady']:.3f} | {r['first'] / r['steady']:.2f}x | {oc} | {of} |")
    for m, why in failed:
        print(f"\nfailed: {m}: {why}")


if __name__ == "__main__":
    main()
