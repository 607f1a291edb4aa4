// What a model predicts: classes (cross-entropy, accuracy) or real values (MSE).
#pragma once

#include "hwprune/util/names.hpp"

namespace hwprune {

enum class Task { Classification, Regression };

inline constexpr NameTable<Task, 2> kTaskNames{
    "task",
    {{{"classification", Task::Classification, "class labels: cross-entropy, accuracy"},
      {"regression", Task::Regression, "real-valued targets: mean squared error"}}}};

inline std::string_view to_string(Task t) {
  return kTaskNames.name(t);
}

}  // namespace hwprune
