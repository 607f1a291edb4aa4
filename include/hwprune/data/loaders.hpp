// Dataset loaders (Fashion-MNIST IDX, CSV, NPY, NPZ) and the --data spec that picks one.
//
// Spec grammar:  <source>[,key=value...]
//   fashion-mnist                 IDX files from Debian's dataset-fashion-mnist
//                                 ($HWPRUNE_FASHION_MNIST_DIR overrides the folder); 60k/10k
//   letter                        UCI Letter Recognition CSV made by scripts/letter-csv.sh
//                                 ($HWPRUNE_DATA_DIR/letter.csv, default ~/.cache/hwprune);
//                                 the classic split: first 16,000 rows train, last 4,000 test
//   idx:<images>[,labels=<labels>]  IDX files, .gz or raw
//   csv:<file>[,label=<name|index>][,header=auto|yes|no][,delimiter=<c>]
//                                 label defaults to the last column; negative index counts
//                                 from the end; labels are integers or strings (classes);
//                                 label=none: every column is a feature (no labels)
//   npy:<X.npy>[,labels=<y.npy>]  y integer, or one-hot (n, K)
//   npz:<file.npz>[,x=<name>][,y=<name>]   default arrays "x"/"X" and "y"/"Y"; y=none: no labels
// Without labels (label=none, y=none, no labels=) a dataset holds features only
// (Dataset::labelled() is false): enough for predictions, refused for training/evaluation.
//   <file>.csv | <file>.npz       format from the extension
// Options valid for every format: task=classification|regression.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "hwprune/data/dataset.hpp"
#include "hwprune/util/names.hpp"

namespace hwprune::data {

// The kinds of --data sources (the grammar above), the one list the parser, --help and the
// errors use. A name ending in ':' is followed by a file.
enum class DataSource { FashionMnist, Letter, Csv, Npy, Npz, Idx };
inline constexpr NameTable<DataSource, 6> kDataSources{
    "data source",
    {{{"fashion-mnist", DataSource::FashionMnist,
       "Debian's dataset-fashion-mnist (60k train / 10k test images)"},
      {"letter", DataSource::Letter,
       "UCI Letter Recognition, 16 features, 26 classes (16,000 train / 4,000 test)"},
      {"csv:", DataSource::Csv,
       "csv:<file>[,label=<name|index|none>][,header=auto|yes|no][,delimiter=<c>] (or <file>.csv)"},
      {"npy:", DataSource::Npy, "npy:<X.npy>[,labels=<y.npy>] (y integer or one-hot)"},
      {"npz:", DataSource::Npz, "npz:<file>[,x=<name>][,y=<name>|none] (or <file>.npz)"},
      {"idx:", DataSource::Idx, "idx:<images>[,labels=<labels>] (IDX, .gz or raw)"}}}};

struct LoadOptions {
  std::optional<Task> task;  // default: from the spec's task= key, else classification
  // Known class names (e.g. from a trained model): string labels map onto them, and an
  // unknown label is an error. Empty = derive from the data (sorted unique strings, or
  // "0".."max" for integer labels).
  std::vector<std::string> class_names;
};

struct DataSplit {
  Dataset train;
  std::optional<Dataset> test;  // set when the source has a canonical test part
};

DataSplit load_data(const std::string& spec, const LoadOptions& opts = {});

// Individual readers (each throws Error naming the file and the problem).
Dataset read_idx(const std::string& images_path, const std::string& labels_path);
struct CsvOptions {
  std::string label = "-1";  // column name or index
  enum class Header { Auto, Yes, No } header = Header::Auto;
  char delimiter = ',';
  Task task = Task::Classification;
  std::vector<std::string> class_names;
};
Dataset read_csv(const std::string& path, const CsvOptions& opts);
Dataset read_npy_pair(const std::string& x_path, const std::string& y_path, Task task,
                      const std::vector<std::string>& class_names);
Dataset read_npz(const std::string& path, const std::string& x_name, const std::string& y_name,
                 Task task, const std::vector<std::string>& class_names);

// Default location of the Letter CSV (see scripts/letter-csv.sh).
std::string letter_csv_path();

}  // namespace hwprune::data
