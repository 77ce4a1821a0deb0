"""PyTorch side of the attention benchmark: attention as TSLib's FullAttention computes it
(einsum scores, optional causal masked_fill, softmax(scale * scores), einsum with V), on inputs laid
out (B, L, H, E) as TSLib's AttentionLayer produces them. Forward only, or forward + backward.

Run with OpenBLAS's forced core type unset for this command only:
  env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE /usr/bin/python3 bench/torch_attention.py \
      --batch 32 --heads 8 --len_q 336 --len_k 336 --dim 64 --threads 2 --backward
Prints one JSON line.
"""
import argparse
import json
import math
import resource
import time

import torch


def tslib_full_attention(queries, keys, values, causal):
    B, L, H, E = queries.shape
    _, S, _, D = values.shape
    scale = 1.0 / math.sqrt(E)
    scores = torch.einsum("blhe,bshe->bhls", queries, keys)
    if causal:
        mask = torch.triu(torch.ones(L, S, dtype=torch.bool), diagonal=1)
        scores = scores.masked_fill(mask, -float("inf"))
    A = torch.softmax(scale * scores, dim=-1)
    V = torch.einsum("bhls,bshd->blhd", A, values)
    return V.contiguous()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--heads", type=int, default=8)
    ap.add_argument("--len_q", type=int, default=96)
    ap.add_argument("--len_k", type=int, default=96)
    ap.add_argument("--dim", type=int, default=64)
    ap.add_argument("--causal", action="store_true")
    ap.add_argument("--backward", action="store_true")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    q = torch.randn(a.batch, a.len_q, a.heads, a.dim, requires_grad=a.backward)
    k = torch.randn(a.batch, a.len_k, a.heads, a.dim, requires_grad=a.backward)
    v = torch.randn(a.batch, a.len_k, a.heads, a.dim, requires_grad=a.backward)
    g = torch.randn(a.batch, a.len_q, a.heads, a.dim)

    def run():
        if a.backward:
            out = tslib_full_attention(q, k, v, a.causal)
            out.backward(g)
            q.grad = k.grad = v.grad = None
        else:
            with torch.no_grad():
                tslib_full_attention(q, k, v, a.causal)

    for _ in range(a.warmup):
        run()
    times = []
    for _ in range(a.repeats):
        t0 = time.perf_counter()
        run()
        times.append((time.perf_counter() - t0) * 1e3)
    times.sort()
    flops = 4.0 * a.batch * a.heads * a.len_q * a.len_k * a.dim
    if a.causal:
        flops *= 0.5
    if a.backward:
        flops *= 3
    med = times[len(times) // 2]
    print(json.dumps({
        "torch": torch.__version__, "threads": a.threads, "batch": a.batch, "heads": a.heads,
        "len_q": a.len_q, "len_k": a.len_k, "dim": a.dim, "causal": a.causal,
        "backward": a.backward, "median_ms": med, "min_ms": times[0],
        "gflops": flops / (med * 1e6),
        "max_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
    }))


if __name__ == "__main__":
    main()
