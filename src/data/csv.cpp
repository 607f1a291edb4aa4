// CSV reader: numeric features, one label column (integers, strings or regression targets).
#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <memory>
#include <string_view>
#include <unordered_map>

#include <fmt/format.h>

#include "hwprune/data/loaders.hpp"
#include "hwprune/util/error.hpp"
#include "hwprune/util/fs.hpp"
#include "label_util.hpp"

namespace hwprune::data {

namespace {

// Field text for a one-line message: control characters escaped, long text shortened.
std::string esc(std::string_view s) {
  std::string out;
  for (char c : s.substr(0, 60)) {
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      out += fmt::format("\\x{:02x}", static_cast<unsigned char>(c));
    } else {
      out.push_back(c);
    }
  }
  if (s.size() > 60) out += "...";
  return out;
}

// The whole file in a buffer that is not zero-filled first (files can be large).
struct Buffer {
  std::unique_ptr<char[]> bytes;
  size_t size = 0;
  char* data() { return bytes.get(); }
};

Buffer slurp(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  auto status = fs::status(path, ec);
  if (!fs::exists(status)) throw Error(fmt::format("{}: no such file", path));
  auto from_string = [](const std::string& s) {
    Buffer b;
    b.bytes.reset(new char[s.size() + 1]);
    std::memcpy(b.bytes.get(), s.data(), s.size());
    b.size = s.size();
    return b;
  };
  if (!fs::is_regular_file(status)) return from_string(read_file(path));  // pipes; dirs fail
  const auto size = fs::file_size(path, ec);
  std::ifstream in(path, std::ios::binary);
  if (ec || !in) return from_string(read_file(path));  // produces the error message
  Buffer b;
  b.bytes.reset(new char[static_cast<size_t>(size) + 1]);
  b.size = static_cast<size_t>(size);
  in.read(b.bytes.get(), static_cast<std::streamsize>(size));
  if (static_cast<uintmax_t>(in.gcount()) != size)
    throw Error(fmt::format("{}: read error (file changed while reading?)", path));
  return b;
}

bool is_blank(char c, char delim) {
  return (c == ' ' || c == '\t') && c != delim;
}

// Splits the buffer into records of fields. Quoted fields are unescaped in place, so every
// field is a view into the (modified) buffer.
class CsvScanner {
 public:
  CsvScanner(char* buf, size_t size, const std::string& path, char delim)
      : b_(buf), n_(size), path_(path), delim_(delim) {
    if (n_ >= 3 && std::memcmp(b_, "\xEF\xBB\xBF", 3) == 0) pos_ = 3;  // UTF-8 BOM
  }

  bool at_end() const { return pos_ >= n_; }

  // Reads one record into `fields`; returns the 1-based line number it started on.
  int64_t next(std::vector<std::string_view>& fields) {
    fields.clear();
    const int64_t start_line = line_;
    const size_t n = n_;
    while (true) {
      while (pos_ < n && is_blank(b_[pos_], delim_)) ++pos_;
      if (pos_ < n && b_[pos_] == '"') {
        size_t out = pos_;
        const size_t begin = out;
        ++pos_;
        while (true) {
          if (pos_ >= n)
            throw Error(fmt::format("{}:{}: unterminated quoted field", path_, start_line));
          char c = b_[pos_];
          if (c == '"') {
            if (pos_ + 1 < n && b_[pos_ + 1] == '"') {
              b_[out++] = '"';
              pos_ += 2;
              continue;
            }
            ++pos_;
            break;
          }
          if (c == '\n') ++line_;
          b_[out++] = c;
          ++pos_;
        }
        fields.emplace_back(b_ + begin, out - begin);
        while (pos_ < n && is_blank(b_[pos_], delim_)) ++pos_;
        if (pos_ < n && b_[pos_] != delim_ && b_[pos_] != '\n' && !is_cr_eol())
          throw Error(fmt::format("{}:{}: unexpected character '{}' after a closing quote", path_,
                                  line_, esc(std::string_view(b_ + pos_, 1))));
      } else {
        const size_t begin = pos_;
        while (pos_ < n && b_[pos_] != delim_ && b_[pos_] != '\n' && !is_cr_eol()) ++pos_;
        size_t end = pos_;
        while (end > begin && is_blank(b_[end - 1], delim_)) --end;
        fields.emplace_back(b_ + begin, end - begin);
      }
      if (pos_ >= n) break;
      if (b_[pos_] == delim_) {
        ++pos_;
        continue;
      }
      // End of line: "\n" or "\r\n" (or a final "\r").
      if (b_[pos_] == '\r') ++pos_;
      if (pos_ < n && b_[pos_] == '\n') ++pos_;
      ++line_;
      break;
    }
    return start_line;
  }

