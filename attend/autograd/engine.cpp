// Backward engine: dependency counting, then a ready stack (iterative, no recursion depth limit).
#include <unordered_map>

#include "attend/autograd/node.h"
#include "attend/kernels/elementwise.h"

namespace attend {

namespace {

thread_local bool g_grad_mode = true;

// slot += g for same-shape gradients. In place when nothing else can see slot's buffer (its
// tensor and storage are referenced only by slot: the engine's own accumulation buffer), else into
// a new contiguous tensor, since incoming gradients may alias each other or saved tensors.
void accumulate(Tensor& slot, const Tensor& g) {
  ATTEND_CHECK(slot.shape() == g.shape() && slot.dtype() == g.dtype(),
               "[backward] gradients of shapes {} and {} cannot be accumulated", slot.shape().str(),
               g.shape().str());
  const bool private_buffer =
      slot.is_contiguous() && slot.impl_ptr().use_count() == 1 && slot.storage().use_count() == 1;
  Tensor a = slot.contiguous_data(), b = g.contiguous_data();
  Tensor out = private_buffer ? slot : Tensor::empty(slot.shape(), slot.dtype(), slot.context());
  const int64_t n = out.numel();
  if (out.dtype() == DType::F32) {
    kernels::binary_same(kernels::Binary::Add, a.data<float>(), b.data<float>(), out.data<float>(),
                         n, out.context().threads());
  } else {
    ATTEND_CHECK(out.dtype() == DType::F64, "[backward] gradients must be float32 or float64");
    kernels::binary_same_reference(kernels::Binary::Add, a.data<double>(), b.data<double>(),
                                   out.data<double>(), n);
  }
  slot = out;
}

}  // namespace

bool grad_mode_enabled() {
  return g_grad_mode;
}
void set_grad_mode(bool enabled) {
  g_grad_mode = enabled;
}

std::vector<Tensor> AccumulateGrad::apply(std::vector<Tensor>&& grad_outputs) {
  auto leaf = leaf_.lock();
  if (!leaf || !grad_outputs[0].defined()) return {};
  const Tensor& g = grad_outputs[0];
  ATTEND_CHECK(g.shape() == leaf->shape, "[backward] gradient of shape {} for a leaf of shape {}",
               g.shape().str(), leaf->shape.str());
  if (!leaf->grad) {
    // Always a private copy: incoming gradients may alias each other, and optimizers and gradient
    // clipping update leaf grads in place.
    leaf->grad = g.copy_as(leaf->dtype).impl_ptr();
  } else {
    Tensor sum(std::move(leaf->grad));
    accumulate(sum, g);
    leaf->grad = sum.impl_ptr();
  }
  return {};
}

Edge gradient_edge(const Tensor& t) {
  TensorImpl* impl = t.impl();
  if (impl->grad_fn) return Edge{impl->grad_fn, impl->output_nr};
  if (!impl->requires_grad) return Edge{};
  std::shared_ptr<Node> acc = impl->grad_accumulator.lock();
  if (!acc) {
    acc = std::make_shared<AccumulateGrad>(t.impl_ptr());
    impl->grad_accumulator = acc;
  }
  return Edge{acc, 0};
}

Node::~Node() {
  std::vector<std::shared_ptr<Node>> stack;
  for (Edge& e : next_edges)
    if (e.fn) stack.push_back(std::move(e.fn));
  next_edges.clear();
  while (!stack.empty()) {
    std::shared_ptr<Node> n = std::move(stack.back());
    stack.pop_back();
    if (n.use_count() == 1) {  // last owner: take its edges before it dies
      for (Edge& e : n->next_edges)
        if (e.fn) stack.push_back(std::move(e.fn));
      n->next_edges.clear();
    }
  }
}

bool needs_grad(std::span<const Tensor> inputs) {
  if (!grad_mode_enabled()) return false;
  for (const Tensor& t : inputs)
    if (t.defined() && t.requires_grad()) return true;
  return false;
}

void attach_node(const std::shared_ptr<Node>& node, std::span<const Tensor> inputs,
                 std::span<const Tensor> outputs) {
  node->next_edges.reserve(inputs.size());
  for (const Tensor& t : inputs)
    node->next_edges.push_back(t.defined() ? gradient_edge(t) : Edge{});
  for (size_t i = 0; i < outputs.size(); ++i) {
    TensorImpl* impl = outputs[i].impl();
    if (!impl) continue;
    impl->grad_fn = node;
    impl->output_nr = static_cast<uint32_t>(i);
    impl->requires_grad = true;
  }
}

void run_backward(const std::vector<Tensor>& roots, const std::vector<Tensor>& grads,
                  bool retain_graph) {
  NoGradGuard no_grad;  // gradients are computed without recording (no double backward)
  std::unordered_map<Node*, int> dependencies;
  std::unordered_map<Node*, std::vector<Tensor>> buffers;
  std::vector<std::shared_ptr<Node>> ready;

  // Count, for every node reachable from the roots, how many edges point at it.
  std::vector<Node*> stack;
  auto visit_from = [&](Node* start) {
    if (dependencies.count(start)) return;
    dependencies[start] = 0;
    stack.push_back(start);
    while (!stack.empty()) {
      Node* n = stack.back();
      stack.pop_back();
      for (const Edge& e : n->next_edges) {
        if (!e.fn) continue;
        auto [it, inserted] = dependencies.try_emplace(e.fn.get(), 0);
        ++it->second;
        if (inserted) stack.push_back(e.fn.get());
      }
    }
  };

  std::vector<Edge> root_edges;
  for (size_t i = 0; i < roots.size(); ++i) {
    const Tensor& root = roots[i];
    ATTEND_CHECK(root.defined() && root.requires_grad(),
                 "[backward] the tensor does not require a gradient (no input has requires_grad)");
    Tensor g = grads[i];
    if (!g.defined()) {
      ATTEND_CHECK(root.numel() == 1,
                   "[backward] an implicit gradient needs a one-element output, got shape {}",
                   root.shape().str());
      g = Tensor::ones(root.shape(), root.dtype(), root.context());
    }
    ATTEND_CHECK(g.shape() == root.shape(), "[backward] gradient shape {} differs from output {}",
                 g.shape().str(), root.shape().str());
    Edge e = gradient_edge(root);
    visit_from(e.fn.get());
    auto& buf = buffers[e.fn.get()];
    buf.resize(e.fn->num_outputs);
    if (buf[e.input_nr].defined())
      accumulate(buf[e.input_nr], g);
    else
      buf[e.input_nr] = g;
    root_edges.push_back(e);
  }
  for (const Edge& e : root_edges)
    if (dependencies[e.fn.get()] == 0) {
      bool queued = false;
      for (auto& r : ready) queued |= r.get() == e.fn.get();
      if (!queued) ready.push_back(e.fn);
    }

  while (!ready.empty()) {
    std::shared_ptr<Node> node = std::move(ready.back());
    ready.pop_back();
    std::vector<Tensor> grad_outputs = std::move(buffers[node.get()]);
    buffers.erase(node.get());
    grad_outputs.resize(node->num_outputs);

    bool any = false;
    for (const Tensor& g : grad_outputs) any |= g.defined();
    std::vector<Tensor> grad_inputs;
    if (any) grad_inputs = node->apply(std::move(grad_outputs));
    if (!retain_graph) node->release();

    for (size_t i = 0; i < node->next_edges.size(); ++i) {
      const Edge& e = node->next_edges[i];
      if (!e.fn) continue;
      if (i < grad_inputs.size() && grad_inputs[i].defined()) {
        auto& buf = buffers[e.fn.get()];
        buf.resize(e.fn->num_outputs);
        Tensor& slot = buf[e.input_nr];
        if (slot.defined())
          accumulate(slot, grad_inputs[i]);
        else
          slot = grad_inputs[i];
      }
      if (--dependencies[e.fn.get()] == 0) ready.push_back(e.fn);
    }
  }
}

void Tensor::backward(const Tensor& grad, bool retain_graph) const {
  run_backward({*this}, {grad}, retain_graph);
}

}  // namespace attend
