#include "net.hpp"

#include <cmath>
#include <limits>
#include <set>

#include <fmt/format.h>

#include "fake_quant.hpp"
#include "hwprune/util/error.hpp"

namespace hwprune::train {

namespace {

// Channels-last (N, H, W, C) / (N, L, C) <-> channels-first (N, C, H, W) / (N, C, L).
torch::Tensor to_channels_first(const torch::Tensor& x) {
  if (x.dim() == 4) return x.permute({0, 3, 1, 2}).contiguous();
  if (x.dim() == 3) return x.permute({0, 2, 1}).contiguous();
  return x;
}

torch::Tensor to_channels_last(const torch::Tensor& x) {
  if (x.dim() == 4) return x.permute({0, 2, 3, 1}).contiguous();
  if (x.dim() == 3) return x.permute({0, 2, 1}).contiguous();
  return x;
}

// Keras "same" padding: (before, after) per spatial dim, in torch's pad order (last dim
// first). Empty for "valid".
std::vector<int64_t> same_pads(const Layer& l) {
  if (l.padding == Padding::Valid) return {};
  const auto& window = l.is_conv() ? l.kernel_size : l.pool_size;
  const size_t sr = window.size();
  std::vector<int64_t> pads;
  for (size_t k = sr; k-- > 0;) {
    const int64_t in = l.input_shape[k], out = l.output_shape[k];
    const int64_t total = std::max<int64_t>((out - 1) * l.strides[k] + window[k] - in, 0);
    pads.push_back(total / 2);
    pads.push_back(total - total / 2);
  }
  bool any = false;
  for (int64_t p : pads) any = any || p != 0;
  return any ? pads : std::vector<int64_t>{};
}

// Shape that broadcasts a per-channel vector over a channels-first activation of `dim` dims.
std::vector<int64_t> channel_view(int64_t c, int64_t dim) {
  std::vector<int64_t> v(static_cast<size_t>(dim), 1);
  v[1] = c;
  return v;
}

// An element-wise activation (any kind but Softmax) in float32, apply_activation's function.
torch::Tensor elementwise_activation(const Layer& l, const torch::Tensor& x) {
  switch (l.activation) {
    case ActivationKind::Linear:
      return x;
    case ActivationKind::ReLU:
    case ActivationKind::QuantizedReLU:
      return torch::relu(x);
    case ActivationKind::Sigmoid:
      return torch::sigmoid(x);
    case ActivationKind::Tanh:
      return torch::tanh(x);
    case ActivationKind::HardSigmoid:
      return torch::clamp(x * l.alpha + l.beta, 0.0, 1.0);
    case ActivationKind::LeakyReLU:
      return torch::leaky_relu(x, l.alpha);
    case ActivationKind::ELU:
      return torch::elu(x, l.alpha);
    case ActivationKind::SELU:
      return torch::selu(x);
    case ActivationKind::Softmax:
      break;
  }
  throw Error(fmt::format("{}: softmax is not an element-wise activation", l.name));
}

}  // namespace

torch::Tensor to_torch(const Tensor& t) {
  return torch::from_blob(const_cast<float*>(t.ptr()), t.shape, torch::kFloat32).clone();
}

Tensor from_torch(const torch::Tensor& t_in) {
  torch::Tensor t = t_in.detach().to(torch::kFloat32).contiguous();
  Tensor out(Shape(t.sizes().begin(), t.sizes().end()));
  std::memcpy(out.ptr(), t.data_ptr<float>(), sizeof(float) * out.data.size());
  return out;
}

torch::Tensor to_torch_layout(const Layer& l, const torch::Tensor& k) {
  if (l.kind == LayerKind::Conv2D) return k.permute({3, 2, 0, 1});  // F,C,KH,KW
  if (l.kind == LayerKind::Conv1D) return k.permute({2, 1, 0});     // F,C,K
  return k;                                                         // in,out
}

torch::Tensor to_torch_kernel(const Layer& l, const Tensor& t) {
  return to_torch_layout(l, to_torch(t)).contiguous();
}

torch::Tensor keras_to_torch_index(const Layer& l) {
  const Shape& shape = l.weight("kernel").shape;
  const int64_t n = shape_numel(shape);
  const torch::Tensor arange = torch::arange(n, torch::kInt64);
  // keras_at[j]: the Keras index of the weight at torch flat index j; invert the permutation.
  const torch::Tensor keras_at = to_torch_layout(l, arange.view(shape)).contiguous().view(-1);
  return torch::empty_like(arange).scatter_(0, keras_at, arange);
}

Tensor from_torch_kernel(const Layer& l, const torch::Tensor& t) {
  if (l.kind == LayerKind::Conv2D) return from_torch(t.permute({2, 3, 1, 0}));
  if (l.kind == LayerKind::Conv1D) return from_torch(t.permute({2, 1, 0}));
  return from_torch(t);
}

Net::Net(const Model& model, bool quantize, GradientRule rule, double overflow_penalty,
         bool zero_dead_channels)
    : model_(model),
      quantize_(quantize),
      rule_(rule),
      overflow_penalty_(overflow_penalty),
      zero_dead_channels_(zero_dead_channels) {
  model_.infer_shapes();
  st_.resize(model_.layers.size());
  for (size_t i = 0; i < model_.layers.size(); ++i) {
    const Layer& l = model_.layers[i];
    LayerState& s = st_[i];
    if (l.has_kernel()) {
      s.kernel = to_torch_kernel(l, l.weight("kernel")).set_requires_grad(true);
      if (l.use_bias) s.bias = to_torch(l.weight("bias")).set_requires_grad(true);
      if (!l.mask.empty()) s.mask = to_torch_kernel(l, l.mask);
      if (!l.widths.empty()) load_widths(i, l.widths);
      // In quantization-aware training a BatchNorm right after a Dense/Conv is folded into
      // it, so the weights that get quantized are the ones the hardware will hold.
      if (quantize_ && i + 1 < model_.layers.size() &&
          model_.layers[i + 1].kind == LayerKind::BatchNorm) {
        s.folded_bn = static_cast<int>(i + 1);
        st_[i + 1].skip = true;
      }
    } else if (l.kind == LayerKind::BatchNorm) {
      s.gamma = to_torch(l.weight("gamma")).set_requires_grad(true);
      s.beta = to_torch(l.weight("beta")).set_requires_grad(true);
      s.running_mean = to_torch(l.weight("moving_mean"));
      s.running_var = to_torch(l.weight("moving_variance"));
    }
  }
  for (size_t i = 0; i < st_.size(); ++i) update_dead(i);
  apply_masks();
}

std::vector<torch::Tensor> Net::parameters() const {
  std::vector<torch::Tensor> p;
  for (const auto& s : st_)
    for (const auto* t : {&s.kernel, &s.bias, &s.gamma, &s.beta})
      if (t->defined()) p.push_back(*t);
  return p;
}

std::vector<torch::Tensor> Net::state() const {
  std::vector<torch::Tensor> out;
  for (const auto& s : st_)
    for (const auto* t : {&s.kernel, &s.bias, &s.gamma, &s.beta, &s.running_mean, &s.running_var})
      if (t->defined()) out.push_back(t->detach().clone());
  return out;
}

void Net::load_state(const std::vector<torch::Tensor>& snapshot) {
  torch::NoGradGuard no_grad;
  size_t k = 0;
  for (auto& s : st_)
    for (auto* t : {&s.kernel, &s.bias, &s.gamma, &s.beta, &s.running_mean, &s.running_var})
      if (t->defined()) t->copy_(snapshot.at(k++));
}

void Net::apply_masks() {
  torch::NoGradGuard no_grad;
  for (auto& s : st_)
    if (s.mask.defined()) s.kernel.masked_fill_(s.mask.eq(0), 0.0);  // +0.0, never -0.0
  for (const SharedGroups& g : shared_) {
    const LayerState& s = st_[g.layer];
    torch::Tensor flat = s.kernel.view(-1);  // kernels are contiguous: a view
    const torch::Tensor values = flat.index_select(0, g.index);
    const torch::Tensor kept =
        s.mask.defined() ? s.mask.view(-1).index_select(0, g.index) : torch::ones_like(values);
    // Sums over the kept members in double, so a group's mean does not depend on its order.
    const auto f64 = torch::kFloat64;
    const torch::Tensor sum =
        torch::zeros({g.count}, f64).index_add_(0, g.group, (values * kept).to(f64));
    const torch::Tensor count = torch::zeros({g.count}, f64).index_add_(0, g.group, kept.to(f64));
    const torch::Tensor mean = (sum / count.clamp_min(1.0)).to(values.scalar_type());
    // Masked members keep their +0.0.
    flat.index_put_({g.index}, torch::where(kept.gt(0), mean.index_select(0, g.group), values));
  }
  for (size_t i = 0; i < st_.size(); ++i) {
    LayerState& s = st_[i];
    if (!s.dead.defined()) continue;
    if (s.bias.defined()) s.bias.masked_fill_(s.dead, 0.0);
    if (const int b = following_bn(i); b >= 0) {
      st_[static_cast<size_t>(b)].gamma.masked_fill_(s.dead, 0.0);
      st_[static_cast<size_t>(b)].beta.masked_fill_(s.dead, 0.0);
    }
  }
}

int Net::following_bn(size_t i) const {
  if (st_[i].folded_bn >= 0) return st_[i].folded_bn;
  // Float training does not fold, but the hardware model will: zero the same BatchNorm.
  if (i + 1 < model_.layers.size() && model_.layers[i + 1].kind == LayerKind::BatchNorm)
    return static_cast<int>(i + 1);
  return -1;
}

void Net::update_dead(size_t i) {
  LayerState& s = st_[i];
  s.dead = torch::Tensor();
  if (!zero_dead_channels_ || !s.mask.defined()) return;
  // Output channels: Dense kernel columns (in, out), Conv filters (F, C, K...).
  const torch::Tensor zero = s.mask.eq(0);
  const torch::Tensor dead =
      model_.layers[i].kind == LayerKind::Dense ? zero.all(0) : zero.flatten(1).all(1);
  if (dead.any().item<bool>()) s.dead = dead;
}

size_t Net::group_layer(const hw::GroupSet& g, const char* what) const {
  size_t i = g.layer;
  if (!g.layer_name.empty()) {
    i = model_.layers.size();
    for (size_t j = 0; j < model_.layers.size(); ++j)
      if (model_.layers[j].name == g.layer_name) i = j;
    if (i == model_.layers.size())
      throw Error(fmt::format("{}: model '{}' has no layer '{}'", what, model_.name, g.layer_name));
  } else if (i >= model_.layers.size()) {
    throw Error(fmt::format("{}: model '{}' has no layer {}", what, model_.name, i));
  }
  const Layer& l = model_.layers[i];
  if (!l.has_kernel())
    throw Error(fmt::format("{}: layer '{}' ({}) has no kernel", what, l.name, to_string(l.kind)));
  return i;
}

torch::Tensor Net::torch_members(size_t layer, const hw::GroupSet& g, const char* what) const {
  const Layer& l = model_.layers[layer];
  const int64_t n = st_[layer].kernel.numel();
  const auto members = static_cast<int64_t>(g.members.size());
  bool csr_ok = !g.offsets.empty() && g.offsets.front() == 0 && g.offsets.back() == members;
  for (size_t k = 1; csr_ok && k < g.offsets.size(); ++k) csr_ok = g.offsets[k] >= g.offsets[k - 1];
  if (!csr_ok)
    throw Error(fmt::format("{}: layer '{}': malformed groups (offsets do not delimit {} members)",
                            what, l.name, members));
  for (int64_t m : g.members)
    if (m < 0 || m >= n)
      throw Error(fmt::format("{}: layer '{}': group member {} is outside the kernel ({} weights)",
                              what, l.name, m, n));
  const torch::Tensor keras =
      torch::from_blob(const_cast<int64_t*>(g.members.data()), {members}, torch::kInt64);
  return keras_to_torch_index(l).index_select(0, keras);
}

void Net::add_shared_groups(const hw::GroupSet& groups) {
  const size_t i = group_layer(groups, "add_shared_groups");
  SharedGroups sg;
  sg.layer = i;
  sg.count = static_cast<int64_t>(groups.size());
  sg.index = torch_members(i, groups, "add_shared_groups");
  std::vector<int64_t> owner;
  owner.reserve(groups.members.size());
  for (size_t g = 0; g < groups.size(); ++g)
    owner.insert(owner.end(), groups.group(g).size(), static_cast<int64_t>(g));
  sg.group = torch::tensor(owner, torch::kInt64);
  shared_.push_back(std::move(sg));
  apply_masks();
}

void Net::clear_shared_groups() {
  shared_.clear();
}

void Net::set_regulariser(const std::vector<GroupPenalty>& penalties) {
  std::vector<Penalty> out;
  for (const GroupPenalty& p : penalties) {
    const size_t i = group_layer(p.groups, "set_regulariser");
    const std::string& name = model_.layers[i].name;
    for (double v : {p.alpha, p.beta})
      if (!std::isfinite(v) || v < 0)
        throw Error(fmt::format(
            "set_regulariser: layer '{}': alpha and beta must be finite and >= 0, got {} and {}",
            name, p.alpha, p.beta));
    const torch::Tensor members = torch_members(i, p.groups, "set_regulariser");
    if (p.alpha == 0 && p.beta == 0) continue;
    const auto* m = members.data_ptr<int64_t>();
    Penalty q;
    q.layer = i;
    q.alpha = p.alpha;
    q.beta = p.beta;
    q.groups = static_cast<int64_t>(p.groups.size());
    for (size_t g = 0; g < p.groups.size(); ++g)
      q.width = std::max<int64_t>(q.width, static_cast<int64_t>(p.groups.group(g).size()));
    const int64_t pad = st_[i].kernel.numel();  // the zero appended to the flat kernel
    std::vector<int64_t> index(static_cast<size_t>(q.groups * q.width), pad);
    std::vector<float> valid(index.size(), 0.0f), size(static_cast<size_t>(q.groups));
    for (size_t g = 0; g < p.groups.size(); ++g) {
      const auto len = static_cast<int64_t>(p.groups.group(g).size());
      for (int64_t k = 0; k < len; ++k) {
        const auto at = static_cast<size_t>(static_cast<int64_t>(g) * q.width + k);
        index[at] = m[p.groups.offsets[g] + k];
        valid[at] = 1.0f;
      }
      size[g] = static_cast<float>(std::max<int64_t>(len, 1));  // an empty group adds 0
      q.padded = q.padded || len != q.width;
    }
    q.root_width = std::sqrt(static_cast<double>(q.width));
    q.index = torch::tensor(index, torch::kInt64);
    q.valid = torch::tensor(valid).view({q.groups, q.width});
    q.size = torch::tensor(size);
    q.root_size = q.size.sqrt();
    out.push_back(std::move(q));
  }
  penalties_ = std::move(out);
}

torch::Tensor Net::regulariser() const {
  torch::Tensor total = torch::zeros({});
  for (const Penalty& p : penalties_) {
    if (p.groups == 0) continue;
    // Equal-sized groups (the usual case) gather straight from the kernel; otherwise from
    // the kernel with one zero appended, which pads the short groups.
    const torch::Tensor kernel = masked_kernel(p.layer).reshape(-1);
    const torch::Tensor flat = p.padded ? torch::cat({kernel, torch::zeros({1})}) : kernel;
    const torch::Tensor w = flat.index_select(0, p.index).view({p.groups, p.width});
    if (p.alpha > 0) {
      // linalg's 2-norm has a zero (not NaN) gradient for an all-zero group.
      const torch::Tensor norms = torch::linalg::vector_norm(w, 2, {1}, false, c10::nullopt);
      total = total + (p.padded ? p.alpha * (p.root_size * norms).sum()
                                : (p.alpha * p.root_width) * norms.sum());
    }
    if (p.beta > 0) {
      // Population variance over the members (padding excluded); masked weights count as 0.
      const torch::Tensor mean = w.sum(1, /*keepdim=*/true) / p.size.unsqueeze(1);
      const torch::Tensor dev = (w - mean).pow(2);
      const torch::Tensor var = (p.padded ? dev * p.valid : dev).sum(1) / p.size;
      total = total + p.beta * var.sum();
    }
  }
  return total;
}

void Net::set_mask(const std::string& layer, const Tensor& mask) {
  for (size_t i = 0; i < model_.layers.size(); ++i) {
    const Layer& l = model_.layers[i];
    if (l.name != layer) continue;
    if (!l.has_kernel())
      throw Error(fmt::format("set_mask: layer '{}' ({}) has no kernel", layer, to_string(l.kind)));
    if (mask.shape != l.weight("kernel").shape)
      throw Error(fmt::format("set_mask: layer '{}': mask shape {} differs from kernel shape {}",
                              layer, shape_str(mask.shape), shape_str(l.weight("kernel").shape)));
    for (float v : mask.data)
      if (v != 0.0f && v != 1.0f)
        throw Error(
            fmt::format("set_mask: layer '{}': mask values must be 0 or 1, found {}", layer, v));
    st_[i].mask = to_torch_kernel(l, mask);
    model_.layers[i].mask = mask;
    update_dead(i);
    apply_masks();
    return;
  }
  throw Error(fmt::format("set_mask: model '{}' has no layer '{}'", model_.name, layer));
}

torch::Tensor Net::param(const torch::Tensor& t, const Precision& p) const {
  if (!quantize_ || !p) return t;
  return fake_quant(t, saturating(p), rule_);
}

torch::Tensor Net::kernel_param(size_t i, const torch::Tensor& t) const {
  const Precision& p = model_.layers[i].precision.weight;
  torch::Tensor q = param(t, p);
  if (!quantize_ || !p) return q;
  // Each narrower width quantizes its own weights (the same rule and gradient, exact values).
  for (const auto& [bits, where] : st_[i].narrow)
    q = torch::where(where, fake_quant(t, saturating(at_width(*p, bits)), rule_), q);
  return q;
}

void Net::load_widths(size_t i, const Tensor& widths) {
  const Layer& l = model_.layers[i];
  check_widths(l, widths, fmt::format("set_widths: layer '{}'", l.name));
  std::set<int> narrow;
  for (float v : widths.data)
    if (static_cast<int>(v) < l.precision.weight->width) narrow.insert(static_cast<int>(v));
  LayerState& s = st_[i];
  s.narrow.clear();
  const torch::Tensor t = to_torch_kernel(l, widths);
  for (int b : narrow) s.narrow.emplace_back(b, t.eq(static_cast<float>(b)));
}

void Net::set_widths(const std::string& layer, const Tensor& widths) {
  for (size_t i = 0; i < model_.layers.size(); ++i) {
    Layer& l = model_.layers[i];
    if (l.name != layer) continue;
    if (!l.has_kernel())
      throw Error(
          fmt::format("set_widths: layer '{}' ({}) has no kernel", layer, to_string(l.kind)));
    if (widths.empty()) {
      st_[i].narrow.clear();
      l.widths = Tensor();
      return;
    }
    load_widths(i, widths);
    l.widths = widths;
    return;
  }
  throw Error(fmt::format("set_widths: model '{}' has no layer '{}'", model_.name, layer));
}

torch::Tensor Net::result(const torch::Tensor& t, const Precision& p, bool train, int layer) {
  if (!quantize_ || !p) return t;
  const bool wraps = p->overflow == OverflowMode::WRAP;
  if (train) {
    // The range penalty (TrainConfig::overflow_penalty) on results whose type wraps;
    // training itself saturates there.
    const double penalty =
        wraps && layer >= 0 ? overflow_penalty_ / static_cast<double>(t.size(0)) : 0.0;
    return fake_quant(t, saturating(p), rule_, penalty);
  }
  const torch::Tensor q = fake_quant(t, p, rule_);
  if (stats_) {
    const auto idx = static_cast<size_t>(layer + 1);  // slot 0: the input
    if (stats_->wrapped.size() < model_.layers.size() + 1) {
      stats_->wrapped.assign(model_.layers.size() + 1, 0);
      stats_->values.assign(model_.layers.size() + 1, 0);
      stats_->max_abs.assign(model_.layers.size() + 1, 0.0);
    }
    stats_->values[idx] += t.numel();
    if (wraps) {  // a value wrapped iff saturation would have given another value
      stats_->wrapped[idx] += q.ne(quantize_values(t, saturating(*p))).sum().item<int64_t>();
      if (t.numel() > 0)
        stats_->max_abs[idx] = std::max(stats_->max_abs[idx], t.abs().max().item<double>());
    }
  }
  return q;
}

torch::Tensor Net::masked_kernel(size_t i) const {
  const LayerState& s = st_[i];
  return s.mask.defined() ? s.kernel * s.mask : s.kernel;
}

torch::Tensor Net::conv_op(const Layer& l, const torch::Tensor& x_in,
                           const torch::Tensor& w) const {
  torch::Tensor x = x_in;
  const auto pads = same_pads(l);
  if (!pads.empty()) x = torch::constant_pad_nd(x, pads, 0.0);
  if (l.kind == LayerKind::Conv2D) return torch::conv2d(x, w, {}, l.strides);
  return torch::conv1d(x, w, {}, l.strides);
}

torch::Tensor Net::weight_layer(size_t i, const torch::Tensor& x, bool train) {
  const Layer& l = model_.layers[i];
  const LayerState& s = st_[i];
  const bool dense = l.kind == LayerKind::Dense;
  auto op = [&](const torch::Tensor& w) { return dense ? x.mm(w) : conv_op(l, x, w); };
  const int64_t out_ch = dense ? l.units : l.filters;
  // Broadcast shapes of a per-output-channel vector over the kernel and the output.
  std::vector<int64_t> kview(static_cast<size_t>(s.kernel.dim()), 1);
  kview[dense ? 1 : 0] = out_ch;
  const auto yview = dense ? std::vector<int64_t>{1, out_ch} : channel_view(out_ch, x.dim());
  const torch::Tensor kernel = masked_kernel(i);

  if (s.folded_bn < 0) {
    torch::Tensor y = op(kernel_param(i, kernel));
    if (s.bias.defined()) y = y + param(s.bias, l.precision.bias).view(yview);
    return result(y, l.precision.result, train, static_cast<int>(i));
  }

  const Layer& bn = model_.layers[static_cast<size_t>(s.folded_bn)];
  LayerState& b = st_[static_cast<size_t>(s.folded_bn)];
  if (train) {
    // Folding for QAT (Jacob et al. 2018): batch statistics from the float output, weights
    // folded with the running variance and quantized, then corrected by sigma_run/sigma_B.
    torch::Tensor y0 = op(kernel);
    if (s.bias.defined()) y0 = y0 + s.bias.view(yview);
    std::vector<int64_t> dims = {0};
    for (int64_t d = 2; d < y0.dim(); ++d) dims.push_back(d);
    const torch::Tensor mean_b = y0.mean(dims);
    const torch::Tensor var_b = (y0 - mean_b.view(yview)).pow(2).mean(dims);
    const torch::Tensor sigma_run = (b.running_var + bn.epsilon).sqrt();
    const torch::Tensor sigma_b = (var_b + bn.epsilon).sqrt();
    {
      torch::NoGradGuard no_grad;
      const double count = static_cast<double>(y0.numel() / out_ch);
      const double m = bn.momentum;
      b.running_mean.mul_(m).add_(mean_b.detach(), 1.0 - m);
      b.running_var.mul_(m).add_(var_b.detach() * (count / std::max(count - 1.0, 1.0)), 1.0 - m);
    }
    const torch::Tensor folded = kernel * (b.gamma / sigma_run).view(kview);
    torch::Tensor y = op(kernel_param(i, folded)) * (sigma_run / sigma_b).view(yview);
    torch::Tensor shift = b.beta - b.gamma * mean_b / sigma_b;
    if (s.bias.defined()) shift = shift + b.gamma * s.bias / sigma_b;
    return result(y + shift.view(yview), bn.precision.result, train, static_cast<int>(i));
  }
  // Inference: exactly fold_batchnorm() of the IR (factors in double), then quantize.
  const torch::Tensor scale =
      b.gamma.to(torch::kFloat64) / (b.running_var.to(torch::kFloat64) + bn.epsilon).sqrt();
  const torch::Tensor folded = (kernel.to(torch::kFloat64) * scale.view(kview)).to(torch::kFloat32);
  torch::Tensor bias0 =
      s.bias.defined() ? s.bias.to(torch::kFloat64) : torch::zeros({out_ch}, torch::kFloat64);
  const torch::Tensor bias =
      ((bias0 - b.running_mean.to(torch::kFloat64)) * scale + b.beta.to(torch::kFloat64))
          .to(torch::kFloat32);
  torch::Tensor y = op(kernel_param(i, folded)) + param(bias, l.precision.bias).view(yview);
  return result(y, bn.precision.result, train, static_cast<int>(i));
}

torch::Tensor Net::forward(const torch::Tensor& x_in, bool train, bool apply_final_softmax,
                           ForwardStats* stats) {
  stats_ = stats;
  const size_t upto = apply_final_softmax ? model_.layers.size() - 1 : model_.logits_layer();
  torch::Tensor x = result(x_in, model_.input_precision, train, -1);
  bool cf = false;  // activations are channels-first inside conv/pool stacks
  for (size_t i = 0; i <= upto; ++i) {
    const Layer& l = model_.layers[i];
    LayerState& s = st_[i];
    if (s.skip) continue;
    switch (l.kind) {
      case LayerKind::Dense:
        x = weight_layer(i, x, train);
        break;
      case LayerKind::Conv1D:
      case LayerKind::Conv2D:
        if (!cf) x = to_channels_first(x);
        cf = true;
        x = weight_layer(i, x, train);
        break;
      case LayerKind::BatchNorm: {
        if (!cf && x.dim() > 2) {
          x = to_channels_first(x);
          cf = true;
        }
        const auto view = channel_view(s.gamma.size(0), x.dim());
        if (train) {
          x = torch::batch_norm(x, s.gamma, s.beta, s.running_mean, s.running_var, true,
                                1.0 - l.momentum, l.epsilon, false);
        } else {
          torch::Tensor scale, shift;
          {
            // Constants for inference; x keeps its graph (weight_scores differentiates it).
            torch::NoGradGuard no_grad;
            const torch::Tensor scale64 = s.gamma.to(torch::kFloat64) /
                                          (s.running_var.to(torch::kFloat64) + l.epsilon).sqrt();
            shift = (s.beta.to(torch::kFloat64) - s.running_mean.to(torch::kFloat64) * scale64)
                        .to(torch::kFloat32);
            scale = param(scale64.to(torch::kFloat32), l.precision.weight);
            shift = param(shift, l.precision.bias);
          }
          x = x * scale.view(view) + shift.view(view);
        }
        x = result(x, l.precision.result, train, static_cast<int>(i));
        break;
      }
      case LayerKind::Activation:
        if (l.activation == ActivationKind::Softmax)
          x = torch::softmax(x, cf ? 1 : x.dim() - 1);
        else
          x = result(elementwise_activation(l, x), l.precision.result, train, static_cast<int>(i));
        break;
      case LayerKind::MaxPool1D:
      case LayerKind::MaxPool2D:
      case LayerKind::AvgPool1D:
      case LayerKind::AvgPool2D: {
        if (!cf) x = to_channels_first(x);
        cf = true;
        const bool is_max = l.kind == LayerKind::MaxPool1D || l.kind == LayerKind::MaxPool2D;
        const bool two_d = l.kind == LayerKind::MaxPool2D || l.kind == LayerKind::AvgPool2D;
        const auto pads = same_pads(l);
        auto pool = [&](const torch::Tensor& t) {
          if (is_max)
            return two_d ? torch::max_pool2d(t, l.pool_size, l.strides)
                         : torch::max_pool1d(t, l.pool_size, l.strides);
          return two_d ? torch::avg_pool2d(t, l.pool_size, l.strides)
                       : torch::avg_pool1d(t, l.pool_size, l.strides);
        };
        if (pads.empty()) {
          x = pool(x);
        } else if (is_max) {
          x = pool(torch::constant_pad_nd(x, pads, -std::numeric_limits<double>::infinity()));
        } else {
          // Keras averages over the valid elements only.
          std::vector<int64_t> ones_shape(static_cast<size_t>(x.dim()), 1);
          for (int64_t d = 2; d < x.dim(); ++d) ones_shape[d] = x.size(d);
          const torch::Tensor count =
              pool(torch::constant_pad_nd(torch::ones(ones_shape), pads, 0.0));
          x = pool(torch::constant_pad_nd(x, pads, 0.0)) / count;
        }
        x = result(x, l.precision.result, train, static_cast<int>(i));
        break;
      }
      case LayerKind::Flatten:
        if (cf) x = to_channels_last(x);
        cf = false;
        x = x.flatten(1);
        break;
      case LayerKind::Dropout:
        if (train && l.rate > 0) x = torch::dropout(x, l.rate, true);
        break;
    }
  }
  if (cf) x = to_channels_last(x);
  stats_ = nullptr;
  return x;
}

void Net::sync_to(Model& model) const {
  if (model.layers.size() != model_.layers.size())
    throw Error(fmt::format("model '{}' changed structure while training", model.name));
  for (size_t i = 0; i < model_.layers.size(); ++i) {
    Layer& l = model.layers[i];
    const LayerState& s = st_[i];
    if (l.has_kernel()) {
      l.weights["kernel"] = from_torch_kernel(l, s.kernel);
      if (s.bias.defined()) l.weights["bias"] = from_torch(s.bias);
      if (s.mask.defined()) l.mask = from_torch_kernel(l, s.mask);
      l.widths = model_.layers[i].widths;
    } else if (l.kind == LayerKind::BatchNorm) {
      l.weights["gamma"] = from_torch(s.gamma);
      l.weights["beta"] = from_torch(s.beta);
      l.weights["moving_mean"] = from_torch(s.running_mean);
      l.weights["moving_variance"] = from_torch(s.running_var);
    }
  }
}

}  // namespace hwprune::train
