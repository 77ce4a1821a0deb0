#!/usr/bin/env python3
"""Exports a model of bench/torch_models.py (TSLib's PyTorch definitions) to ONNX with torch.onnx,
as a PyTorch user deploying to ONNX Runtime would (run by hand, never by tests).

Writes OUT/NAME.onnx (batch a dynamic axis "batch", opset 17, eval mode, constants folded) and
OUT/NAME.json (the inputs ONNX Runtime takes: name, shape with "batch" for the batch axis, how
bench/onnx_latency.js fills it), then checks ONNX Runtime against PyTorch on the same random inputs
at each --check_batch: bench/onnx_latency.js --check runs the exported file on the inputs and
PyTorch's output written under OUT/NAME.check/, and this script fails when the largest absolute
difference exceeds --atol (1e-4). One JSON line on stdout.

Export-only replacements (same numerics as the benchmark model; proven below on every run):
- PatchTST's patching, `x.unfold(-1, patch_len, stride)` after ReplicationPad1d, which torch 1.13
  cannot export ("ONNX export of operator Unfold, input size not accessible"), becomes
  `x.index_select(-1, idx).view(..., n_patches, patch_len)` with idx[p, j] = p * stride + j.
- Informer's ProbSparse attention (four changes, none in the arithmetic):
  * its key sample is drawn with torch.randint on every call; ONNX's random ops cannot reproduce
    torch's draws and ONNX Runtime's are unseeded, so each ProbAttention's sample (an L_Q x U_part
    index matrix, independent of the batch) is drawn once from torch's generator and frozen into
    the graph: the work per call (the gather of U_part keys per query, the top-u queries, the
    reduced attention) is unchanged;
  * the sample sizes factor * ceil(ln L) are computed from the lengths as Python ints (numpy
    cannot take the tracer's shape tensors: "'Tensor' object has no attribute 'astype'"; the
    lengths are fixed in the graph anyway);
  * `Q_K_sample.squeeze()`, which would also drop a batch axis of 1 in ONNX's shape-free Squeeze,
    becomes `.squeeze(-2)`;
  * indexing by several broadcast index tensors (the sampled keys, the top queries, ProbMask's
    rows, the write of the top queries' rows into the context), which torch 1.13 exports into
    Adds that ONNX Runtime refuses to broadcast ("Attempting to broadcast an axis by a dimension
    other than 1"), becomes one-index indexing, gather and scatter.
- Conv1d with padding_mode "circular" (TokenEmbedding of Transformer, Informer and TFT; Informer's
  distilling ConvLayer): torch 1.13 exports the circular pad wrongly (symbolic_opset9._pad_circular
  slices x[..., -(p+1):-1] for the left pad instead of x[..., -p:]): the first time step's
  embedding is wrong (by up to 3.9 at d_model 64) and the forecast by 2e-4 (TFT) to 4e-3
  (Transformer). The pad becomes cat([x[..., -p:], x, x[..., :p]]) before the unpadded
  convolution, which is what F.pad's circular mode computes.
Every run proves the replacements exact: the model run with them (Informer's samples drawn with the
same seed) must give the original's output bit for bit ("replacement_max_abs_diff": 0.0).

Run with: env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE /usr/bin/python3 bench/onnx_export.py \
    --model PatchTST --out /tmp/onnx [size flags of bench/model_size.py]
"""
import argparse
import contextlib
import json
import math
import os
import subprocess
import sys
import time

import numpy as np
import torch

import model_size
import torch_models as tm

HERE = os.path.dirname(os.path.abspath(__file__))
ORDER = ["x_enc", "x_mark_enc", "x_dec", "x_mark_dec"]
MARK_COLUMNS = 4  # timeF marks at freq h


def used_inputs(name):
    """The forward's arguments the model reads (the others are passed as None)."""
    used = ["x_enc"]
    if name in tm.USES_MARKS:
        used += ["x_mark_enc"]
    if name in tm.USES_DECODER:
        used += ["x_dec"]
    if name in tm.USES_MARKS:
        used += ["x_mark_dec"]
    return used


