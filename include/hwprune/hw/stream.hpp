// The streaming (io_stream) schedule of a Conv or pooling layer, shared by the Verilog
// generator and the estimator: pixels arrive one per cycle at most, a line buffer forms each
// window, and every window is handed to a kernel that takes a new start every `interval`
// cycles. Needs the layer's shapes (channels-last) only. Design notes: docs/rtl.md.
#pragma once

#include <cstdint>
#include <vector>

#include "hwprune/ir/model.hpp"

namespace hwprune::hw {

// A Conv1D/Conv2D/pooling window walk over a padded grid. Rank-1 layers are one row (h = 1,
// kh = 1). The walk visits every grid position (r, c), r < grid_h(), c < grid_w(), in raster
// order; an input position consumes one input pixel, a padding position shifts in a zero
// without input, and an anchor position (the bottom-right corner of an output window) starts
// the kernel on the window that ends there.
struct StreamGeometry {
  int64_t h = 1, w = 1, c = 1;             // input rows, columns, channels
  int64_t kh = 1, kw = 1, sh = 1, sw = 1;  // window and strides
  int64_t pt = 0, pl = 0;                  // zero rows above, zero columns left ("same")
  int64_t oh = 1, ow = 1;                  // output rows, columns

  int64_t grid_h() const;  // covers the padding, every input row and every window
  int64_t grid_w() const;
  bool is_input(int64_t r, int64_t col) const;   // consumes an input pixel
  bool is_anchor(int64_t r, int64_t col) const;  // an output window ends here
  // Pixels the line buffer holds besides the incoming one: (kh - 1) * grid_w() + kw - 1.
  int64_t buffer_pixels() const;
  int64_t outputs() const { return oh * ow; }
};

// Geometry of a layer from its input shape ((L, C) or (H, W, C)), window, strides, zero
// padding before the input per spatial axis (empty: none) and output shape. Error if the
// ranks do not agree or the output shape is not what the window gives.
StreamGeometry stream_geometry(const std::vector<int64_t>& in_shape,
                               const std::vector<int64_t>& window,
                               const std::vector<int64_t>& strides,
                               const std::vector<int64_t>& pad_begin,
                               const std::vector<int64_t>& out_shape);

// Geometry of a Conv1D/Conv2D or pooling layer (shapes inferred; "same" padding placed as
// Keras places it: the smaller half before). Error naming the layer for any other kind.
StreamGeometry stream_geometry(const Layer& layer);

// Cycle figures of one streaming layer on its own, with an input pixel offered in every
// cycle and the output always taken.
struct StreamTiming {
  // Cycles from the edge that accepts an image's first pixel to the first cycle in which
  // its last output pixel is offered downstream.
  int64_t latency = 0;
  // Cycles between the first pixels of consecutive images, back to back (1 / images per
  // clock).
  int64_t interval = 0;
};

// `kernel_latency`: cycles from a kernel start to its output (done); `kernel_interval`:
// cycles between starts of one kernel instance; `instances`: kernel instances taking starts
// in turn. An output leaves the layer one cycle after the kernel's done (its output FIFO).
StreamTiming stream_timing(const StreamGeometry& g, int64_t kernel_latency, int64_t kernel_interval,
                           int64_t instances);

// Depth of a streaming layer's output FIFO: room for every output its kernels may have in
// flight while the FIFO drains one per cycle (a power of two, at least 2).
int64_t stream_fifo_depth(int64_t kernel_latency, int64_t kernel_interval, int64_t instances);

}  // namespace hwprune::hw