 private:
  bool is_cr_eol() const { return b_[pos_] == '\r' && (pos_ + 1 >= n_ || b_[pos_ + 1] == '\n'); }

  char* b_;
  size_t n_;
  const std::string& path_;
  char delim_;
  size_t pos_ = 0;
  int64_t line_ = 1;
};

bool is_empty_record(const std::vector<std::string_view>& f) {
  return f.size() == 1 && f[0].empty();
}

bool parse_double(std::string_view s, double& v) {
  if (!s.empty() && s[0] == '+') s.remove_prefix(1);
  if (s.empty()) return false;
  auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  if (r.ptr != s.data() + s.size()) return false;
  if (r.ec == std::errc::result_out_of_range) {
    // Underflow or overflow: strtod-like result for the caller to judge.
    std::string tmp(s);
    v = std::strtod(tmp.c_str(), nullptr);
    return true;
  }
  return r.ec == std::errc();
}

bool is_number(std::string_view s) {
  double v;
  return parse_double(s, v);
}

enum class NumStatus { Ok, NotNumber, NonFinite, OutOfRange };

NumStatus parse_float(std::string_view s, float& v) {
  if (!s.empty() && s[0] == '+') s.remove_prefix(1);
  if (s.empty()) return NumStatus::NotNumber;
  auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  if (r.ptr != s.data() + s.size()) return NumStatus::NotNumber;
  if (r.ec == std::errc::result_out_of_range) {
    double d;
    if (!parse_double(s, d)) return NumStatus::NotNumber;
    if (std::fabs(d) <= static_cast<double>(std::numeric_limits<float>::max())) {
      v = static_cast<float>(d);  // underflow to 0 / subnormal
      return NumStatus::Ok;
    }
    return NumStatus::OutOfRange;
  }
  if (r.ec != std::errc()) return NumStatus::NotNumber;
  return std::isfinite(v) ? NumStatus::Ok : NumStatus::NonFinite;
}

// Integer-valued label: "3", "-1", "3.0".
bool parse_int_label(std::string_view s, int64_t& v) {
  if (!s.empty() && s[0] == '+') s.remove_prefix(1);
  if (s.empty()) return false;
  auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  if (r.ec == std::errc() && r.ptr == s.data() + s.size()) return true;
  double d;
  if (!parse_double(s, d) || !std::isfinite(d) || d != std::trunc(d) || std::fabs(d) > 9e15)
    return false;
  v = static_cast<int64_t>(d);
  return true;
}

std::string join_names(const std::vector<std::string>& names, size_t max_items = 30) {
  std::string out;
  for (size_t i = 0; i < names.size() && i < max_items; ++i) {
    if (i) out += ", ";
    out += esc(names[i]);
  }
  if (names.size() > max_items) out += fmt::format(", ... ({} in all)", names.size());
  return out;
}

}  // namespace

