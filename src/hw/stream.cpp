// The streaming window walk (stream.hpp) and its cycle figures.
#include "hwprune/hw/stream.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "hwprune/util/error.hpp"

namespace hwprune::hw {

int64_t StreamGeometry::grid_h() const {
  return std::max(pt + h, (oh - 1) * sh + kh);
}

int64_t StreamGeometry::grid_w() const {
  return std::max(pl + w, (ow - 1) * sw + kw);
}

bool StreamGeometry::is_input(int64_t r, int64_t col) const {
  return r >= pt && r < pt + h && col >= pl && col < pl + w;
}

bool StreamGeometry::is_anchor(int64_t r, int64_t col) const {
  const int64_t r0 = r - (kh - 1), c0 = col - (kw - 1);
  return r0 >= 0 && c0 >= 0 && r0 % sh == 0 && c0 % sw == 0 && r0 / sh < oh && c0 / sw < ow;
}

int64_t StreamGeometry::buffer_pixels() const {
  return (kh - 1) * grid_w() + kw - 1;
}

StreamGeometry stream_geometry(const std::vector<int64_t>& in_shape,
                               const std::vector<int64_t>& window,
                               const std::vector<int64_t>& strides,
                               const std::vector<int64_t>& pad_begin,
                               const std::vector<int64_t>& out_shape) {
  const size_t rank = window.size();
  if ((rank != 1 && rank != 2) || in_shape.size() != rank + 1 || out_shape.size() != rank + 1 ||
      strides.size() != rank || (!pad_begin.empty() && pad_begin.size() != rank))
    throw Error(
        fmt::format("stream geometry: window rank {} does not fit input rank {} / output rank {}",
                    rank, in_shape.size(), out_shape.size()));
  StreamGeometry g;
  const size_t col = rank - 1;  // the column axis (the only spatial axis of rank 1)
  if (rank == 2) {
    g.h = in_shape[0];
    g.kh = window[0];
    g.sh = strides[0];
    g.pt = pad_begin.empty() ? 0 : pad_begin[0];
    g.oh = out_shape[0];
  }
  g.w = in_shape[col];
  g.kw = window[col];
  g.sw = strides[col];
  g.pl = pad_begin.empty() ? 0 : pad_begin[col];
  g.ow = out_shape[col];
  g.c = in_shape.back();
  for (int64_t v : {g.h, g.w, g.c, g.kh, g.kw, g.sh, g.sw, g.oh, g.ow})
    if (v < 1) throw Error("stream geometry: sizes, windows and strides must be >= 1");
  if (g.pt < 0 || g.pl < 0 || (g.oh - 1) * g.sh + g.kh > g.grid_h() ||
      (g.ow - 1) * g.sw + g.kw > g.grid_w() || g.pt >= g.kh || g.pl >= g.kw)
    throw Error("stream geometry: padding or output size does not fit the window");
  return g;
}

StreamGeometry stream_geometry(const Layer& l) {
  const bool conv = l.kind == LayerKind::Conv1D || l.kind == LayerKind::Conv2D;
  const bool pool = l.kind == LayerKind::MaxPool1D || l.kind == LayerKind::MaxPool2D ||
                    l.kind == LayerKind::AvgPool1D || l.kind == LayerKind::AvgPool2D;
  if (!conv && !pool)
    throw Error(fmt::format("layer '{}': a {} has no streaming window", l.name, to_string(l.kind)));
  const std::vector<int64_t>& window = conv ? l.kernel_size : l.pool_size;
  const std::vector<int64_t> strides = !l.strides.empty() ? l.strides
                                       : conv             ? std::vector<int64_t>(window.size(), 1)
                                                          : window;
  std::vector<int64_t> pad;
  if (l.padding == Padding::Same)
    for (size_t d = 0; d < window.size(); ++d) {
      const int64_t total =
          (l.output_shape.at(d) - 1) * strides[d] + window[d] - l.input_shape.at(d);
      pad.push_back(std::max<int64_t>(total, 0) / 2);
    }
  try {
    return stream_geometry(l.input_shape, window, strides, pad, l.output_shape);
  } catch (const Error& e) {
    throw Error(fmt::format("layer '{}': {}", l.name, e.what()));
  }
}

KernelSchedule kernel_schedule(const LayerHw& hw, int64_t kernel_latency) {
  KernelSchedule k;
  k.latency = kernel_latency;
  k.interval = hw.reuse_factor;
  (hw.uses_rom() ? k.lockstep : k.instances) = hw.instances();
  return k;
}

int64_t stream_fifo_depth(const KernelSchedule& k) {
  const int64_t span = k.latency + 1;  // cycles an output holds a credit before it is written
  const int64_t starts = std::min(span, k.instances * ((span + k.interval - 1) / k.interval));
  const int64_t need = starts * k.lockstep + (k.lockstep > 1 ? k.lockstep : 1);
  int64_t d = 2;
  while (d < need) d *= 2;
  return d;
}

StreamTiming stream_timing(const StreamGeometry& g, const KernelSchedule& k) {
  // Walk three images back to back: position visits take one cycle each; an anchor that
  // starts the kernel waits for the kernel in turn and for FIFO credits.
  const int64_t depth = stream_fifo_depth(k), group = std::max<int64_t>(1, k.lockstep);
  std::vector<int64_t> next_free(static_cast<size_t>(std::max<int64_t>(1, k.instances)), 0);
  std::vector<int64_t> offers;  // cycle each output is offered (and, always taken, read)
  size_t turn = 0, read = 0;
  int64_t t = 0, in_group = 0, started = 0, last_offer = -1;
  int64_t first[3] = {-1, -1, -1}, last_out[3] = {0, 0, 0};
  for (int img = 0; img < 3; ++img)
    for (int64_t r = 0; r < g.grid_h(); ++r)
      for (int64_t c = 0; c < g.grid_w(); ++c) {
        if (g.is_anchor(r, c) && ++in_group == group) {
          in_group = 0;
          t = std::max(t, next_free[turn]);
          for (;; ++t) {  // credits: outputs started, less those read before this cycle
            while (read < offers.size() && offers[read] < t) ++read;
            if (started - static_cast<int64_t>(read) + group <= depth) break;
          }
          next_free[turn] = t + std::max<int64_t>(1, k.interval);
          turn = (turn + 1) % next_free.size();
          started += group;
          for (int64_t j = 0; j < group; ++j) {
            last_offer = std::max(t + k.latency + 1, last_offer + 1);
            offers.push_back(last_offer);
          }
          last_out[img] = last_offer;
        }
        if (g.is_input(r, c) && first[img] < 0) first[img] = t;
        ++t;
      }
  StreamTiming s;
  s.latency = last_out[1] - first[1];
  s.interval = first[2] - first[1];
  return s;
}

}  // namespace hwprune::hw