def input_specs(name, cfg):
    """[(name, shape without the batch axis, fill)] as attend's `bench model` builds its inputs:
    x_enc N(0, 1), x_dec zeros over label + pred, marks U(-0.5, 0.5)."""
    ly = cfg.label_len + cfg.pred_len
    spec = {"x_enc": ([cfg.seq_len, cfg.enc_in], "normal"),
            "x_mark_enc": ([cfg.seq_len, MARK_COLUMNS], "uniform"),
            "x_dec": ([ly, cfg.dec_in], "zeros"),
            "x_mark_dec": ([ly, MARK_COLUMNS], "uniform")}
    return [(n, spec[n][0], spec[n][1]) for n in used_inputs(name)]


def make_inputs(specs, batch, gen):
    out = []
    for _, shape, fill in specs:
        s = [batch] + shape
        if fill == "normal":
            out.append(torch.randn(s, generator=gen))
        elif fill == "uniform":
            out.append(torch.rand(s, generator=gen) - 0.5)
        else:
            out.append(torch.zeros(s))
    return out


class OnlyUsedInputs(torch.nn.Module):
    """The model's forward(x_enc, x_mark_enc, x_dec, x_mark_dec) taking only the inputs it reads,
    so that the ONNX graph has no unused inputs."""

    def __init__(self, model, used):
        super().__init__()
        self.model = model
        self.used = used

    def forward(self, *xs):
        given = dict(zip(self.used, xs))
        return self.model(*[given.get(n) for n in ORDER])


# ---------------------------------------------------------------------------------------------
# export-only replacements

def patch_embedding_forward(self, x):
    """tm.PatchEmbedding.forward with unfold as an index_select: [B, C, L + pad] -> patches
    [B, C, n, patch_len], patch p = x[..., p * stride : p * stride + patch_len]."""
    n_vars = x.shape[1]
    x = self.padding_patch_layer(x)
    n = (x.shape[-1] - self.patch_len) // self.stride + 1
    idx = (torch.arange(n)[:, None] * self.stride + torch.arange(self.patch_len)[None, :]).reshape(-1)
    x = x.index_select(-1, idx).view(x.shape[0], x.shape[1], n, self.patch_len)
    x = torch.reshape(x, (x.shape[0] * x.shape[1], x.shape[2], x.shape[3]))
    x = self.value_embedding(x) + self.position_embedding(x)
    return self.dropout(x), n_vars


def prob_qk_frozen(self, Q, K, sample_k, n_top):
    """tm.ProbAttention._prob_QK with the key sample drawn on the first call and reused after
    (self.frozen_index), the sampled scores squeezed on their own axis only, and the two gathers
    written with one index each (torch 1.13 exports indexing by several broadcast index tensors
    into Adds that do not broadcast): K_expand[:, :, q, index[q, s]] = K[:, :, index[q, s]], and
    Q[b, h, M_top[b, h, i]] = gather(Q, 2, M_top)."""
    B, H, L_K, E = K.shape
    _, _, L_Q, _ = Q.shape
    if getattr(self, "frozen_index", None) is None:
        self.frozen_index = torch.randint(L_K, (L_Q, sample_k))
    K_sample = K[:, :, self.frozen_index, :]  # [B, H, L_Q, sample_k, E]
    Q_K_sample = torch.matmul(Q.unsqueeze(-2), K_sample.transpose(-2, -1)).squeeze(-2)
    M = Q_K_sample.max(-1)[0] - torch.div(Q_K_sample.sum(-1), L_K)
    M_top = M.topk(n_top, sorted=False)[1]
    Q_reduce = torch.gather(Q, 2, M_top.unsqueeze(-1).expand(-1, -1, -1, E))
    Q_K = torch.matmul(Q_reduce, K.transpose(-2, -1))
    return Q_K, M_top


