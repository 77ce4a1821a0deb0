#!/usr/bin/env python3
"""PyTorch side of attend's speed benchmarks (run by hand, never by tests).

The eight attend models written out in PyTorch following TSLib's definitions (thuml
Time-Series-Library @ 4e938a1: models/{Transformer,Informer,iTransformer,PatchTST,DLinear,
TemporalFusionTransformer}.py, layers/{Embed,SelfAttention_Family,Transformer_EncDec}.py) and the
LSTM / TCN baselines of tests/fixtures/models/{LSTM,TCN}/model.py, with the same
state_dict names. `--mode verify` proves each is the same model: it loads a reference fixture's
weights and batch and checks out_eval (atol 1e-5, rtol 1e-4).

Modes (JSON lines on stdout):
  verify   every fixture (or --fixtures A,B) -> {"fixture", "ok", "max_abs_err", ...}
  epoch    seconds of TSLib's training loop per epoch on ETTh1 (Dataset_ETT_hour borders, features
           M, train mean/std scaling, timeF marks, shuffled batches, Adam, MSE)
  latency  forecast latency at --batch sizes (eval, torch.no_grad, median of --repeats)
  all      epoch then latency

Run with: env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE /usr/bin/python3 bench/torch_models.py ...
"""
import argparse
import json
import math
import os
import struct
import sys
import time
from types import SimpleNamespace

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

import model_size

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
# The reference fixtures (tests/fixtures/README.md); ATTEND_FIXTURES or --fixtures_dir override.
FIXTURES_DIR = os.environ.get("ATTEND_FIXTURES") or os.path.join(ROOT, "tests", "fixtures")

# ---------------------------------------------------------------------------------------------
# safetensors (struct + json + numpy)

_DTYPES = {"F32": np.float32, "F64": np.float64, "I64": np.int64, "I32": np.int32,
           "F16": np.float16, "U8": np.uint8}


def load_safetensors(path):
    """{name: numpy array} of a safetensors file (tensors copied out, alignment-free)."""
    with open(path, "rb") as f:
        raw = f.read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n].decode("utf-8"))
    base = 8 + n
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        b, e = info["data_offsets"]
        dt = np.dtype(_DTYPES[info["dtype"]]).newbyteorder("<")
        arr = np.frombuffer(raw[base + b:base + e], dtype=dt).copy()
        out[name] = arr.reshape(info["shape"])
    return out


# ---------------------------------------------------------------------------------------------
# layers/Embed.py

class PositionalEmbedding(nn.Module):
    def __init__(self, d_model, max_len=5000):
        super().__init__()
        pe = torch.zeros(max_len, d_model).float()
        position = torch.arange(0, max_len).float().unsqueeze(1)
        div_term = (torch.arange(0, d_model, 2).float() * -(math.log(10000.0) / d_model)).exp()
        pe[:, 0::2] = torch.sin(position * div_term)
        pe[:, 1::2] = torch.cos(position * div_term)
        self.register_buffer("pe", pe.unsqueeze(0))

    def forward(self, x):
        return self.pe[:, :x.size(1)]


class TokenEmbedding(nn.Module):
    def __init__(self, c_in, d_model):
        super().__init__()
        self.tokenConv = nn.Conv1d(c_in, d_model, kernel_size=3, padding=1,
                                   padding_mode="circular", bias=False)
        nn.init.kaiming_normal_(self.tokenConv.weight, mode="fan_in", nonlinearity="leaky_relu")

    def forward(self, x):
        return self.tokenConv(x.permute(0, 2, 1)).transpose(1, 2)


class FixedEmbedding(nn.Module):
    def __init__(self, c_in, d_model):
        super().__init__()
        w = torch.zeros(c_in, d_model).float()
        position = torch.arange(0, c_in).float().unsqueeze(1)
        div_term = (torch.arange(0, d_model, 2).float() * -(math.log(10000.0) / d_model)).exp()
        w[:, 0::2] = torch.sin(position * div_term)
        w[:, 1::2] = torch.cos(position * div_term)
        self.emb = nn.Embedding(c_in, d_model)
        self.emb.weight = nn.Parameter(w, requires_grad=False)

    def forward(self, x):
        return self.emb(x).detach()


class TemporalEmbedding(nn.Module):
    def __init__(self, d_model, embed_type="fixed", freq="h"):
        super().__init__()
        Embed = FixedEmbedding if embed_type == "fixed" else nn.Embedding
        if freq == "t":
            self.minute_embed = Embed(4, d_model)
        self.hour_embed = Embed(24, d_model)
        self.weekday_embed = Embed(7, d_model)
        self.day_embed = Embed(32, d_model)
        self.month_embed = Embed(13, d_model)

    def forward(self, x):
        x = x.long()
        minute_x = self.minute_embed(x[:, :, 4]) if hasattr(self, "minute_embed") else 0.
        return (self.hour_embed(x[:, :, 3]) + self.weekday_embed(x[:, :, 2]) +
                self.day_embed(x[:, :, 1]) + self.month_embed(x[:, :, 0]) + minute_x)


FREQ_MAP = {"h": 4, "t": 5, "s": 6, "m": 1, "a": 1, "w": 2, "d": 3, "b": 3}


class TimeFeatureEmbedding(nn.Module):
    def __init__(self, d_model, embed_type="timeF", freq="h"):
        super().__init__()
        self.embed = nn.Linear(FREQ_MAP[freq], d_model, bias=False)

    def forward(self, x):
        return self.embed(x)


class DataEmbedding(nn.Module):
    def __init__(self, c_in, d_model, embed_type="fixed", freq="h", dropout=0.1):
        super().__init__()
        self.value_embedding = TokenEmbedding(c_in, d_model)
        self.position_embedding = PositionalEmbedding(d_model)
        self.temporal_embedding = (TemporalEmbedding(d_model, embed_type, freq)
                                   if embed_type != "timeF"
                                   else TimeFeatureEmbedding(d_model, embed_type, freq))
        self.dropout = nn.Dropout(p=dropout)

    def forward(self, x, x_mark):
        if x_mark is None:
            x = self.value_embedding(x) + self.position_embedding(x)
        else:
            x = (self.value_embedding(x) + self.temporal_embedding(x_mark) +
                 self.position_embedding(x))
        return self.dropout(x)


class DataEmbedding_inverted(nn.Module):
    def __init__(self, c_in, d_model, embed_type="fixed", freq="h", dropout=0.1):
        super().__init__()
        self.value_embedding = nn.Linear(c_in, d_model)
        self.dropout = nn.Dropout(p=dropout)

    def forward(self, x, x_mark):
        x = x.permute(0, 2, 1)  # [B, variates, L]
        if x_mark is None:
            x = self.value_embedding(x)
        else:
            x = self.value_embedding(torch.cat([x, x_mark.permute(0, 2, 1)], 1))
        return self.dropout(x)


