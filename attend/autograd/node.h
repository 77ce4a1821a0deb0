#pragma once
// The define-by-run tape: every differentiable op that sees an input requiring a gradient records a
// Node holding what its backward needs; Tensor::backward() walks the nodes in reverse topological
// order (attend/autograd/engine.cpp).
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <utility>
#include <vector>

#include "attend/tensor/tensor.h"

namespace attend {

class Node;

// Where a gradient goes: input slot `input_nr` of node `fn` (fn is null for inputs that need none).
struct Edge {
  std::shared_ptr<Node> fn;
  uint32_t input_nr = 0;
};

class Node {
 public:
  // Tears the graph behind this node down iteratively (a long chain would otherwise recurse once
  // per node and overflow the stack).
  virtual ~Node();
  // grad_outputs: one gradient per output of the op (undefined = zero). Returns one gradient per
  // entry of next_edges (undefined where no gradient flows).
  virtual std::vector<Tensor> apply(std::vector<Tensor>&& grad_outputs) = 0;
  // Frees what the backward saved (called after use unless the graph is retained).
  virtual void release() {}
  virtual const char* name() const = 0;

  std::vector<Edge> next_edges;  // one per differentiable input, in the op's input order
  uint32_t num_outputs = 1;
};

// Gradient sink of a leaf tensor: adds the incoming gradient into leaf.grad.
class AccumulateGrad final : public Node {
 public:
  explicit AccumulateGrad(std::weak_ptr<TensorImpl> leaf) : leaf_(std::move(leaf)) {}
  std::vector<Tensor> apply(std::vector<Tensor>&& grad_outputs) override;
  const char* name() const override { return "AccumulateGrad"; }

 private:
  std::weak_ptr<TensorImpl> leaf_;
};

// Node whose backward is a callable: F(const std::vector<Tensor>& grad_outputs) ->
// std::vector<Tensor> (one per input). The callable owns the saved tensors.
template <typename F>
class FunctionNode final : public Node {
 public:
  FunctionNode(const char* name, F&& f) : name_(name), fn_(std::move(f)) {}
  std::vector<Tensor> apply(std::vector<Tensor>&& grad_outputs) override {
    ATTEND_CHECK(fn_.has_value(),
                 "[backward] the graph through '{}' was already freed; pass retain_graph=true to "
                 "backward() to run it twice",
                 name_);
    return (*fn_)(grad_outputs);
  }
  void release() override { fn_.reset(); }
  const char* name() const override { return name_; }

 private:
  const char* name_;
  std::optional<F> fn_;
};

// ---- grad mode ---------------------------------------------------------------------------------
// Whether ops record the tape on this thread (on by default).
bool grad_mode_enabled();
void set_grad_mode(bool enabled);

// Turns recording off for its scope (inference, optimizer updates).
class NoGradGuard {
 public:
  NoGradGuard() : previous_(grad_mode_enabled()) { set_grad_mode(false); }
  ~NoGradGuard() { set_grad_mode(previous_); }
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool previous_;
};

// ---- recording helpers used by ops
// --------------------------------------------------------------- The edge a gradient for `t` flows
// into: its grad_fn, its leaf accumulator, or none.
Edge gradient_edge(const Tensor& t);

// True when grad mode is on and any of the tensors requires a gradient.
inline bool needs_grad(std::initializer_list<std::reference_wrapper<const Tensor>> inputs) {
  if (!grad_mode_enabled()) return false;
  for (const Tensor& t : inputs)
    if (t.defined() && t.requires_grad()) return true;
  return false;
}
bool needs_grad(std::span<const Tensor> inputs);

// Attaches `node` as the grad_fn of `outputs` (output i gets output_nr i) and links it to `inputs`.
void attach_node(const std::shared_ptr<Node>& node, std::span<const Tensor> inputs,
                 std::span<const Tensor> outputs);

// Records a one-output op: `backward(grad_out) -> {grad per input}`. `backward` receives the
// gradient of `output` (never undefined) and returns one gradient per input (undefined for none).
// Inputs are a span (a braced list goes through the initializer_list overload, no heap).
template <typename F>
void record(const char* name, std::span<const Tensor> inputs, const Tensor& output, F&& backward) {
  auto fn = [b = std::forward<F>(backward)](const std::vector<Tensor>& g) { return b(g[0]); };
  auto node = std::make_shared<FunctionNode<decltype(fn)>>(name, std::move(fn));
  attach_node(node, inputs, std::span<const Tensor>(&output, 1));
}
template <typename F>
void record(const char* name, std::initializer_list<Tensor> inputs, const Tensor& output,
            F&& backward) {
  record(name, std::span<const Tensor>(inputs.begin(), inputs.size()), output,
         std::forward<F>(backward));
}
template <typename F>
void record(const char* name, const std::vector<Tensor>& inputs, const Tensor& output,
            F&& backward) {
  record(name, std::span<const Tensor>(inputs), output, std::forward<F>(backward));
}

// Records a many-output op: `backward(grads) -> {grad per input}`; grads[i] may be undefined.
template <typename F>
void record_multi(const char* name, std::span<const Tensor> inputs, std::span<const Tensor> outputs,
                  F&& backward) {
  auto node = std::make_shared<FunctionNode<std::decay_t<F>>>(name, std::forward<F>(backward));
  node->num_outputs = static_cast<uint32_t>(outputs.size());
  attach_node(node, inputs, outputs);
}
template <typename F>
void record_multi(const char* name, std::initializer_list<Tensor> inputs,
                  const std::vector<Tensor>& outputs, F&& backward) {
  record_multi(name, std::span<const Tensor>(inputs.begin(), inputs.size()),
               std::span<const Tensor>(outputs), std::forward<F>(backward));
}
template <typename F>
void record_multi(const char* name, const std::vector<Tensor>& inputs,
                  const std::vector<Tensor>& outputs, F&& backward) {
  record_multi(name, std::span<const Tensor>(inputs), std::span<const Tensor>(outputs),
               std::forward<F>(backward));
}

// Runs back-propagation from `roots` with `grads` (see Tensor::backward).
void run_backward(const std::vector<Tensor>& roots, const std::vector<Tensor>& grads,
                  bool retain_graph);

}  // namespace attend