Dataset read_csv(const std::string& path, const CsvOptions& opts) {
  if (opts.delimiter == '"' || opts.delimiter == '\n' || opts.delimiter == '\r')
    throw Error(fmt::format("{}: invalid CSV delimiter", path));
  Buffer buf = slurp(path);
  CsvScanner scan(buf.data(), buf.size, path, opts.delimiter);
  std::vector<std::string_view> fields;
  fields.reserve(64);

  // The first record fixes the column count (and is the header, if there is one).
  if (scan.at_end()) throw Error(fmt::format("{}: empty file", path));
  int64_t line = scan.next(fields);
  if (is_empty_record(fields)) throw Error(fmt::format("{}:{}: empty first line", path, line));
  const size_t ncols = fields.size();
  bool has_header = opts.header == CsvOptions::Header::Yes;
  if (opts.header == CsvOptions::Header::Auto)
    has_header =
        std::any_of(fields.begin(), fields.end(), [](std::string_view f) { return !is_number(f); });
  std::vector<std::string> names(ncols);
  for (size_t i = 0; i < ncols; ++i)
    names[i] = has_header ? std::string(fields[i]) : fmt::format("column {}", i);
  const bool unlabelled = opts.label == "none";
  if (ncols < (unlabelled ? 1u : 2u))
    throw Error(
        fmt::format("{}: needs at least 2 columns (features and a label), got {}", path, ncols));

  // Label column: a header name, else an integer index (negative counts from the end);
  // "none": every column is a feature.
  size_t label_col = ncols;
  if (unlabelled) {
  } else if (has_header) {
    auto it = std::find(names.begin(), names.end(), opts.label);
    if (it != names.end()) label_col = static_cast<size_t>(it - names.begin());
  }
  if (label_col == ncols && !unlabelled) {
    int64_t idx = 0;
    auto r = std::from_chars(opts.label.data(), opts.label.data() + opts.label.size(), idx);
    if (!opts.label.empty() && r.ec == std::errc() &&
        r.ptr == opts.label.data() + opts.label.size()) {
      const int64_t k = idx < 0 ? idx + static_cast<int64_t>(ncols) : idx;
      if (k < 0 || k >= static_cast<int64_t>(ncols))
        throw Error(fmt::format("{}: label column index {} is out of range for {} columns", path,
                                esc(opts.label), ncols));
      label_col = static_cast<size_t>(k);
    } else if (!has_header) {
      throw Error(
          fmt::format("{}: label column '{}' is given by name but the file has no header row", path,
                      esc(opts.label)));
    } else {
      throw Error(fmt::format("{}: no column named '{}' (columns: {})", path, esc(opts.label),
                              join_names(names)));
    }
  }

  // Estimate the row count to reserve memory once.
  const size_t est_rows =
      static_cast<size_t>(std::count(buf.data(), buf.data() + buf.size, '\n')) + 1;
  const size_t nfeat = unlabelled ? ncols : ncols - 1;
  std::vector<float> x;
  x.reserve(est_rows * nfeat);
  std::vector<std::string_view> label_text;
  std::vector<int64_t> label_line;
  label_text.reserve(est_rows);
  label_line.reserve(est_rows);

  auto handle_row = [&](int64_t ln) {
    for (size_t c = 0; c < ncols; ++c) {
      if (c == label_col) continue;
      float v;
      switch (parse_float(fields[c], v)) {
        case NumStatus::Ok:
          x.push_back(v);
          break;
        case NumStatus::NotNumber:
          throw Error(fmt::format("{}:{}: non-numeric value '{}' in column '{}'", path, ln,
                                  esc(fields[c]), esc(names[c])));
        case NumStatus::NonFinite:
          throw Error(fmt::format("{}:{}: non-finite value '{}' (NaN/Inf) in column '{}'", path, ln,
                                  esc(fields[c]), esc(names[c])));
        case NumStatus::OutOfRange:
          throw Error(fmt::format("{}:{}: value '{}' in column '{}' is out of float32 range", path,
                                  ln, esc(fields[c]), esc(names[c])));
      }
    }
    label_text.push_back(unlabelled ? std::string_view() : fields[label_col]);
    label_line.push_back(ln);
  };

  if (!has_header) handle_row(line);
  int64_t pending_empty = 0;  // first empty line not yet known to be trailing
  while (!scan.at_end()) {
    line = scan.next(fields);
    bool blank = is_empty_record(fields);
    if (blank) {
      if (!pending_empty) pending_empty = line;
      continue;
    }
    if (pending_empty)
      throw Error(
          fmt::format("{}:{}: expected {} fields, got an empty line", path, pending_empty, ncols));
    if (fields.size() != ncols)
      throw Error(
          fmt::format("{}:{}: expected {} fields, got {}", path, line, ncols, fields.size()));
    handle_row(line);
  }
  const size_t n = label_text.size();
  if (n == 0) throw Error(fmt::format("{}: no data rows", path));

  Dataset d;
  d.source = path;
  d.task = opts.task;
  d.x = Tensor({static_cast<int64_t>(n), static_cast<int64_t>(nfeat)}, std::move(x));
  if (unlabelled) {
    d.class_names = opts.class_names;
    d.check_finite();
    return d;
  }
  const std::string label_name = esc(names[label_col]);

  if (opts.task == Task::Regression) {
    std::vector<float> t(n);
    for (size_t r = 0; r < n; ++r) {
      switch (parse_float(label_text[r], t[r])) {
        case NumStatus::Ok:
          break;
        case NumStatus::NonFinite:
          throw Error(fmt::format("{}:{}: non-finite value '{}' (NaN/Inf) in column '{}'", path,
                                  label_line[r], esc(label_text[r]), label_name));
        default:
          throw Error(fmt::format("{}:{}: non-numeric regression target '{}' in column '{}'", path,
                                  label_line[r], esc(label_text[r]), label_name));
      }
    }
    d.targets = Tensor({static_cast<int64_t>(n), 1}, std::move(t));
    d.check_finite();
    return d;
  }

  // Classification: integer labels if every label is an integer, else string classes.
  std::vector<int64_t> ints(n);
  bool all_int = true;
  for (size_t r = 0; r < n && all_int; ++r) all_int = parse_int_label(label_text[r], ints[r]);
  if (all_int) {
    for (size_t r = 0; r < n; ++r) {
      if (ints[r] < 0)
        throw Error(fmt::format("{}:{}: negative label {} in column '{}'", path, label_line[r],
                                ints[r], label_name));
      if (!opts.class_names.empty() && ints[r] >= static_cast<int64_t>(opts.class_names.size()))
        throw Error(
            fmt::format("{}:{}: label {} in column '{}' is out of range for the {} known "
                        "classes",
                        path, label_line[r], ints[r], label_name, opts.class_names.size()));
    }
    detail::assign_int_labels(d, ints, opts.class_names, path);
  } else {
    std::unordered_map<std::string_view, int32_t> index;
    std::vector<std::string> classes;
    if (!opts.class_names.empty()) {
      classes = opts.class_names;
      for (size_t i = 0; i < classes.size(); ++i)
        index.emplace(classes[i], static_cast<int32_t>(i));
    } else {
      for (size_t r = 0; r < n; ++r) {
        if (index.emplace(label_text[r], 0).second) classes.emplace_back(label_text[r]);
      }
      std::sort(classes.begin(), classes.end());
      index.clear();
      for (size_t i = 0; i < classes.size(); ++i)
        index.emplace(classes[i], static_cast<int32_t>(i));
    }
    d.labels.resize(n);
    for (size_t r = 0; r < n; ++r) {
      if (label_text[r].empty())
        throw Error(
            fmt::format("{}:{}: empty label in column '{}'", path, label_line[r], label_name));
      auto it = index.find(label_text[r]);
      if (it == index.end())
        throw Error(fmt::format("{}:{}: unknown label '{}' in column '{}' (known classes: {})",
                                path, label_line[r], esc(label_text[r]), label_name,
                                join_names(classes)));
      d.labels[r] = it->second;
    }
    d.class_names = std::move(classes);
  }
  d.check_finite();
  return d;
}

}  // namespace hwprune::data