def prob_update_context(self, context_in, V, scores, index, L_Q, attn_mask):
    """tm.ProbAttention._update_context with ProbMask's rows taken by one index (triu(1)[index])
    and the rows of the top queries written by scatter (index holds distinct rows: a top-k)."""
    B, H, L_V, D = V.shape
    if self.mask_flag:
        mask = torch.ones(L_Q, scores.shape[-1], dtype=torch.bool).triu(1)[index]
        scores = scores.masked_fill(mask, -np.inf)
    attn = torch.softmax(scores, dim=-1)
    rows = torch.matmul(attn, V).type_as(context_in)
    context_in = context_in.scatter(2, index.unsqueeze(-1).expand(-1, -1, -1, D), rows)
    return context_in, None


conv1d_forward = torch.nn.Conv1d._conv_forward


def conv1d_forward_circular_by_cat(self, x, weight, bias):
    """nn.Conv1d._conv_forward with the circular pad of p = padding[0] steps written as a concat:
    [x[..., L-p:], x, x[..., :p]] (torch 1.13 exports F.pad(mode="circular") wrongly)."""
    if self.padding_mode != "circular":
        return conv1d_forward(self, x, weight, bias)
    p = self.padding[0]
    x = torch.cat([x[..., -p:], x, x[..., :p]], dim=-1)
    return torch.nn.functional.conv1d(x, weight, bias, self.stride, 0, self.dilation, self.groups)


def prob_attention_forward(self, queries, keys, values, attn_mask, tau=None, delta=None):
    """tm.ProbAttention.forward with U_part = factor * ceil(ln L_K) and u = factor * ceil(ln L_Q)
    from the lengths as Python ints."""
    B, L_Q, H, D = queries.shape
    L_K = int(keys.shape[1])
    L_Q = int(L_Q)
    queries = queries.transpose(2, 1)
    keys = keys.transpose(2, 1)
    values = values.transpose(2, 1)
    U_part = min(self.factor * math.ceil(math.log(L_K)), L_K)
    u = min(self.factor * math.ceil(math.log(L_Q)), L_Q)
    scores_top, index = self._prob_QK(queries, keys, sample_k=U_part, n_top=u)
    scale = self.scale or 1. / math.sqrt(D)
    scores_top = scores_top * scale
    context = self._get_initial_context(values, L_Q)
    context, attn = self._update_context(context, values, scores_top, index, L_Q, attn_mask)
    return context.contiguous(), attn


@contextlib.contextmanager
def export_patches():
    P = tm.ProbAttention
    saved = (tm.PatchEmbedding.forward, P._prob_QK, P._update_context, P.forward,
             torch.nn.Conv1d._conv_forward)
    tm.PatchEmbedding.forward = patch_embedding_forward
    P._prob_QK, P._update_context, P.forward = prob_qk_frozen, prob_update_context, \
        prob_attention_forward
    torch.nn.Conv1d._conv_forward = conv1d_forward_circular_by_cat
    try:
        yield
    finally:
        (tm.PatchEmbedding.forward, P._prob_QK, P._update_context, P.forward,
         torch.nn.Conv1d._conv_forward) = saved


# ---------------------------------------------------------------------------------------------

def write_f32(path, t):
    t.detach().contiguous().numpy().astype("<f4").tofile(path)


