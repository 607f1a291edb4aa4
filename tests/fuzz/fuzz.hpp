// What every fuzz target shares (docs/fuzzing.md): a per-process work folder for parsers that
// read files, the rule a run must keep (bad input ends in one hwprune::Error: one line, naming
// the file; anything else thrown aborts, so libFuzzer keeps the input), and the small models
// the seeds and the targets' fixed companion files are made from.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <initializer_list>
#include <string>
#include <string_view>
#include <typeinfo>

#include "hwprune/ir/model.hpp"
#include "hwprune/util/error.hpp"

namespace hwprune::fuzz {

// A folder of this process's own, removed at exit.
const std::filesystem::path& work_dir();
// Writes bytes to work_dir()/name (plainly: a parser must cope with any content) and
// returns the path.
std::string write(const std::string& name, std::string_view bytes);

// Prints why and aborts: libFuzzer (or the replay driver) reports the input.
[[noreturn]] void fail(std::string_view why, std::string_view message);

// The error rule: `message` is non-empty, one line without control characters and, if
// `names` is not empty, holds one of them (the file at fault).
void check_message(std::string_view message, std::initializer_list<std::string_view> names);

// Runs f. A hwprune::Error must keep check_message; any other exception aborts.
template <typename F>
void expect_clean(F&& f, std::initializer_list<std::string_view> names = {}) {
  try {
    f();
  } catch (const Error& e) {
    check_message(e.what(), names);
  } catch (const std::exception& e) {
    fail(std::string("non-project exception ") + typeid(e).name(), e.what());
  } catch (...) {
    fail("non-project exception", "(not a std::exception)");
  }
}

// Runs f, which must not throw: any exception aborts with `what` (a property of the parser,
// e.g. that a type it printed parses back).
template <typename F>
auto must(std::string_view what, F&& f) {
  try {
    return f();
  } catch (const std::exception& e) {
    fail(what, e.what());
  }
}

// A model a loader returned must be consistent: its shapes infer without an error.
void check_loaded(const Model& model, std::string_view file);

// Seed models: every layer type in 1-D (float), the same with fixed-point precisions, hardware
// attributes and a mask, and a small quantized Conv2D network.
Model every_layer_float();
Model every_layer_quantized();
Model conv2d_quantized();

// The seed models' exports in work_dir(), for targets whose input refers to or goes with
// them: e.json + e_weights.h5 and e.onnx (quantized every-layer), c.json + c_weights.h5
// (Conv2D). Written on the first call; returns work_dir().
const std::filesystem::path& seed_exports();

}  // namespace hwprune::fuzz
