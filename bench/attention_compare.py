"""Side-by-side attention benchmark: attend's fused and reference paths (`attend bench attention
--json`) against PyTorch computing attention as TSLib does (bench/torch_attention.py), same shapes
and threads, forward + backward by default. Prints a Markdown table.

  python3 bench/attention_compare.py --threads 2 [--forward_only] [--attend build/attend]

PyTorch runs with OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE removed from its environment only.
"""
import argparse
import json
import os
import subprocess
import sys

SHAPES = [  # (B, H, L, D): the long-sequence and time-series shapes
    (32, 8, 96, 64), (32, 8, 336, 64), (32, 8, 720, 64), (32, 8, 2048, 64),
    (224, 4, 12, 8), (224, 4, 42, 16), (224, 4, 64, 128),
]


def run(cmd, env=None):
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env).stdout
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--attend", default="build/attend")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--forward_only", action="store_true")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--shapes", default="", help="B,H,L,D;B,H,L,D;... (default: the issue's)")
    ap.add_argument("--reference_max_len", type=int, default=1024,
                    help="skip attend's reference path above this L (it stores B·H·L² floats)")
    a = ap.parse_args()
    shapes = SHAPES
    if a.shapes:
        shapes = [tuple(int(x) for x in s.split(",")) for s in a.shapes.split(";")]
    torch_env = {k: v for k, v in os.environ.items()
                 if k not in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
    mode = [] if a.forward_only else ["--backward"]
    print(f"attention {'forward' if a.forward_only else 'forward+backward'}, threads {a.threads}, "
          f"median of {a.repeats}\n")
    print("| B | H | L | D | attend fused ms | attend reference ms | PyTorch (TSLib) ms | "
          "fused GFLOP/s | fused vs PyTorch | fused vs reference |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for (b, h, l, d) in shapes:
        common = ["--batch", str(b), "--heads", str(h), "--len_q", str(l), "--len_k", str(l),
                  "--dim", str(d), "--threads", str(a.threads), "--repeats", str(a.repeats)]
        skip_ref = ["--no_reference"] if l > a.reference_max_len else []
        ours = json.loads(run([a.attend, "bench", "attention", "--json"] + common + mode + skip_ref))
        res = {r["path"]: r for r in ours["results"]}
        python = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
        theirs = json.loads(run([python, "bench/torch_attention.py"] + common + mode,
                                env=torch_env))
        f, t = res["fused"]["median_ms"], theirs["median_ms"]
        r = res["reference"]["median_ms"] if "reference" in res else None
        ref_ms = f"{r:.2f}" if r else "—"
        ref_ratio = f"{r / f:.1f}x" if r else "—"
        print(f"| {b} | {h} | {l} | {d} | {f:.2f} | {ref_ms} | {t:.2f} | "
              f"{res['fused']['gflops']:.0f} | {t / f:.1f}x | {ref_ratio} |", flush=True)


if __name__ == "__main__":
    main()
