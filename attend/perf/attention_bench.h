#pragma once
// Timing of the attention paths side by side (the library behind `attend bench attention`).
#include <string>
#include <vector>

#include "attend/tensor/tensor.h"

namespace attend::perf {

struct AttentionBenchConfig {
  int64_t batch = 32, heads = 8, len_q = 96, len_k = 96, dim = 64;
  bool causal = false;
  bool backward = false;  // time forward + backward instead of forward only
  int threads = 0;        // 0 = all hardware threads
  int warmup = 2;
  int repeats = 10;
  bool prob_sparse = false;     // also time Informer's ProbSparse attention (self-attention shapes)
  int64_t factor = 5;           // ProbSparse sampling factor
  bool reference = true;        // also time the reference (materialising) path
  std::string kernel = "auto";  // fused kernel: auto | tiles | rows
};

struct AttentionBenchResult {
  std::string path;  // "fused", "reference", "probsparse"
  double median_ms = 0;
  double min_ms = 0;
  double gflops = 0;          // model FLOPs / median time (see flops())
  double peak_extra_mib = 0;  // peak allocator bytes above the inputs during one call
};

// Model FLOPs: forward 4·B·H·Lq·Lk·D (Q·Kᵀ and P·V), backward twice that; causal halves both.
double attention_flops(const AttentionBenchConfig& c);

std::vector<AttentionBenchResult> bench_attention(const AttentionBenchConfig& c);

// A table (or JSON with json = true) of the results, with the configuration in the header.
std::string format_attention_bench(const AttentionBenchConfig& c,
                                   const std::vector<AttentionBenchResult>& results, bool json);

}  // namespace attend::perf
