// Internal helpers shared by the dataset loaders (not part of the public API).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "hwprune/data/dataset.hpp"

namespace hwprune::data::detail {

// "0".."k-1".
std::vector<std::string> numbered_names(int64_t k);

// Sets d.labels and d.class_names from integer class indices (row r has values[r]).
// Negative values are an error. With `known` class names the indices must be < known.size()
// and the names are `known`; otherwise the names are "0".."K-1" with
// K = max(max value + 1, min_classes). `what` names the source in errors.
void assign_int_labels(Dataset& d, const std::vector<int64_t>& values,
                       const std::vector<std::string>& known, const std::string& what,
                       int64_t min_classes = 0);

// Turns integer labels into regression targets of shape (n, 1).
void labels_to_targets(Dataset& d);

}  // namespace hwprune::data::detail
