// Small file helpers: whole-file reads with clear errors, and atomic writes (write a
// temporary file beside the target, then rename) so a failed run never destroys an output.
#pragma once

#include <functional>
#include <string>

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
// renames tmp_path to path. If write throws, the temporary is removed and path is untouched.
void write_via_temp(const std::string& path, const std::function<void(const std::string&)>& write);

}  // namespace hwprune