def export(a, name):
    cfg = tm.config_from_args(a, name)
    torch.manual_seed(a.seed)
    model = tm.build_model(name, cfg).float().eval()
    specs = input_specs(name, cfg)
    gen = torch.Generator().manual_seed(a.seed)
    trace_inputs = make_inputs(specs, 2, gen)  # batch 2: no size-1 axis to specialise on
    check = {b: make_inputs(specs, b, gen) for b in a.check_batch}
    wrapped = OnlyUsedInputs(model, used_inputs(name)).eval()

    # The replacements reproduce the benchmark model: same seed, same output, bit for bit.
    with torch.no_grad():
        torch.manual_seed(a.seed + 1)
        original = wrapped(*trace_inputs)
        with export_patches():
            torch.manual_seed(a.seed + 1)
            patched = wrapped(*trace_inputs)  # draws and freezes Informer's samples
        replacement_diff = float((original - patched).abs().max())
    if replacement_diff != 0.0:
        sys.exit(f"error: {name}: the export-time replacements change the output "
                 f"(max abs diff {replacement_diff})")

    os.makedirs(a.out, exist_ok=True)
    onnx_path = os.path.join(a.out, f"{name}.onnx")
    names = [s[0] for s in specs]
    t0 = time.perf_counter()
    with export_patches(), torch.no_grad():
        torch.onnx.export(wrapped, tuple(trace_inputs), onnx_path, input_names=names,
                          output_names=["y"], opset_version=a.opset, do_constant_folding=True,
                          dynamic_axes={n: {0: "batch"} for n in names + ["y"]})
        expected = {b: wrapped(*xs) for b, xs in check.items()}
    export_s = time.perf_counter() - t0

    check_dir = os.path.join(a.out, f"{name}.check")
    os.makedirs(check_dir, exist_ok=True)
    checks = []
    for b, xs in check.items():
        files = {}
        for n, x in zip(names, xs):
            files[n] = os.path.join(check_dir, f"b{b}_{n}.f32")
            write_f32(files[n], x)
        files["y"] = os.path.join(check_dir, f"b{b}_y.f32")
        write_f32(files["y"], expected[b])
        checks.append({"batch": b, "inputs": {n: files[n] for n in names}, "expected": files["y"],
                       "expected_shape": list(expected[b].shape)})
    side = {"model": name, "onnx": os.path.basename(onnx_path), "opset": a.opset,
            "inputs": [{"name": n, "shape": ["batch"] + s, "fill": f} for n, s, f in specs],
            "output": "y", "checks": checks, "torch": torch.__version__,
            "sizes": {k: getattr(a, k) for k, _, _ in model_size.FLAGS},
            "params": sum(p.numel() for p in model.parameters())}
    side_path = os.path.join(a.out, f"{name}.json")
    with open(side_path, "w") as f:
        json.dump(side, f, indent=1)

    row = {"model": name, "onnx": onnx_path, "export_s": round(export_s, 2),
           "onnx_mb": round(os.path.getsize(onnx_path) / 2**20, 1), "torch": torch.__version__,
           "replacement_max_abs_diff": replacement_diff}
    if not a.no_check:
        r = subprocess.run(["node", os.path.join(HERE, "onnx_latency.js"), "--check", side_path],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if r.returncode != 0:
            sys.exit(f"error: {name}: onnx_latency.js --check exited {r.returncode}:\n{r.stderr}")
        diffs = [json.loads(l) for l in r.stdout.splitlines() if l.startswith("{")]
        row["ort_vs_torch_max_abs_diff"] = {str(d["batch"]): d["max_abs_diff"] for d in diffs}
        worst = max(d["max_abs_diff"] for d in diffs)
        row["check_ok"] = worst <= a.atol
        print(json.dumps(row), flush=True)
        if not row["check_ok"]:
            sys.exit(f"error: {name}: ONNX Runtime differs from PyTorch by {worst} > {a.atol}")
        return row
    print(json.dumps(row), flush=True)
    return row


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="PatchTST", help="model name (TFT = TemporalFusionTransformer)")
    p.add_argument("--out", default="/tmp/attend_onnx", help="folder for NAME.onnx and NAME.json")
    model_size.add_arguments(p)
    p.add_argument("--opset", type=int, default=17)
    p.add_argument("--check_batch", default="1,32", help="batch sizes checked against PyTorch")
    p.add_argument("--atol", type=float, default=1e-4, help="largest |ORT - torch| accepted")
    p.add_argument("--no_check", action="store_true", help="export only")
    p.add_argument("--seed", type=int, default=2)
    a = p.parse_args()
    a.check_batch = [int(b) for b in a.check_batch.split(",")]
    torch.set_num_threads(1)
    export(a, tm.model_name(a.model))


if __name__ == "__main__":
    main()
