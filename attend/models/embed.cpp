#include "attend/models/embed.h"

#include <cmath>

#include "attend/data/time_features.h"
#include "attend/models/config.h"
#include "attend/nn/init.h"
#include "attend/ops/conv.h"
#include "attend/ops/elementwise.h"
#include "attend/ops/nn_functional.h"
#include "attend/ops/shape.h"

namespace attend::models {

std::string time_feature_letter(const std::string& freq) {
  if (freq.empty() || freq == "auto") return "h";  // not resolved against data: TSLib's default
  try {
    return std::string(1, data::freq_letter(data::parse_freq(freq).kind));
  } catch (const Error&) {
    return freq;
  }
}

int64_t time_feature_count(const std::string& freq_text) {
  const std::string freq = time_feature_letter(freq_text);
  if (freq == "h") return 4;
  if (freq == "t") return 5;
  if (freq == "s") return 6;
  if (freq == "m" || freq == "a") return 1;
  if (freq == "w") return 2;
  if (freq == "d" || freq == "b") return 3;
  fail("--freq '{}' is not one of TSLib's time-feature frequencies s, t, h, d, b, w, m, a",
       freq_text);
}

namespace {

// The float32 sinusoid table TSLib builds (also FixedEmbedding's weights), (rows, d).
Tensor sinusoid_table(int64_t rows, int64_t d, Context& ctx, DType dtype) {
  Tensor t = Tensor::zeros({rows, d}, DType::F32, ctx);
  float* p = t.data<float>();
  const float log_base = static_cast<float>(-(std::log(10000.0) / static_cast<double>(d)));
  for (int64_t i = 0; i < d; i += 2) {
    float div_term = std::exp(static_cast<float>(i) * log_base);
    for (int64_t pos = 0; pos < rows; ++pos) {
      float angle = static_cast<float>(pos) * div_term;
      p[pos * d + i] = std::sin(angle);
      if (i + 1 < d) p[pos * d + i + 1] = std::cos(angle);
    }
  }
  return dtype == DType::F32 ? t : t.copy_as(dtype);
}

Tensor maybe_dropout(const Tensor& x, double p, bool training) {
  return p > 0.0 && training ? dropout(x, p, true) : x;
}

}  // namespace

PositionalEmbedding::PositionalEmbedding(int64_t d_model, int64_t max_len, Context& ctx,
                                         DType dtype) {
  pe_ = register_buffer(
      "pe", reshape(sinusoid_table(max_len, d_model, ctx, dtype), {1, max_len, d_model}));
}

Tensor PositionalEmbedding::forward(const Tensor& x) {
  ATTEND_CHECK(x.size(1) <= pe_.size(1),
               "[PositionalEmbedding] sequence of {} steps is longer than the table of {}",
               x.size(1), pe_.size(1));
  return slice(pe_, 1, 0, x.size(1));
}

TokenEmbedding::TokenEmbedding(int64_t c_in, int64_t d_model, Context& ctx, DType dtype) {
  token_conv_ = register_module(
      "tokenConv", std::make_shared<nn::Conv1d>(
                       c_in, d_model, 3,
                       nn::Conv1dModuleOptions{
                           .padding = 1, .bias = false, .padding_mode = PaddingMode::Circular},
                       ctx, dtype));
  nn::init::kaiming_normal_(token_conv_->weight(), 0.0, nn::init::FanMode::FanIn,
                            nn::init::Nonlinearity::LeakyReLU);
}

Tensor TokenEmbedding::forward(const Tensor& x) {
  return transpose(token_conv_->forward(permute(x, {0, 2, 1})), 1, 2);
}

FixedEmbedding::FixedEmbedding(int64_t c_in, int64_t d_model, Context& ctx, DType dtype) {
  emb_ = register_module("emb", std::make_shared<nn::Embedding>(c_in, d_model, ctx, dtype));
  emb_->weight().copy_from(sinusoid_table(c_in, d_model, ctx, dtype));
  emb_->weight().impl()->requires_grad = false;  // frozen, as TSLib's requires_grad=False
}

Tensor FixedEmbedding::forward(const Tensor& indices) {
  return emb_->forward(indices).detach();
}

TemporalEmbedding::TemporalEmbedding(int64_t d_model, bool fixed, const std::string& freq,
                                     Context& ctx, DType dtype) {
  auto make = [&](int64_t n) -> std::shared_ptr<nn::Module> {
    if (fixed) return std::make_shared<FixedEmbedding>(n, d_model, ctx, dtype);
    return std::make_shared<nn::Embedding>(n, d_model, ctx, dtype);
  };
  if (time_feature_letter(freq) == "t") minute_ = register_module("minute_embed", make(4));
  hour_ = register_module("hour_embed", make(24));
  weekday_ = register_module("weekday_embed", make(7));
  day_ = register_module("day_embed", make(32));
  month_ = register_module("month_embed", make(13));
}

Tensor TemporalEmbedding::forward(const Tensor& marks) {
  // Marks hold small integers as floats: month, day, weekday, hour, (minute).
  Tensor idx = marks.detach().copy_as(DType::I64);
  Tensor out = add(add(hour_->forward(select(idx, 2, 3)), weekday_->forward(select(idx, 2, 2))),
                   add(day_->forward(select(idx, 2, 1)), month_->forward(select(idx, 2, 0))));
  if (minute_) out = add(out, minute_->forward(select(idx, 2, 4)));
  return out;
}

TimeFeatureEmbedding::TimeFeatureEmbedding(int64_t d_model, const std::string& freq, Context& ctx,
                                           DType dtype) {
  embed_ = register_module(
      "embed", std::make_shared<nn::Linear>(time_feature_count(freq), d_model,
                                            nn::LinearOptions{.bias = false}, ctx, dtype));
}

Tensor TimeFeatureEmbedding::forward(const Tensor& marks) {
  return embed_->forward(marks);
}

DataEmbedding::DataEmbedding(int64_t c_in, int64_t d_model, const std::string& embed,
                             const std::string& freq, double dropout, Context& ctx, DType dtype)
    : dropout_(dropout) {
  value_embedding_ = register_module("value_embedding",
                                     std::make_shared<TokenEmbedding>(c_in, d_model, ctx, dtype));
  position_embedding_ = register_module(
      "position_embedding", std::make_shared<PositionalEmbedding>(d_model, 5000, ctx, dtype));
  if (embed == "timeF") {
    temporal_embedding_ = register_module(
        "temporal_embedding", std::make_shared<TimeFeatureEmbedding>(d_model, freq, ctx, dtype));
  } else {
    ATTEND_CHECK(embed == "fixed" || embed == "learned",
                 "--embed must be timeF, fixed or learned, got '{}'", embed);
    temporal_embedding_ = register_module(
        "temporal_embedding",
        std::make_shared<TemporalEmbedding>(d_model, embed == "fixed", freq, ctx, dtype));
  }
}

Tensor DataEmbedding::forward(const Tensor& x, const Tensor& marks) {
  Tensor out = add(value_embedding_->forward(x), position_embedding_->forward(x));
  if (marks.defined()) out = add(out, temporal_embedding_->forward(marks));
  return maybe_dropout(out, dropout_, is_training());
}

DataEmbeddingInverted::DataEmbeddingInverted(int64_t c_in, int64_t d_model, double dropout,
                                             Context& ctx, DType dtype)
    : dropout_(dropout) {
  value_embedding_ =
      register_module("value_embedding", std::make_shared<nn::Linear>(c_in, d_model, ctx, dtype));
}

Tensor DataEmbeddingInverted::forward(const Tensor& x, const Tensor& marks) {
  Tensor tokens = permute(x, {0, 2, 1});  // (B, N, L)
  if (marks.defined()) tokens = concat({tokens, permute(marks, {0, 2, 1})}, 1);
  return maybe_dropout(value_embedding_->forward(tokens), dropout_, is_training());
}

PatchEmbedding::PatchEmbedding(int64_t d_model, int64_t patch_len, int64_t stride, int64_t padding,
                               double dropout, Context& ctx, DType dtype)
    : patch_len_(patch_len), stride_(stride), padding_(padding), dropout_(dropout) {
  ATTEND_CHECK(patch_len > 0 && stride > 0 && padding >= 0,
               "[PatchEmbedding] patch_len {} and stride {} must be positive", patch_len, stride);
  value_embedding_ = register_module(
      "value_embedding", std::make_shared<nn::Linear>(
                             patch_len, d_model, nn::LinearOptions{.bias = false}, ctx, dtype));
  position_embedding_ = register_module(
      "position_embedding", std::make_shared<PositionalEmbedding>(d_model, 5000, ctx, dtype));
}

Tensor PatchEmbedding::forward(const Tensor& x) {
  ATTEND_CHECK(x.ndim() == 3, "[PatchEmbedding] expected (B, C, L), got {}", x.shape().str());
  const int64_t B = x.size(0), C = x.size(1), L = x.size(2);
  ATTEND_CHECK(L + padding_ >= patch_len_,
               "[PatchEmbedding] seq_len {} is shorter than patch_len {}", L, patch_len_);
  // ReplicationPad1d((0, padding)): repeat the last value.
  Tensor padded = x;
  if (padding_ > 0) padded = concat({x, expand(slice(x, 2, L - 1, L), {B, C, padding_})}, 2);
  // unfold(-1, patch_len, stride): (B, C, n, patch_len)
  const int64_t n = (L + padding_ - patch_len_) / stride_ + 1;
  std::vector<Tensor> patches;
  patches.reserve(n);
  for (int64_t p = 0; p < n; ++p)
    patches.push_back(slice(padded, 2, p * stride_, p * stride_ + patch_len_));
  Tensor unfolded = reshape(stack(patches, 2), {B * C, n, patch_len_});
  Tensor out = add(value_embedding_->forward(unfolded), position_embedding_->forward(unfolded));
  return maybe_dropout(out, dropout_, is_training());
}

}  // namespace attend::models
