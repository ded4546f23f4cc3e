#include "stdout_writer.h"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <string>

namespace loopperf::cli {

namespace {

Error stdout_error(int err) {
  std::string why = err != 0 ? std::strerror(err) : "write error";
  return make_error(ErrorCode::kOutput, "could not write to standard output: " + why,
                    err == ENOSPC || err == EDQUOT ? "free some space where the output goes, or redirect it elsewhere"
                                                   : "check where standard output goes (a closed pipe, a full or read-only file system)");
}

}  // namespace

Status write_stdout(std::string_view text) {
  errno = 0;
  const size_t n = std::fwrite(text.data(), 1, text.size(), stdout);
  if (n != text.size() || std::fflush(stdout) != 0 || std::ferror(stdout)) return stdout_error(errno);
  return {};
}

Status close_stdout() {
  errno = 0;
  std::cout.flush();
  if (std::cout.bad() || std::fflush(stdout) != 0 || std::ferror(stdout)) return stdout_error(errno);
  if (::close(STDOUT_FILENO) != 0 && errno != EBADF) return stdout_error(errno);
  return {};
}

}  // namespace loopperf::cli
