#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "loopperf/common/result.h"

namespace loopperf {

// Reads a whole (small, e.g. /proc) file; nullopt when it cannot be opened.
std::optional<std::string> read_small_file(const std::string& path, size_t max_bytes = 16 << 20);

// A file written in pieces and put in place atomically: a temporary file in the same directory,
// fsync, rename on commit(). Nothing is left behind unless commit() succeeds, so a writer that fails
// half-way (or an exception) leaves the old file, if any, as it was. The first write error is kept
// and returned by commit(); later writes are skipped. Used to stream large outputs (issue 22).
class AtomicFile {
 public:
  static Result<AtomicFile> create(const std::string& path);
  AtomicFile(AtomicFile&& o) noexcept;
  AtomicFile& operator=(AtomicFile&&) = delete;
  AtomicFile(const AtomicFile&) = delete;
  ~AtomicFile();

  void write(std::string_view bytes);
  Status commit();

 private:
  AtomicFile(std::string path, std::string tmp, int fd) : path_(std::move(path)), tmp_(std::move(tmp)), fd_(fd) {}
  Status fail(const char* what, int err);

  std::string path_, tmp_;
  int fd_ = -1;
  int error_ = 0;  // errno of the first failed write
};

// Writes `data` to `path` atomically (AtomicFile in one piece).
Status write_file_atomic(const std::string& path, std::string_view data);

// Checks before any work is done that `path` can be created (directory exists and is writable).
Status check_output_writable(const std::string& path);

}  // namespace loopperf
