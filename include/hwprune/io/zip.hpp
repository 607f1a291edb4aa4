// Zip archives through libzip: read members (for .npz datasets and the native model file)
// and write a new archive atomically.
#pragma once

#include <memory>
#include <string>
#include <vector>

namespace hwprune::io {

class ZipReader {
 public:
  explicit ZipReader(const std::string& path);  // Error if missing or not a zip archive
  ~ZipReader();
  ZipReader(const ZipReader&) = delete;
  ZipReader& operator=(const ZipReader&) = delete;

  const std::string& path() const { return path_; }
  std::vector<std::string> names() const;
  bool contains(const std::string& name) const;
  std::string read(const std::string& name) const;  // Error if absent or corrupt

 private:
  std::string path_;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Collects members in memory; commit() writes the archive to a temporary file beside
// `path` and renames it into place, so an existing file survives any failure.
class ZipWriter {
 public:
  explicit ZipWriter(std::string path);
  void add(const std::string& name, std::string bytes, bool compress = true);
  void commit();

 private:
  struct Member {
    std::string name;
    std::string bytes;
    bool compress;
  };
  std::string path_;
  std::vector<Member> members_;
};

}  // namespace hwprune::io
