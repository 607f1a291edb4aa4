// Precompiled header of the training engine: LibTorch is included here and nowhere
// outside src/train/.
#pragma once

#include <torch/torch.h>
