#pragma once
// Multi-head attention as TSLib's AttentionLayer (query/key/value/out projections) around an inner
// attention: FullAttention (the fused scaled_dot_product_attention) or Informer's ProbAttention.
// Used as self-attention (forward(x)) or cross-attention (forward(queries, keys, values)).
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "attend/nn/linear.h"
#include "attend/nn/module.h"

namespace attend::nn {

// Which attention of a model a layer is (for capture and explain).
enum class AttentionRole { EncoderSelf, DecoderSelf, Cross };
const char* attention_role_name(AttentionRole role);

// One recorded attention map.
struct CapturedAttention {
  std::string layer;  // dotted module name, e.g. "encoder.attn_layers.0.attention"
  AttentionRole role;
  Tensor weights;  // (B, H, Lq, Lk), detached
};

// Collects the weights of every attention layer it is attached to (explain mode). Off (nullptr)
// by default; layers then take the fused path and store nothing.
class AttentionCapture {
 public:
  void add(CapturedAttention record) { records_.push_back(std::move(record)); }
  const std::vector<CapturedAttention>& records() const { return records_; }
  void clear() { records_.clear(); }

 private:
  std::vector<CapturedAttention> records_;
};

// ProbSparse key samples to replay, in evaluation order (to reproduce a recorded run).
class IndexSampleQueue {
 public:
  explicit IndexSampleQueue(std::vector<Tensor> samples) : samples_(std::move(samples)) {}
  // The next sample; throws when all were used.
  Tensor next();
  size_t used() const { return next_; }

 private:
  std::vector<Tensor> samples_;
  size_t next_ = 0;
};

struct InnerAttentionConfig {
  enum class Kind { Full, ProbSparse };
  Kind kind = Kind::Full;
  bool mask_flag = false;  // causal (TSLib's TriangularCausalMask / ProbMask) when no mask is given
  int64_t factor = 5;      // ProbSparse: sampling factor c
  std::optional<double> scale;     // default 1/√d_keys
  double attention_dropout = 0.1;  // FullAttention only (ProbAttention never applies its dropout)
};

// TSLib AttentionLayer's keyword arguments; 0 (TSLib's None) is d_model / n_heads.
struct AttentionLayerOptions {
  int64_t d_keys = 0;
  int64_t d_values = 0;
};

class AttentionLayer : public Module {
 public:
  AttentionLayer(const InnerAttentionConfig& inner, int64_t d_model, int64_t n_heads,
                 AttentionRole role, const AttentionLayerOptions& options,
                 Context& ctx = default_context(), DType dtype = DType::F32);
  AttentionLayer(const InnerAttentionConfig& inner, int64_t d_model, int64_t n_heads,
                 AttentionRole role, Context& ctx = default_context(), DType dtype = DType::F32)
      : AttentionLayer(inner, d_model, n_heads, role, AttentionLayerOptions{}, ctx, dtype) {}
  // queries (B, L, d_model), keys and values (B, S, d_model) -> (B, L, d_model).
  // attn_mask: non-zero = may attend, broadcastable to (B, H, L, S); undefined = none (or causal
  // when mask_flag: with L < S the queries are the last L of the S positions).
  Tensor forward(const Tensor& queries, const Tensor& keys, const Tensor& values,
                 const Tensor& attn_mask = Tensor());
  // Self-attention.
  Tensor forward(const Tensor& x) override { return forward(x, x, x); }
  std::string type_name() const override { return "AttentionLayer"; }

  AttentionRole role() const { return role_; }
  int64_t n_heads() const { return n_heads_; }
  const InnerAttentionConfig& inner() const { return inner_; }
  void set_capture(AttentionCapture* capture, std::string name) {
    capture_ = capture;
    name_ = std::move(name);
  }
  void set_index_samples(IndexSampleQueue* queue) { samples_ = queue; }
  bool capturing() const { return capture_ != nullptr; }

 private:
  InnerAttentionConfig inner_;
  int64_t n_heads_, d_keys_, d_values_;
  AttentionRole role_;
  std::shared_ptr<Linear> query_projection_, key_projection_, value_projection_, out_projection_;
  AttentionCapture* capture_ = nullptr;
  IndexSampleQueue* samples_ = nullptr;
  std::string name_;
};

// Attaches `capture` (nullptr detaches) to every AttentionLayer under `root`, named by its path.
void set_attention_capture(Module& root, AttentionCapture* capture);
// Attaches a ProbSparse sample queue (nullptr detaches) to every AttentionLayer under `root`.
void set_index_samples(Module& root, IndexSampleQueue* queue);

}  // namespace attend::nn