class PatchEmbedding(nn.Module):
    def __init__(self, d_model, patch_len, stride, padding, dropout):
        super().__init__()
        self.patch_len = patch_len
        self.stride = stride
        self.padding_patch_layer = nn.ReplicationPad1d((0, padding))
        self.value_embedding = nn.Linear(patch_len, d_model, bias=False)
        self.position_embedding = PositionalEmbedding(d_model)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x):
        n_vars = x.shape[1]
        x = self.padding_patch_layer(x)
        x = x.unfold(dimension=-1, size=self.patch_len, step=self.stride)
        x = torch.reshape(x, (x.shape[0] * x.shape[1], x.shape[2], x.shape[3]))
        x = self.value_embedding(x) + self.position_embedding(x)
        return self.dropout(x), n_vars


# ---------------------------------------------------------------------------------------------
# utils/masking.py, layers/SelfAttention_Family.py

class TriangularCausalMask:
    def __init__(self, B, L, device="cpu"):
        with torch.no_grad():
            self.mask = torch.triu(torch.ones([B, 1, L, L], dtype=torch.bool), diagonal=1).to(device)


class ProbMask:
    def __init__(self, B, H, L, index, scores, device="cpu"):
        _mask = torch.ones(L, scores.shape[-1], dtype=torch.bool).to(device).triu(1)
        _mask_ex = _mask[None, None, :].expand(B, H, L, scores.shape[-1])
        indicator = _mask_ex[torch.arange(B)[:, None, None], torch.arange(H)[None, :, None],
                             index, :].to(device)
        self.mask = indicator.view(scores.shape).to(device)


class FullAttention(nn.Module):
    def __init__(self, mask_flag=True, factor=5, scale=None, attention_dropout=0.1,
                 output_attention=False):
        super().__init__()
        self.scale = scale
        self.mask_flag = mask_flag
        self.output_attention = output_attention
        self.dropout = nn.Dropout(attention_dropout)

    def forward(self, queries, keys, values, attn_mask, tau=None, delta=None):
        B, L, H, E = queries.shape
        scale = self.scale or 1. / math.sqrt(E)
        scores = torch.einsum("blhe,bshe->bhls", queries, keys)
        if self.mask_flag:
            if attn_mask is None:
                attn_mask = TriangularCausalMask(B, L, device=queries.device)
            scores.masked_fill_(attn_mask.mask, -np.inf)
        A = self.dropout(torch.softmax(scale * scores, dim=-1))
        V = torch.einsum("bhls,bshd->blhd", A, values)
        return V.contiguous(), (A if self.output_attention else None)


class ProbAttention(nn.Module):
    def __init__(self, mask_flag=True, factor=5, scale=None, attention_dropout=0.1,
                 output_attention=False):
        super().__init__()
        self.factor = factor
        self.scale = scale
        self.mask_flag = mask_flag
        self.output_attention = output_attention
        self.dropout = nn.Dropout(attention_dropout)

    def _prob_QK(self, Q, K, sample_k, n_top):  # Q: [B, H, L, D]
        B, H, L_K, E = K.shape
        _, _, L_Q, _ = Q.shape
        K_expand = K.unsqueeze(-3).expand(B, H, L_Q, L_K, E)
        index_sample = torch.randint(L_K, (L_Q, sample_k))
        K_sample = K_expand[:, :, torch.arange(L_Q).unsqueeze(1), index_sample, :]
        Q_K_sample = torch.matmul(Q.unsqueeze(-2), K_sample.transpose(-2, -1)).squeeze()
        M = Q_K_sample.max(-1)[0] - torch.div(Q_K_sample.sum(-1), L_K)
        M_top = M.topk(n_top, sorted=False)[1]
        Q_reduce = Q[torch.arange(B)[:, None, None], torch.arange(H)[None, :, None], M_top, :]
        Q_K = torch.matmul(Q_reduce, K.transpose(-2, -1))
        return Q_K, M_top

    def _get_initial_context(self, V, L_Q):
        B, H, L_V, D = V.shape
        if not self.mask_flag:
            V_sum = V.mean(dim=-2)
            return V_sum.unsqueeze(-2).expand(B, H, L_Q, V_sum.shape[-1]).clone()
        assert L_Q == L_V
        return V.cumsum(dim=-2)

    def _update_context(self, context_in, V, scores, index, L_Q, attn_mask):
        B, H, L_V, D = V.shape
        if self.mask_flag:
            attn_mask = ProbMask(B, H, L_Q, index, scores, device=V.device)
            scores.masked_fill_(attn_mask.mask, -np.inf)
        attn = torch.softmax(scores, dim=-1)
        context_in[torch.arange(B)[:, None, None], torch.arange(H)[None, :, None], index, :] = \
            torch.matmul(attn, V).type_as(context_in)
        return context_in, None

    def forward(self, queries, keys, values, attn_mask, tau=None, delta=None):
        B, L_Q, H, D = queries.shape
        _, L_K, _, _ = keys.shape
        queries = queries.transpose(2, 1)
        keys = keys.transpose(2, 1)
        values = values.transpose(2, 1)
        U_part = self.factor * np.ceil(np.log(L_K)).astype("int").item()
        u = self.factor * np.ceil(np.log(L_Q)).astype("int").item()
        U_part = U_part if U_part < L_K else L_K
        u = u if u < L_Q else L_Q
        scores_top, index = self._prob_QK(queries, keys, sample_k=U_part, n_top=u)
        scale = self.scale or 1. / math.sqrt(D)
        scores_top = scores_top * scale
        context = self._get_initial_context(values, L_Q)
        context, attn = self._update_context(context, values, scores_top, index, L_Q, attn_mask)
        return context.contiguous(), attn


