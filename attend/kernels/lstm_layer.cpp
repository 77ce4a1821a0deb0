#include "attend/kernels/lstm_layer.h"

#include <unordered_map>

#include "attend/base/error.h"
#include "attend/kernels/parallel.h"

#if defined(ATTEND_GEMM_DNNL)
#include <oneapi/dnnl/dnnl.hpp>
#endif

namespace attend::kernels {

#if defined(ATTEND_GEMM_DNNL)

bool lstm_layer_inference(const LstmLayerShape& s, const float* x, const float* w_ih,
                          const float* w_hh, const float* bias, const float* h0, const float* c0,
                          float* y, float* h_n, float* c_n, int threads) {
  using dnnl::memory;
  using tag = memory::format_tag;
  const memory::data_type f32 = memory::data_type::f32;
  const memory::dim B = s.batch, L = s.steps, I = s.input, H = s.hidden;
  ATTEND_CHECK(B > 0 && L > 0 && I > 0 && H > 0, "[lstm_layer_inference] empty shape {}x{}x{}x{}",
               B, L, I, H);
  OmpThreadsScope scope(threads);
  try {
    const dnnl::engine eng(dnnl::engine::kind::cpu, 0);
    dnnl::stream stream(eng);
    // dims in oneDNN's order: sequences (T, N, C), weights (layers, directions, C_in, gates, H);
    // the tags give the memory's order: ntc = batch-first, ldgoi = PyTorch's (4H, C_in)
    const memory::desc src_d({L, B, I}, f32, tag::ntc), dst_d({L, B, H}, f32, tag::ntc);
    const memory::desc state_d({1, 1, B, H}, f32, tag::ldnc), bias_d({1, 1, 4, H}, f32, tag::ldgo);
    const memory::desc w_ih_user({1, 1, I, 4, H}, f32, tag::ldgoi),
        w_hh_user({1, 1, H, 4, H}, f32, tag::ldgoi);
    const memory::desc w_ih_any({1, 1, I, 4, H}, f32, tag::any),
        w_hh_any({1, 1, H, 4, H}, f32, tag::any);
    // no initial state given: no src_iter memory (oneDNN then starts from zeros)
    const memory::desc h0_d = h0 ? state_d : memory::desc(), c0_d = c0 ? state_d : memory::desc();
    const dnnl::lstm_forward::desc desc(
        dnnl::prop_kind::forward_inference, dnnl::rnn_direction::unidirectional_left2right, src_d,
        h0_d, c0_d, w_ih_any, w_hh_any, bias_d, dst_d, state_d, state_d);
    const dnnl::lstm_forward::primitive_desc pd(desc, eng);

    auto user = [&](const memory::desc& d, const float* p) {
      return memory(d, eng, const_cast<float*>(p));
    };
    memory w_ih_m = user(w_ih_user, w_ih), w_hh_m = user(w_hh_user, w_hh);
    if (pd.weights_layer_desc() != w_ih_user) {
      memory packed(pd.weights_layer_desc(), eng);
      dnnl::reorder(w_ih_m, packed).execute(stream, w_ih_m, packed);
      w_ih_m = packed;
    }
    if (pd.weights_iter_desc() != w_hh_user) {
      memory packed(pd.weights_iter_desc(), eng);
      dnnl::reorder(w_hh_m, packed).execute(stream, w_hh_m, packed);
      w_hh_m = packed;
    }
    std::unordered_map<int, memory> args = {
        {DNNL_ARG_SRC_LAYER, user(src_d, x)},     {DNNL_ARG_WEIGHTS_LAYER, w_ih_m},
        {DNNL_ARG_WEIGHTS_ITER, w_hh_m},          {DNNL_ARG_BIAS, user(bias_d, bias)},
        {DNNL_ARG_DST_LAYER, user(dst_d, y)},     {DNNL_ARG_DST_ITER, user(state_d, h_n)},
        {DNNL_ARG_DST_ITER_C, user(state_d, c_n)}};
    if (h0) args[DNNL_ARG_SRC_ITER] = user(state_d, h0);
    if (c0) args[DNNL_ARG_SRC_ITER_C] = user(state_d, c0);
    const dnnl::lstm_forward lstm(pd);
    lstm.execute(stream, args);
    stream.wait();
  } catch (const dnnl::error& e) {
    fail("[lstm_layer_inference] oneDNN's LSTM failed for B={} L={} I={} H={}: {}", B, L, I, H,
         e.what());
  }
  return true;
}

#else

bool lstm_layer_inference(const LstmLayerShape&, const float*, const float*, const float*,
                          const float*, const float*, const float*, float*, float*, float*, int) {
  return false;
}

#endif

}  // namespace attend::kernels
