// The tree shows the method: every folder of include/hwprune and src includes only itself and
// the folders before it in the documented order (README, "Layout"), and only src/train
// includes LibTorch. Fails naming the file, the line and the include that breaks the order.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;

// util -> ir -> hw -> io -> data -> {knapsack, rtl, report} -> structures -> train -> prune
// -> sweep -> cli. Folders of one rank (knapsack, rtl and report, beside each other) do not
// include each other.
const std::map<std::string, int> kRank = {
    {"util", 0},     {"ir", 1},    {"hw", 2},     {"io", 3},         {"data", 4},
    {"knapsack", 5}, {"rtl", 5},   {"report", 5}, {"structures", 6}, {"train", 7},
    {"prune", 8},    {"sweep", 9}, {"cli", 10},
};

struct Violation {
  std::string file;
  int line = 0;
  std::string text;
};

// The folder a file belongs to: the first component below include/hwprune or src.
std::string folder_of(const fs::path& root, const fs::path& file) {
  return fs::relative(file, root).begin()->string();
}

std::vector<Violation> violations(const fs::path& root) {
  std::vector<Violation> out;
  const std::regex project_include(R"(^\s*#\s*include\s*"hwprune/([a-z_]+)/)");
  const std::regex torch_include(R"(^\s*#\s*include\s*<(torch|ATen|c10)/)");
  for (const auto& entry : fs::recursive_directory_iterator(root)) {
    if (!entry.is_regular_file()) continue;
    const auto ext = entry.path().extension();
    if (ext != ".hpp" && ext != ".cpp" && ext != ".h") continue;
    const std::string from = folder_of(root, entry.path());
    const auto from_rank = kRank.find(from);
    if (from_rank == kRank.end()) {
      out.push_back({entry.path().string(), 0, "folder '" + from + "' is not in the order"});
      continue;
    }
    std::ifstream in(entry.path());
    std::string line;
    for (int n = 1; std::getline(in, line); ++n) {
      std::smatch m;
      if (std::regex_search(line, m, project_include)) {
        const std::string to = m[1];
        const auto to_rank = kRank.find(to);
        if (to != from && (to_rank == kRank.end() || to_rank->second >= from_rank->second))
          out.push_back({entry.path().string(), n, line});
      }
      if (from != "train" && std::regex_search(line, torch_include))
        out.push_back({entry.path().string(), n, line + "  (LibTorch outside src/train)"});
    }
  }
  return out;
}

}  // namespace

TEST(Layout, NoFolderIncludesOneAboveItAndTorchStaysInTrain) {
  const fs::path source(HWPRUNE_SOURCE_DIR);
  size_t files = 0;
  for (const char* sub : {"include/hwprune", "src"}) {
    const fs::path root = source / sub;
    ASSERT_TRUE(fs::is_directory(root)) << root;
    for (const auto& v : violations(root))
      ADD_FAILURE() << v.file << ":" << v.line << ": " << v.text;
    for (const auto& e : fs::recursive_directory_iterator(root)) files += e.is_regular_file();
  }
  EXPECT_GT(files, 50u);  // the scan saw the tree
}

TEST(Layout, TheCheckCatchesAnUpwardInclude) {
  const fs::path dir = fs::temp_directory_path() / "hwprune-layout-test";
  fs::remove_all(dir);
  fs::create_directories(dir / "hw");
  fs::create_directories(dir / "knapsack");
  std::ofstream(dir / "hw" / "a.cpp") << "#include \"hwprune/hw/x.hpp\"\n"
                                      << "#include \"hwprune/ir/model.hpp\"\n"
                                      << "#include \"hwprune/structures/groups.hpp\"\n";
  std::ofstream(dir / "knapsack" / "b.cpp") << "#include \"hwprune/rtl/synth.hpp\"\n"
                                            << "#include <torch/torch.h>\n";
  const auto v = violations(dir);
  fs::remove_all(dir);
  ASSERT_EQ(v.size(), 3u);
  std::vector<int> lines;
  for (const auto& x : v) lines.push_back(x.line);
  std::sort(lines.begin(), lines.end());
  EXPECT_EQ(lines, (std::vector<int>{1, 2, 3}));
}