class AttentionLayer(nn.Module):
    def __init__(self, attention, d_model, n_heads, d_keys=None, d_values=None):
        super().__init__()
        d_keys = d_keys or (d_model // n_heads)
        d_values = d_values or (d_model // n_heads)
        self.inner_attention = attention
        self.query_projection = nn.Linear(d_model, d_keys * n_heads)
        self.key_projection = nn.Linear(d_model, d_keys * n_heads)
        self.value_projection = nn.Linear(d_model, d_values * n_heads)
        self.out_projection = nn.Linear(d_values * n_heads, d_model)
        self.n_heads = n_heads

    def forward(self, queries, keys, values, attn_mask, tau=None, delta=None):
        B, L, _ = queries.shape
        _, S, _ = keys.shape
        H = self.n_heads
        queries = self.query_projection(queries).view(B, L, H, -1)
        keys = self.key_projection(keys).view(B, S, H, -1)
        values = self.value_projection(values).view(B, S, H, -1)
        out, attn = self.inner_attention(queries, keys, values, attn_mask, tau=tau, delta=delta)
        out = out.view(B, L, -1)
        return self.out_projection(out), attn


# ---------------------------------------------------------------------------------------------
# layers/Transformer_EncDec.py

class ConvLayer(nn.Module):
    def __init__(self, c_in):
        super().__init__()
        self.downConv = nn.Conv1d(c_in, c_in, kernel_size=3, padding=2, padding_mode="circular")
        self.norm = nn.BatchNorm1d(c_in)
        self.activation = nn.ELU()
        self.maxPool = nn.MaxPool1d(kernel_size=3, stride=2, padding=1)

    def forward(self, x):
        x = self.downConv(x.permute(0, 2, 1))
        x = self.maxPool(self.activation(self.norm(x)))
        return x.transpose(1, 2)


class EncoderLayer(nn.Module):
    def __init__(self, attention, d_model, d_ff=None, dropout=0.1, activation="relu"):
        super().__init__()
        d_ff = d_ff or 4 * d_model
        self.attention = attention
        self.conv1 = nn.Conv1d(d_model, d_ff, kernel_size=1)
        self.conv2 = nn.Conv1d(d_ff, d_model, kernel_size=1)
        self.norm1 = nn.LayerNorm(d_model)
        self.norm2 = nn.LayerNorm(d_model)
        self.dropout = nn.Dropout(dropout)
        self.activation = F.relu if activation == "relu" else F.gelu

    def forward(self, x, attn_mask=None, tau=None, delta=None):
        new_x, attn = self.attention(x, x, x, attn_mask=attn_mask, tau=tau, delta=delta)
        x = x + self.dropout(new_x)
        y = x = self.norm1(x)
        y = self.dropout(self.activation(self.conv1(y.transpose(-1, 1))))
        y = self.dropout(self.conv2(y).transpose(-1, 1))
        return self.norm2(x + y), attn


class Encoder(nn.Module):
    def __init__(self, attn_layers, conv_layers=None, norm_layer=None):
        super().__init__()
        self.attn_layers = nn.ModuleList(attn_layers)
        self.conv_layers = nn.ModuleList(conv_layers) if conv_layers is not None else None
        self.norm = norm_layer

    def forward(self, x, attn_mask=None, tau=None, delta=None):
        attns = []
        if self.conv_layers is not None:
            for i, (attn_layer, conv_layer) in enumerate(zip(self.attn_layers, self.conv_layers)):
                delta = delta if i == 0 else None
                x, attn = attn_layer(x, attn_mask=attn_mask, tau=tau, delta=delta)
                x = conv_layer(x)
                attns.append(attn)
            x, attn = self.attn_layers[-1](x, tau=tau, delta=None)
            attns.append(attn)
        else:
            for attn_layer in self.attn_layers:
                x, attn = attn_layer(x, attn_mask=attn_mask, tau=tau, delta=delta)
                attns.append(attn)
        if self.norm is not None:
            x = self.norm(x)
        return x, attns


class DecoderLayer(nn.Module):
    def __init__(self, self_attention, cross_attention, d_model, d_ff=None, dropout=0.1,
                 activation="relu"):
        super().__init__()
        d_ff = d_ff or 4 * d_model
        self.self_attention = self_attention
        self.cross_attention = cross_attention
        self.conv1 = nn.Conv1d(d_model, d_ff, kernel_size=1)
        self.conv2 = nn.Conv1d(d_ff, d_model, kernel_size=1)
        self.norm1 = nn.LayerNorm(d_model)
        self.norm2 = nn.LayerNorm(d_model)
        self.norm3 = nn.LayerNorm(d_model)
        self.dropout = nn.Dropout(dropout)
        self.activation = F.relu if activation == "relu" else F.gelu

    def forward(self, x, cross, x_mask=None, cross_mask=None, tau=None, delta=None):
        x = x + self.dropout(self.self_attention(x, x, x, attn_mask=x_mask, tau=tau,
                                                 delta=None)[0])
        x = self.norm1(x)
        x = x + self.dropout(self.cross_attention(x, cross, cross, attn_mask=cross_mask, tau=tau,
                                                  delta=delta)[0])
        y = x = self.norm2(x)
        y = self.dropout(self.activation(self.conv1(y.transpose(-1, 1))))
        y = self.dropout(self.conv2(y).transpose(-1, 1))
        return self.norm3(x + y)


class Decoder(nn.Module):
    def __init__(self, layers, norm_layer=None, projection=None):
        super().__init__()
        self.layers = nn.ModuleList(layers)
        self.norm = norm_layer
        self.projection = projection

    def forward(self, x, cross, x_mask=None, cross_mask=None, tau=None, delta=None):
        for layer in self.layers:
            x = layer(x, cross, x_mask=x_mask, cross_mask=cross_mask, tau=tau, delta=delta)
        if self.norm is not None:
            x = self.norm(x)
        if self.projection is not None:
            x = self.projection(x)
        return x


def _normalize(x_enc):
    """Non-stationary Transformer normalisation: (x - mean) / std over time, per window."""
    means = x_enc.mean(1, keepdim=True).detach()
    x_enc = x_enc - means
    stdev = torch.sqrt(torch.var(x_enc, dim=1, keepdim=True, unbiased=False) + 1e-5)
    return x_enc / stdev, means, stdev


def _denormalize(dec_out, means, stdev, pred_len):
    dec_out = dec_out * (stdev[:, 0, :].unsqueeze(1).repeat(1, pred_len, 1))
    return dec_out + (means[:, 0, :].unsqueeze(1).repeat(1, pred_len, 1))


# ---------------------------------------------------------------------------------------------
# models

class Transformer(nn.Module):
    """models/Transformer.py (long-term forecast)."""

    def __init__(self, c):
        super().__init__()
        self.pred_len = c.pred_len
        self.enc_embedding = DataEmbedding(c.enc_in, c.d_model, c.embed, c.freq, c.dropout)
        self.encoder = Encoder([
            EncoderLayer(AttentionLayer(FullAttention(False, c.factor, attention_dropout=c.dropout),
                                        c.d_model, c.n_heads),
                         c.d_model, c.d_ff, dropout=c.dropout, activation=c.activation)
            for _ in range(c.e_layers)], norm_layer=nn.LayerNorm(c.d_model))
        self.dec_embedding = DataEmbedding(c.dec_in, c.d_model, c.embed, c.freq, c.dropout)
        self.decoder = Decoder([
            DecoderLayer(
                AttentionLayer(FullAttention(True, c.factor, attention_dropout=c.dropout),
                               c.d_model, c.n_heads),
                AttentionLayer(FullAttention(False, c.factor, attention_dropout=c.dropout),
                               c.d_model, c.n_heads),
                c.d_model, c.d_ff, dropout=c.dropout, activation=c.activation)
            for _ in range(c.d_layers)],
            norm_layer=nn.LayerNorm(c.d_model), projection=nn.Linear(c.d_model, c.c_out))

    def forward(self, x_enc, x_mark_enc, x_dec, x_mark_dec):
        enc_out, _ = self.encoder(self.enc_embedding(x_enc, x_mark_enc), attn_mask=None)
        dec_out = self.decoder(self.dec_embedding(x_dec, x_mark_dec), enc_out)
        return dec_out[:, -self.pred_len:, :]


class Informer(nn.Module):
    """models/Informer.py (long-term forecast): ProbSparse attention, distilling conv layers."""

    def __init__(self, c):
        super().__init__()
        self.pred_len = c.pred_len
        self.enc_embedding = DataEmbedding(c.enc_in, c.d_model, c.embed, c.freq, c.dropout)
        self.dec_embedding = DataEmbedding(c.dec_in, c.d_model, c.embed, c.freq, c.dropout)
        self.encoder = Encoder(
            [EncoderLayer(AttentionLayer(ProbAttention(False, c.factor, attention_dropout=c.dropout),
                                         c.d_model, c.n_heads),
                          c.d_model, c.d_ff, dropout=c.dropout, activation=c.activation)
             for _ in range(c.e_layers)],
            [ConvLayer(c.d_model) for _ in range(c.e_layers - 1)] if c.distil else None,
            norm_layer=nn.LayerNorm(c.d_model))
        self.decoder = Decoder([
            DecoderLayer(
                AttentionLayer(ProbAttention(True, c.factor, attention_dropout=c.dropout),
                               c.d_model, c.n_heads),
                AttentionLayer(ProbAttention(False, c.factor, attention_dropout=c.dropout),
                               c.d_model, c.n_heads),
                c.d_model, c.d_ff, dropout=c.dropout, activation=c.activation)
            for _ in range(c.d_layers)],
            norm_layer=nn.LayerNorm(c.d_model), projection=nn.Linear(c.d_model, c.c_out))

    def forward(self, x_enc, x_mark_enc, x_dec, x_mark_dec):
        enc_out = self.enc_embedding(x_enc, x_mark_enc)
        dec_out = self.dec_embedding(x_dec, x_mark_dec)
        enc_out, _ = self.encoder(enc_out, attn_mask=None)
        dec_out = self.decoder(dec_out, enc_out, x_mask=None, cross_mask=None)
        return dec_out[:, -self.pred_len:, :]


class ITransformer(nn.Module):
    """models/iTransformer.py (long-term forecast): variates as tokens."""

    def __init__(self, c):
        super().__init__()
        self.pred_len = c.pred_len
        self.enc_embedding = DataEmbedding_inverted(c.seq_len, c.d_model, c.embed, c.freq,
                                                    c.dropout)
        self.encoder = Encoder([
            EncoderLayer(AttentionLayer(FullAttention(False, c.factor, attention_dropout=c.dropout),
                                        c.d_model, c.n_heads),
                         c.d_model, c.d_ff, dropout=c.dropout, activation=c.activation)
            for _ in range(c.e_layers)], norm_layer=nn.LayerNorm(c.d_model))
        self.projection = nn.Linear(c.d_model, c.pred_len, bias=True)

    def forward(self, x_enc, x_mark_enc, x_dec, x_mark_dec):
        x_enc, means, stdev = _normalize(x_enc)
        _, _, N = x_enc.shape
        enc_out, _ = self.encoder(self.enc_embedding(x_enc, x_mark_enc), attn_mask=None)
        dec_out = self.projection(enc_out).permute(0, 2, 1)[:, :, :N]
        return _denormalize(dec_out, means, stdev, self.pred_len)[:, -self.pred_len:, :]


class Transpose(nn.Module):
    def __init__(self, *dims):
        super().__init__()
        self.dims = dims

    def forward(self, x):
        return x.transpose(*self.dims)


class FlattenHead(nn.Module):
    def __init__(self, n_vars, nf, target_window, head_dropout=0):
        super().__init__()
        self.flatten = nn.Flatten(start_dim=-2)
        self.linear = nn.Linear(nf, target_window)
        self.dropout = nn.Dropout(head_dropout)

    def forward(self, x):  # [B, nvars, d_model, patch_num]
        return self.dropout(self.linear(self.flatten(x)))


class PatchTST(nn.Module):
    """models/PatchTST.py (long-term forecast): patch_len 16, stride 8."""

    def __init__(self, c, patch_len=16, stride=8):
        super().__init__()
        self.pred_len = c.pred_len
        self.patch_embedding = PatchEmbedding(c.d_model, patch_len, stride, stride, c.dropout)
        self.encoder = Encoder([
            EncoderLayer(AttentionLayer(FullAttention(False, c.factor, attention_dropout=c.dropout),
                                        c.d_model, c.n_heads),
                         c.d_model, c.d_ff, dropout=c.dropout, activation=c.activation)
            for _ in range(c.e_layers)],
            norm_layer=nn.Sequential(Transpose(1, 2), nn.BatchNorm1d(c.d_model), Transpose(1, 2)))
        self.head_nf = c.d_model * int((c.seq_len - patch_len) / stride + 2)
        self.head = FlattenHead(c.enc_in, self.head_nf, c.pred_len, head_dropout=c.dropout)

    def forward(self, x_enc, x_mark_enc, x_dec, x_mark_dec):
        x_enc, means, stdev = _normalize(x_enc)
        enc_out, n_vars = self.patch_embedding(x_enc.permute(0, 2, 1))
        enc_out, _ = self.encoder(enc_out)
        enc_out = torch.reshape(enc_out, (-1, n_vars, enc_out.shape[-2], enc_out.shape[-1]))
        dec_out = self.head(enc_out.permute(0, 1, 3, 2)).permute(0, 2, 1)
        return _denormalize(dec_out, means, stdev, self.pred_len)[:, -self.pred_len:, :]


class MovingAvg(nn.Module):
    """layers/Autoformer_EncDec.py moving_avg: edge-replicated average over time."""

    def __init__(self, kernel_size, stride):
        super().__init__()
        self.kernel_size = kernel_size
        self.avg = nn.AvgPool1d(kernel_size=kernel_size, stride=stride, padding=0)

    def forward(self, x):
        front = x[:, 0:1, :].repeat(1, (self.kernel_size - 1) // 2, 1)
        end = x[:, -1:, :].repeat(1, (self.kernel_size - 1) // 2, 1)
        x = torch.cat([front, x, end], dim=1)
        return self.avg(x.permute(0, 2, 1)).permute(0, 2, 1)


class DLinear(nn.Module):
    """models/DLinear.py: Model(configs, individual=False)."""

    def __init__(self, c, individual=False):
        super().__init__()
        self.pred_len = c.pred_len
        self.moving_avg = MovingAvg(c.moving_avg, stride=1)
        self.individual = individual
        self.channels = c.enc_in
        if individual:
            self.Linear_Seasonal = nn.ModuleList()
            self.Linear_Trend = nn.ModuleList()
            for i in range(self.channels):
                self.Linear_Seasonal.append(nn.Linear(c.seq_len, c.pred_len))
                self.Linear_Trend.append(nn.Linear(c.seq_len, c.pred_len))
                self.Linear_Seasonal[i].weight = nn.Parameter((1 / c.seq_len) * torch.ones([c.pred_len, c.seq_len]))
                self.Linear_Trend[i].weight = nn.Parameter((1 / c.seq_len) * torch.ones([c.pred_len, c.seq_len]))
        else:
            self.Linear_Seasonal = nn.Linear(c.seq_len, c.pred_len)
            self.Linear_Trend = nn.Linear(c.seq_len, c.pred_len)
            self.Linear_Seasonal.weight = nn.Parameter((1 / c.seq_len) * torch.ones([c.pred_len, c.seq_len]))
            self.Linear_Trend.weight = nn.Parameter((1 / c.seq_len) * torch.ones([c.pred_len, c.seq_len]))

    def forward(self, x_enc, x_mark_enc, x_dec, x_mark_dec):
        trend = self.moving_avg(x_enc)
        seasonal = x_enc - trend
        seasonal, trend = seasonal.permute(0, 2, 1), trend.permute(0, 2, 1)
        if self.individual:
            seasonal_output = torch.zeros([seasonal.size(0), seasonal.size(1), self.pred_len],
                                          dtype=seasonal.dtype).to(seasonal.device)
            trend_output = torch.zeros([trend.size(0), trend.size(1), self.pred_len],
                                       dtype=trend.dtype).to(trend.device)
            for i in range(self.channels):
                seasonal_output[:, i, :] = self.Linear_Seasonal[i](seasonal[:, i, :])
                trend_output[:, i, :] = self.Linear_Trend[i](trend[:, i, :])
        else:
            seasonal_output = self.Linear_Seasonal(seasonal)
            trend_output = self.Linear_Trend(trend)
        x = seasonal_output + trend_output
        return x.permute(0, 2, 1)[:, -self.pred_len:, :]


class LSTMModel(nn.Module):
    """tests/fixtures/models/LSTM/model.py."""

    def __init__(self, c):
        super().__init__()
        self.pred_len, self.c_out = c.pred_len, c.c_out
        self.lstm = nn.LSTM(c.enc_in, c.d_model, num_layers=c.e_layers, batch_first=True)
        self.head = nn.Linear(c.d_model, c.pred_len * c.c_out)

    def forward(self, x_enc, x_mark_enc, x_dec, x_mark_dec):
        x_enc, means, stdev = _normalize(x_enc)
        _, (h_n, _) = self.lstm(x_enc)
        dec_out = self.head(h_n[-1]).view(-1, self.pred_len, self.c_out)
        return _denormalize(dec_out, means, stdev, self.pred_len)


class TemporalBlock(nn.Module):
    def __init__(self, n_inputs, n_outputs, kernel_size, dilation):
        super().__init__()
        self.chomp = (kernel_size - 1) * dilation
        self.conv1 = nn.Conv1d(n_inputs, n_outputs, kernel_size, padding=self.chomp, dilation=dilation)
        self.conv2 = nn.Conv1d(n_outputs, n_outputs, kernel_size, padding=self.chomp, dilation=dilation)
        self.downsample = nn.Conv1d(n_inputs, n_outputs, 1) if n_inputs != n_outputs else None

    def forward(self, x):
        y = torch.relu(self.conv1(x)[:, :, :-self.chomp])
        y = torch.relu(self.conv2(y)[:, :, :-self.chomp])
        res = x if self.downsample is None else self.downsample(x)
        return torch.relu(y + res)


class TCN(nn.Module):
    """tests/fixtures/models/TCN/model.py (kernel 3, dilation 2**i)."""

    def __init__(self, c):
        super().__init__()
        self.pred_len, self.c_out = c.pred_len, c.c_out
        self.blocks = nn.ModuleList([
            TemporalBlock(c.enc_in if i == 0 else c.d_model, c.d_model, 3, 2 ** i)
            for i in range(c.e_layers)])
        self.head = nn.Linear(c.d_model, c.pred_len * c.c_out)

    def forward(self, x_enc, x_mark_enc, x_dec, x_mark_dec):
        x_enc, means, stdev = _normalize(x_enc)
        x = x_enc.permute(0, 2, 1)
        for block in self.blocks:
            x = block(x)
        dec_out = self.head(x[:, :, -1]).view(-1, self.pred_len, self.c_out)
        return _denormalize(dec_out, means, stdev, self.pred_len)


# ---- models/TemporalFusionTransformer.py (no static columns; every data column observed)

def get_known_len(embed_type, freq):
    if embed_type != "timeF":
        return 5 if freq == "t" else 4
    return FREQ_MAP[freq]


class TFTTemporalEmbedding(TemporalEmbedding):
    def forward(self, x):
        x = x.long()
        parts = [self.month_embed(x[:, :, 0]), self.day_embed(x[:, :, 1]),
                 self.weekday_embed(x[:, :, 2]), self.hour_embed(x[:, :, 3])]
        if hasattr(self, "minute_embed"):
            parts.append(self.minute_embed(x[:, :, 4]))
        return torch.stack(parts, dim=-2)


class TFTTimeFeatureEmbedding(nn.Module):
    def __init__(self, d_model, embed_type="timeF", freq="h"):
        super().__init__()
        self.embed = nn.ModuleList([nn.Linear(1, d_model, bias=False)
                                    for _ in range(get_known_len(embed_type, freq))])

    def forward(self, x):
        return torch.stack([embed(x[:, :, i].unsqueeze(-1)) for i, embed in enumerate(self.embed)],
                           dim=-2)


class TFTEmbedding(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.pred_len = c.pred_len
        self.observed_len = c.enc_in
        self.observed_embedding = nn.ModuleList([DataEmbedding(1, c.d_model, dropout=c.dropout)
                                                 for _ in range(self.observed_len)])
        self.known_embedding = (TFTTemporalEmbedding(c.d_model, c.embed, c.freq) if c.embed != "timeF"
                                else TFTTimeFeatureEmbedding(c.d_model, c.embed, c.freq))

    def forward(self, x_enc, x_mark_enc, x_dec, x_mark_dec):
        observed = torch.stack([embed(x_enc[:, :, i].unsqueeze(-1), None)
                                for i, embed in enumerate(self.observed_embedding)], dim=-2)
        x_mark = torch.cat([x_mark_enc, x_mark_dec[:, -self.pred_len:, :]], dim=-2)
        return None, observed, self.known_embedding(x_mark)


class GLU(nn.Module):
    def __init__(self, input_size, output_size):
        super().__init__()
        self.fc1 = nn.Linear(input_size, output_size)
        self.fc2 = nn.Linear(input_size, output_size)
        self.glu = nn.GLU()

    def forward(self, x):
        return self.glu(torch.cat([self.fc1(x), self.fc2(x)], dim=-1))


class GateAddNorm(nn.Module):
    def __init__(self, input_size, output_size):
        super().__init__()
        self.glu = GLU(input_size, input_size)
        self.projection = (nn.Linear(input_size, output_size) if input_size != output_size
                           else nn.Identity())
        self.layer_norm = nn.LayerNorm(output_size)

    def forward(self, x, skip_a):
        return self.layer_norm(self.projection(self.glu(x) + skip_a))


class GRN(nn.Module):
    def __init__(self, input_size, output_size, hidden_size=None, context_size=None, dropout=0.0):
        super().__init__()
        hidden_size = input_size if hidden_size is None else hidden_size
        self.lin_a = nn.Linear(input_size, hidden_size)
        self.lin_c = nn.Linear(context_size, hidden_size) if context_size is not None else None
        self.lin_i = nn.Linear(hidden_size, hidden_size)
        self.dropout = nn.Dropout(dropout)
        self.project_a = (nn.Linear(input_size, hidden_size) if hidden_size != input_size
                          else nn.Identity())
        self.gate = GateAddNorm(hidden_size, output_size)

    def forward(self, a, c=None):
        x = self.lin_a(a)
        if c is not None:
            x = x + self.lin_c(c).unsqueeze(1)
        x = self.dropout(self.lin_i(F.elu(x)))
        return self.gate(x, self.project_a(a))


class VariableSelectionNetwork(nn.Module):
    def __init__(self, d_model, variable_num, dropout=0.0):
        super().__init__()
        self.joint_grn = GRN(d_model * variable_num, variable_num, hidden_size=d_model,
                             context_size=d_model, dropout=dropout)
        self.variable_grns = nn.ModuleList([GRN(d_model, d_model, dropout=dropout)
                                            for _ in range(variable_num)])

    def forward(self, x, context=None):
        weights = F.softmax(self.joint_grn(torch.flatten(x, start_dim=-2), context), dim=-1)
        processed = torch.stack([grn(x[..., i, :]) for i, grn in enumerate(self.variable_grns)],
                                dim=-1)
        return torch.matmul(processed, weights.unsqueeze(-1)).squeeze(-1)


class StaticCovariateEncoder(nn.Module):
    def __init__(self, d_model, static_len, dropout=0.0):
        super().__init__()
        self.static_vsn = VariableSelectionNetwork(d_model, static_len) if static_len else None
        self.grns = nn.ModuleList([GRN(d_model, d_model, dropout=dropout) for _ in range(4)])

    def forward(self, static_input):
        if static_input is not None:
            f = self.static_vsn(static_input)
            return [grn(f) for grn in self.grns]
        return [None] * 4


class InterpretableMultiHeadAttention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.n_heads = c.n_heads
        self.d_head = c.d_model // c.n_heads
        self.qkv_linears = nn.Linear(c.d_model, (2 * self.n_heads + 1) * self.d_head, bias=False)
        self.out_projection = nn.Linear(self.d_head, c.d_model, bias=False)
        self.out_dropout = nn.Dropout(c.dropout)
        self.scale = self.d_head ** -0.5
        T = c.seq_len + c.pred_len
        self.register_buffer("mask", torch.triu(torch.full((T, T), float("-inf")), 1))

    def forward(self, x):
        B, T, _ = x.shape
        q, k, v = self.qkv_linears(x).split(
            (self.n_heads * self.d_head, self.n_heads * self.d_head, self.d_head), dim=-1)
        q = q.view(B, T, self.n_heads, self.d_head)
        k = k.view(B, T, self.n_heads, self.d_head)
        v = v.view(B, T, self.d_head)
        score = torch.matmul(q.permute((0, 2, 1, 3)), k.permute((0, 2, 3, 1)))
        score.mul_(self.scale)
        prob = F.softmax(score + self.mask, dim=3)
        out = torch.mean(torch.matmul(prob, v.unsqueeze(1)), dim=1)
        return self.out_dropout(self.out_projection(out))


class TemporalFusionDecoder(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.pred_len = c.pred_len
        self.history_encoder = nn.LSTM(c.d_model, c.d_model, batch_first=True)
        self.future_encoder = nn.LSTM(c.d_model, c.d_model, batch_first=True)
        self.gate_after_lstm = GateAddNorm(c.d_model, c.d_model)
        self.enrichment_grn = GRN(c.d_model, c.d_model, context_size=c.d_model, dropout=c.dropout)
        self.attention = InterpretableMultiHeadAttention(c)
        self.gate_after_attention = GateAddNorm(c.d_model, c.d_model)
        self.position_wise_grn = GRN(c.d_model, c.d_model, dropout=c.dropout)
        self.gate_final = GateAddNorm(c.d_model, c.d_model)
        self.out_projection = nn.Linear(c.d_model, c.c_out)

    def forward(self, history_input, future_input, c_c, c_h, c_e):
        state0 = (c_c.unsqueeze(0), c_h.unsqueeze(0)) if c_c is not None and c_h is not None else None
        historical, state = self.history_encoder(history_input, state0)
        future, _ = self.future_encoder(future_input, state)
        temporal_input = torch.cat([history_input, future_input], dim=1)
        temporal = self.gate_after_lstm(torch.cat([historical, future], dim=1), temporal_input)
        enriched = self.enrichment_grn(temporal, c_e)
        att = self.attention(enriched)
        att = self.gate_after_attention(att[:, -self.pred_len:], enriched[:, -self.pred_len:])
        out = self.gate_final(self.position_wise_grn(att), temporal[:, -self.pred_len:])
        return self.out_projection(out)


class TemporalFusionTransformer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.seq_len, self.pred_len = c.seq_len, c.pred_len
        known_len = get_known_len(c.embed, c.freq)
        self.embedding = TFTEmbedding(c)
        self.static_encoder = StaticCovariateEncoder(c.d_model, 0)
        self.history_vsn = VariableSelectionNetwork(c.d_model, c.enc_in + known_len)
        self.future_vsn = VariableSelectionNetwork(c.d_model, known_len)
        self.temporal_fusion_decoder = TemporalFusionDecoder(c)

    def forward(self, x_enc, x_mark_enc, x_dec, x_mark_dec):
        x_enc, means, stdev = _normalize(x_enc)
        static_input, observed, known = self.embedding(x_enc, x_mark_enc, x_dec, x_mark_dec)
        c_s, c_c, c_h, c_e = self.static_encoder(static_input)
        history = self.history_vsn(torch.cat([observed, known[:, :self.seq_len]], dim=-2), c_s)
        future = self.future_vsn(known[:, self.seq_len:], c_s)
        dec_out = self.temporal_fusion_decoder(history, future, c_c, c_h, c_e)
        return _denormalize(dec_out, means, stdev, self.pred_len)


MODELS = {
    "Transformer": Transformer, "Informer": Informer, "iTransformer": ITransformer,
    "PatchTST": PatchTST, "DLinear": DLinear, "LSTM": LSTMModel, "TCN": TCN,
    "TemporalFusionTransformer": TemporalFusionTransformer,
}
ALIASES = {"TFT": "TemporalFusionTransformer"}
USES_DECODER = {"Transformer", "Informer"}
USES_MARKS = {"Transformer", "Informer", "iTransformer", "TemporalFusionTransformer"}


def build_model(name, cfg):
    """MODELS[name] built from a config namespace; DLinear takes `individual` from it (as attend's
    --individual; TSLib's exp never passes the flag to the constructor)."""
    if name == "DLinear":
        return DLinear(cfg, individual=getattr(cfg, "individual", False))
    return MODELS[name](cfg)


def model_name(name):
    n = ALIASES.get(name, name)
    if n not in MODELS:
        sys.exit(f"error: unknown model '{name}'; known: {', '.join(sorted(MODELS))} (TFT)")
    return n


# ---------------------------------------------------------------------------------------------
# verify

FIXTURES = ["DLinear", "DLinear_individual", "Informer", "LSTM", "PatchTST", "TCN",
            "TemporalFusionTransformer", "Transformer", "iTransformer"]


def verify(fixtures_dir, fixture, atol=1e-5, rtol=1e-4):
    d = os.path.join(fixtures_dir, "models", fixture)
    with open(os.path.join(d, "config.json")) as f:
        cfg = SimpleNamespace(**json.load(f))
    torch.manual_seed(0)
    model = build_model(cfg.model, cfg).float()
    weights = {k: torch.from_numpy(v) for k, v in load_safetensors(os.path.join(d, "weights.safetensors")).items()}
    missing, unexpected = model.load_state_dict(weights, strict=False)
    batch = {k: torch.from_numpy(v) for k, v in load_safetensors(os.path.join(d, "batch.safetensors")).items()}
    expected = load_safetensors(os.path.join(d, "expected.safetensors"))["out_eval"]
    model.eval()
    with torch.no_grad():
        out = model(batch["x_enc"], batch["x_mark_enc"], batch["x_dec"], batch["x_mark_dec"])
    out = out[:, -cfg.pred_len:, :].numpy()
    ok_shape = out.shape == expected.shape
    err = float(np.max(np.abs(out - expected))) if ok_shape else float("inf")
    close = ok_shape and bool(np.allclose(out, expected, atol=atol, rtol=rtol))
    return {"fixture": fixture, "model": cfg.model, "ok": close and not missing and not unexpected,
            "max_abs_err": err, "shape": list(out.shape), "missing": list(missing),
            "unexpected": list(unexpected), "state_dict_entries": len(model.state_dict())}


# ---------------------------------------------------------------------------------------------
# ETTh1 (Dataset_ETT_hour, features M, timeF marks) and timing

def load_etth1(path, seq_len, label_len, pred_len):
    """Train split of Dataset_ETT_hour: scaled values, timeF marks and the window count."""
    with open(path) as f:
        header = f.readline().strip().split(",")
    dates = np.loadtxt(path, delimiter=",", skiprows=1, usecols=0, dtype="U19")
    values = np.loadtxt(path, delimiter=",", skiprows=1, usecols=range(1, len(header)),
                        dtype=np.float64)
    b1, b2 = 0, 12 * 30 * 24
    train = values[b1:b2]
    mean, std = train.mean(0), train.std(0)
    data = ((values[b1:b2] - mean) / std).astype(np.float32)
    ts = np.array(dates[b1:b2], dtype="datetime64[h]")
    day = ts.astype("datetime64[D]")
    hour = (ts - day).astype(np.int64)
    dow = (day.astype(np.int64) + 3) % 7  # 1970-01-01 was a Thursday; Monday = 0
    dom = (day - day.astype("datetime64[M]")).astype(np.int64)  # day of month - 1
    doy = (day - day.astype("datetime64[Y]")).astype(np.int64)  # day of year - 1
    marks = np.stack([hour / 23.0 - 0.5, dow / 6.0 - 0.5, dom / 30.0 - 0.5, doy / 365.0 - 0.5],
                     axis=1).astype(np.float32)
    n = len(data) - seq_len - pred_len + 1
    return data, marks, n


def verify_data(fixtures_dir, path, atol=1e-5):
    """The ETTh1 train windows above against the reference Dataset_ETT_hour fixture."""
    ref = load_safetensors(os.path.join(fixtures_dir, "data", "ETTh1_M.safetensors"))
    data, marks, n = load_etth1(path, 96, 48, 96)
    errs = [abs(n - int(ref["train.len"]))]
    for i in (0, 1, 17, n - 1):
        errs.append(float(np.max(np.abs(data[i:i + 96] - ref[f"train.{i}.seq_x"]))))
        errs.append(float(np.max(np.abs(data[i + 48:i + 192] - ref[f"train.{i}.seq_y"]))))
        errs.append(float(np.max(np.abs(marks[i:i + 96] - ref[f"train.{i}.seq_x_mark"]))))
        errs.append(float(np.max(np.abs(marks[i + 48:i + 192] - ref[f"train.{i}.seq_y_mark"]))))
    return {"fixture": "data/ETTh1_M (train windows)", "ok": max(errs) <= atol,
            "max_abs_err": max(errs), "windows": n}


def config_from_args(a, name):
    return SimpleNamespace(task_name="long_term_forecast", model=name, seq_len=a.seq_len,
                           label_len=a.label_len, pred_len=a.pred_len, enc_in=7, dec_in=7, c_out=7,
                           d_model=a.d_model, n_heads=a.n_heads, e_layers=a.e_layers,
                           d_layers=a.d_layers, d_ff=a.d_ff, factor=a.factor, dropout=a.dropout,
                           moving_avg=a.moving_avg, distil=True, embed="timeF", freq="h",
                           activation="gelu", output_attention=False, data="ETTh1")


def time_epochs(a, name):
    cfg = config_from_args(a, name)
    torch.manual_seed(a.seed)
    np.random.seed(a.seed)
    model = build_model(name, cfg).float()
    data, marks, n = load_etth1(a.data, cfg.seq_len, cfg.label_len, cfg.pred_len)
    opt = torch.optim.Adam(model.parameters(), lr=a.learning_rate)
    crit = nn.MSELoss()
    L, Lb, P = cfg.seq_len, cfg.label_len, cfg.pred_len
    x_off = np.arange(L)[None, :]
    y_off = np.arange(L - Lb, L + P)[None, :]
    data_t, marks_t = torch.from_numpy(data), torch.from_numpy(marks)
    nb = (n + a.batch_size - 1) // a.batch_size
    if a.max_batches > 0:
        nb = min(nb, a.max_batches)
    rows = []
    for epoch in range(a.epochs):
        model.train()
        order = np.random.permutation(n)
        t0 = time.perf_counter()
        for b in range(nb):
            idx = order[b * a.batch_size:(b + 1) * a.batch_size][:, None]
            xi, yi = torch.from_numpy(idx + x_off), torch.from_numpy(idx + y_off)
            batch_x, batch_y = data_t[xi], data_t[yi]
            batch_x_mark, batch_y_mark = marks_t[xi], marks_t[yi]
            opt.zero_grad()
            dec_inp = torch.cat([batch_y[:, :Lb, :], torch.zeros_like(batch_y[:, -P:, :])], dim=1)
            outputs = model(batch_x, batch_x_mark, dec_inp, batch_y_mark)[:, -P:, :]
            loss = crit(outputs, batch_y[:, -P:, :])
            loss.backward()
            opt.step()
        secs = time.perf_counter() - t0
        rows.append({"side": "torch", "mode": "epoch", "model": name, "epoch": epoch + 1,
                     "threads": torch.get_num_threads(), "batches": nb,
                     "full_epoch_batches": (n + a.batch_size - 1) // a.batch_size,
                     "seconds": secs, "loss": float(loss.item()),
                     "seconds_per_epoch": secs * ((n + a.batch_size - 1) // a.batch_size) / nb})
    return rows


def time_latency(a, name):
    cfg = config_from_args(a, name)
    torch.manual_seed(a.seed)
    model = build_model(name, cfg).float().eval()
    rows = []
    Ly = cfg.label_len + cfg.pred_len
    with torch.no_grad():
        for B in a.batch:
            x_enc = torch.randn(B, cfg.seq_len, cfg.enc_in)
            x_dec = torch.zeros(B, Ly, cfg.dec_in) if name in USES_DECODER else None
            xm = torch.rand(B, cfg.seq_len, 4) - 0.5 if name in USES_MARKS else None
            ym = torch.rand(B, Ly, 4) - 0.5 if name in USES_MARKS else None
            for _ in range(a.warmup):
                model(x_enc, xm, x_dec, ym)
            ms = []
            for _ in range(a.repeats):
                t0 = time.perf_counter()
                model(x_enc, xm, x_dec, ym)
                ms.append((time.perf_counter() - t0) * 1e3)
            ms.sort()
            rows.append({"side": "torch", "mode": "latency", "model": name, "batch": B,
                         "threads": torch.get_num_threads(), "median_ms": ms[len(ms) // 2],
                         "min_ms": ms[0], "repeats": a.repeats,
                         "params": sum(p.numel() for p in model.parameters()),
                         "trainable_params": sum(p.numel() for p in model.parameters()
                                                 if p.requires_grad)})
    return rows


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--mode", choices=["verify", "epoch", "latency", "all"], default="all")
    p.add_argument("--model", default="PatchTST", help="model name (TFT = TemporalFusionTransformer)")
    p.add_argument("--fixtures", default=",".join(FIXTURES), help="verify: fixture folders")
    p.add_argument("--threads", type=int, default=0, help="torch.set_num_threads (0: torch's default)")
    p.add_argument("--fixtures_dir", default=FIXTURES_DIR, help="verify: the reference fixture folder")
    p.add_argument("--data", default=os.path.join(ROOT, "data", "ETTh1.csv"))
    model_size.add_arguments(p)
    p.add_argument("--batch_size", type=int, default=32, help="epoch: training batch size")
    p.add_argument("--learning_rate", type=float, default=1e-4)
    p.add_argument("--epochs", type=int, default=1, help="epoch: epochs timed")
    p.add_argument("--max_batches", type=int, default=0, help="epoch: stop after N batches (0: all)")
    p.add_argument("--batch", default="1,32", help="latency: comma-separated batch sizes")
    p.add_argument("--repeats", type=int, default=20)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--seed", type=int, default=2)
    a = p.parse_args()
    a.batch = [int(b) for b in a.batch.split(",")]
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    if a.mode == "verify":
        bad = 0
        r = verify_data(a.fixtures_dir, a.data)
        bad += not r["ok"]
        print(json.dumps(r), flush=True)
        for fx in a.fixtures.split(","):
            r = verify(a.fixtures_dir, fx)
            bad += not r["ok"]
            print(json.dumps(r), flush=True)
        sys.exit(1 if bad else 0)
    name = model_name(a.model)
    rows = []
    if a.mode in ("epoch", "all"):
        rows += time_epochs(a, name)
    if a.mode in ("latency", "all"):
        rows += time_latency(a, name)
    for r in rows:
        print(json.dumps(r), flush=True)


if __name__ == "__main__":
    main()
