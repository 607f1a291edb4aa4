// The streaming (io_stream) schedule of a Conv or pooling layer, shared by the Verilog
// generator and the estimator: pixels arrive one per cycle at most, a line buffer forms each
// window, and every window is handed to a kernel that takes a new start every `interval`
// cycles. Needs the layer's shapes (channels-last) only. Design notes: docs/rtl.md.
#pragma once

#include <cstdint>
#include <vector>

#include "hwprune/hw/hardware.hpp"
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

// The kernel side of a streaming layer. `instances` kernels take the windows in turn (RF 1
// with PF > 1: each its own constant multipliers), or one kernel takes `lockstep` consecutive
// windows per start and gives as many outputs at its done (RF > 1 with PF > 1: one read of
// the weight ROM serves all of them). Shared by the generator and the estimator.
struct KernelSchedule {
  int64_t latency = 1;    // cycles from a start to the kernel's done
  int64_t interval = 1;   // cycles between starts of one kernel
  int64_t instances = 1;  // kernels taking starts in turn
  int64_t lockstep = 1;   // windows (and outputs) per start
};

// The schedule of a Conv layer's kernel with hardware `hw`, whose kernel module takes
// `kernel_latency` cycles (hw::generated_kernel_latency).
KernelSchedule kernel_schedule(const LayerHw& hw, int64_t kernel_latency);

// Depth of a streaming layer's output FIFO: room for every output its kernels may have in
// flight, and a lockstep group besides, while the FIFO drains one per cycle (a power of two,
// at least 2).
int64_t stream_fifo_depth(const KernelSchedule& k);

// The layer's figures, cycle by cycle as the shell runs: the walk advances one position per
// cycle; an anchor that starts the kernel waits until the kernel in turn is free and the
// output FIFO has room for the start's outputs (FIFO entries plus outputs in flight); other
// anchors of a lockstep group only store their window. A done writes its outputs into the
// FIFO; the FIFO offers one per cycle from the next cycle on.
StreamTiming stream_timing(const StreamGeometry& g, const KernelSchedule& k);

}  // namespace hwprune::hw
