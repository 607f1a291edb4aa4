// Small file helpers: whole-file reads with clear errors, and atomic writes (write a
// temporary file beside the target, then rename) so a failed run never destroys an output.
#pragma once

#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace hwprune {

// Reads a whole file; throws Error("<path>: <reason>") if it cannot.
std::string read_file(const std::string& path);

// Error "<what> <path>: directory <dir> does not exist" unless the folder `path` would be
// written into exists ("" passes): checked before the work, not found missing after it.
void check_output_folder(const std::string& path, const std::string& what);

// Writes bytes to path atomically (temp file in the same folder, fsync, rename).
void write_file_atomic(const std::string& path, const std::string& bytes);

// Removes what a killed writer left beside `path`: temporaries "<path>.tmp-<pid>-<hex>" of a
// process that no longer exists on this host. Every atomic write here calls it first, so the
// next run on an output cleans up after a killed one. Returns how many it removed.
int remove_stale_temps(const std::string& path);

// Lets a writer produce the file under a temporary name: calls write(tmp_path), then
// renames tmp_path to path (or, if the current StagedOutputs holds path, leaves the rename to
// its commit). If write throws, the temporary is removed and path is untouched.
void write_via_temp(const std::string& path, const std::function<void(const std::string&)>& write);

// A command's outputs, replaced together when it has succeeded. While one lives (on this
// thread), atomic writes to the paths declared with declare_output keep their temporaries;
// commit() renames them all into place, and destruction without commit removes them. So a
// command that fails replaces none of its outputs. Files that must land at once (checkpoints,
// work folders read by other tools) are simply not declared.
class StagedOutputs {
 public:
  StagedOutputs();  // becomes the current stage of this thread (the previous one returns after)
  ~StagedOutputs();
  StagedOutputs(const StagedOutputs&) = delete;
  StagedOutputs& operator=(const StagedOutputs&) = delete;

  void hold(const std::string& path);
  bool holds(const std::string& path) const;
  // Called by write_via_temp for a held path: the temporary now holds its content.
  void stage(const std::string& path, const std::string& tmp);
  // Renames every staged temporary into place, in the order written. Error naming the file
  // if a rename fails (the remaining temporaries are removed).
  void commit();
  static StagedOutputs* current();
  // Removes `path` after a successful commit (a checkpoint the outputs make obsolete).
  void remove_on_commit(const std::string& path) { obsolete_.push_back(path); }

 private:
  std::vector<std::string> held_;
  std::vector<std::string> obsolete_;
  std::vector<std::pair<std::string, std::string>> staged_;  // (path, temporary)
  StagedOutputs* previous_;
};

// Removes `path` once the current StagedOutputs has committed (at once if there is none):
// a checkpoint outlives a run that fails before its outputs are in place.
void remove_after_outputs(const std::string& path);

// Declares `path` an output of the running command before any work: Error "<what> <path>:
// directory <dir> does not exist" unless its folder exists (or "<what> <path>: is a
// directory" if it names one), and the current StagedOutputs (if
// any) holds it. "" and "-" (standard output) pass.
void declare_output(const std::string& path, const std::string& what);

}  // namespace hwprune
