// Reading result JSON that may come from elsewhere (an edited file, an older version): a
// missing, null or mistyped key gives the default instead of an exception.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace hwprune::report {

inline std::string text_of(const nlohmann::json& o, const char* key, const std::string& def) {
  if (!o.is_object()) return def;
  const auto it = o.find(key);
  return it != o.end() && it->is_string() ? it->get<std::string>() : def;
}

inline double number_of(const nlohmann::json& o, const char* key, double def) {
  if (!o.is_object()) return def;
  const auto it = o.find(key);
  return it != o.end() && it->is_number() ? it->get<double>() : def;
}

inline bool flag_of(const nlohmann::json& o, const char* key, bool def) {
  if (!o.is_object()) return def;
  const auto it = o.find(key);
  return it != o.end() && it->is_boolean() ? it->get<bool>() : def;
}

// o[key] when o is an object holding it, else def (any type).
inline nlohmann::json member(const nlohmann::json& o, const std::string& key,
                             const nlohmann::json& def = nullptr) {
  if (!o.is_object()) return def;
  const auto it = o.find(key);
  return it != o.end() && !it->is_null() ? *it : def;
}

// A metric the result JSON holds as a share in [0, 1] (shown as a percentage).
inline bool share_metric(const std::string& metric) {
  return metric == "accuracy" || metric == "balanced-accuracy";
}

}  // namespace hwprune::report
