#include "attend/nn/attention.h"

#include "attend/ops/attention.h"
#include "attend/ops/shape.h"

namespace attend::nn {

const char* attention_role_name(AttentionRole role) {
  switch (role) {
    case AttentionRole::EncoderSelf:
      return "encoder self-attention";
    case AttentionRole::DecoderSelf:
      return "decoder self-attention";
    case AttentionRole::Cross:
      return "cross-attention";
  }
  return "?";
}

Tensor IndexSampleQueue::next() {
  ATTEND_CHECK(next_ < samples_.size(),
               "[ProbSparse] all {} injected key samples were used; the model ran more ProbSparse "
               "attentions than recorded",
               samples_.size());
  return samples_[next_++];
}

AttentionLayer::AttentionLayer(const InnerAttentionConfig& inner, int64_t d_model, int64_t n_heads,
                               AttentionRole role, const AttentionLayerOptions& options,
                               Context& ctx, DType dtype)
    : inner_(inner), n_heads_(n_heads), role_(role) {
  ATTEND_CHECK(n_heads > 0 && d_model > 0,
               "[AttentionLayer] d_model {} and n_heads {} must be positive", d_model, n_heads);
  d_keys_ = options.d_keys > 0 ? options.d_keys : d_model / n_heads;
  d_values_ = options.d_values > 0 ? options.d_values : d_model / n_heads;
  ATTEND_CHECK(d_keys_ > 0 && d_values_ > 0,
               "[AttentionLayer] d_model {} is smaller than n_heads {}", d_model, n_heads);
  query_projection_ = register_module(
      "query_projection", std::make_shared<Linear>(d_model, d_keys_ * n_heads, ctx, dtype));
  key_projection_ = register_module(
      "key_projection", std::make_shared<Linear>(d_model, d_keys_ * n_heads, ctx, dtype));
  value_projection_ = register_module(
      "value_projection", std::make_shared<Linear>(d_model, d_values_ * n_heads, ctx, dtype));
  out_projection_ = register_module(
      "out_projection", std::make_shared<Linear>(d_values_ * n_heads, d_model, ctx, dtype));
}

Tensor AttentionLayer::forward(const Tensor& queries, const Tensor& keys, const Tensor& values,
                               const Tensor& attn_mask) {
  ATTEND_CHECK(queries.ndim() == 3 && keys.ndim() == 3 && values.ndim() == 3,
               "[AttentionLayer] expects queries (B, L, d_model), keys and values (B, S, d_model); "
               "got {}, {}, {}",
               queries.shape().str(), keys.shape().str(), values.shape().str());
  const int64_t B = queries.size(0), L = queries.size(1), S = keys.size(1), H = n_heads_;
  // (B, L, H·d) projections viewed as (B, H, L, d) without copies.
  Tensor q =
      permute(reshape(query_projection_->forward(queries), {B, L, H, d_keys_}), {0, 2, 1, 3});
  Tensor k = permute(reshape(key_projection_->forward(keys), {B, S, H, d_keys_}), {0, 2, 1, 3});
  Tensor v =
      permute(reshape(value_projection_->forward(values), {B, S, H, d_values_}), {0, 2, 1, 3});

  Tensor out;  // (B, L, H·d_values)
  if (inner_.kind == InnerAttentionConfig::Kind::Full) {
    AttentionOptions o;
    o.scale = inner_.scale;
    o.mask = attn_mask;
    o.causal = inner_.mask_flag && !attn_mask.defined();
    if (o.causal && L < S) o.causal_offset = S - L;  // queries = the last L positions
    o.dropout_p = is_training() ? inner_.attention_dropout : 0.0;
    o.return_weights = capture_ != nullptr;
    AttentionResult r = scaled_dot_product_attention(q, k, v, o);
    if (capture_) capture_->add({name_, role_, r.weights.detach()});
    out = reshape(permute(r.output, {0, 2, 1, 3}), {B, L, H * d_values_});
  } else {
    ProbSparseOptions o;
    o.factor = inner_.factor;
    o.scale = inner_.scale;
    o.causal = inner_.mask_flag;
    o.return_weights = capture_ != nullptr;
    if (samples_) o.index_sample = samples_->next();
    ProbSparseResult r = prob_sparse_attention(q, k, v, o);
    if (capture_) capture_->add({name_, role_, r.weights.detach()});
    // TSLib reads ProbAttention's (B, H, L, d) context as (B, L, H·d) without transposing.
    out = reshape(r.output, {B, L, H * d_values_});
  }
  return out_projection_->forward(out);
}

namespace {
template <typename F>
void for_each_attention_layer(Module& m, const std::string& prefix, F&& f) {
  if (auto* layer = dynamic_cast<AttentionLayer*>(&m)) f(*layer, prefix);
  for (auto& [name, child] : m.named_children())
    for_each_attention_layer(*child, prefix.empty() ? name : prefix + "." + name, f);
}
}  // namespace

void set_attention_capture(Module& root, AttentionCapture* capture) {
  for_each_attention_layer(
      root, "", [&](AttentionLayer& l, const std::string& name) { l.set_capture(capture, name); });
}

void set_index_samples(Module& root, IndexSampleQueue* queue) {
  for_each_attention_layer(
      root, "", [&](AttentionLayer& l, const std::string&) { l.set_index_samples(queue); });
}

}  // namespace attend::nn
