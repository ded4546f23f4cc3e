#include "loopperf/common/fs.h"


#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "loopperf/common/fd_budget.h"

namespace loopperf {

std::optional<std::string> read_small_file(const std::string& path, size_t max_bytes) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    note_fd_shortage(errno);
    return std::nullopt;
  }
  std::string out;
  char buf[8192];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      ::close(fd);
      return std::nullopt;
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
    if (out.size() > max_bytes) break;
  }
  ::close(fd);
  return out;
}

static std::string parent_dir(const std::string& path) {
  auto parent = std::filesystem::path(path).parent_path();
  return parent.empty() ? "." : parent.string();
}

Status check_output_writable(const std::string& path) {
  std::string dir = parent_dir(path);
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) {
    return make_error(ErrorCode::kOutput, "cannot write " + path + ": directory " + dir + " does not exist",
                      "create the directory or choose another path with -o");
  }
  if (std::filesystem::is_directory(path, ec)) {
    return make_error(ErrorCode::kOutput, "cannot write " + path + ": it is a directory",
                      "give a file name with -o, e.g. -o " + path + "/profile.pb.gz");
  }
  // access(2) says yes to root on read-only or virtual file systems (/proc); creating a probe file
  // the way write_file_atomic will is the only honest check.
  std::string probe = dir + "/.loopperf-probe-XXXXXX";
  int fd = ::mkstemp(probe.data());
  if (fd < 0) {
    return make_error(ErrorCode::kOutput, "cannot write " + path + ": " + std::strerror(errno),
                      "choose a writable directory with -o");
  }
  ::close(fd);
  ::unlink(probe.c_str());
  if (::access(path.c_str(), F_OK) == 0 && ::access(path.c_str(), W_OK) != 0) {
    return make_error(ErrorCode::kOutput, "cannot overwrite " + path + ": " + std::strerror(errno),
                      "choose another path with -o");
  }
  return {};
}

Result<AtomicFile> AtomicFile::create(const std::string& path) {
  std::string tmpl = parent_dir(path) + "/." + std::filesystem::path(path).filename().string() + ".XXXXXX";
  int fd = ::mkstemp(tmpl.data());
  if (fd < 0) {
    return make_error(ErrorCode::kOutput, "cannot create a file next to " + path + ": " + std::strerror(errno),
                      "choose a writable directory with -o");
  }
  return AtomicFile(path, std::move(tmpl), fd);
}

AtomicFile::AtomicFile(AtomicFile&& o) noexcept
    : path_(std::move(o.path_)), tmp_(std::move(o.tmp_)), fd_(o.fd_), error_(o.error_) {
  o.fd_ = -1;
}

AtomicFile::~AtomicFile() {
  if (fd_ < 0) return;
  ::close(fd_);
  ::unlink(tmp_.c_str());
}

void AtomicFile::write(std::string_view data) {
  size_t off = 0;
  while (fd_ >= 0 && error_ == 0 && off < data.size()) {
    ssize_t n = ::write(fd_, data.data() + off, data.size() - off);
    if (n < 0) {
      if (errno != EINTR) error_ = errno;
      continue;
    }
    off += static_cast<size_t>(n);
  }
}

Status AtomicFile::fail(const char* what, int err) {
  ::close(fd_);
  fd_ = -1;
  ::unlink(tmp_.c_str());
  return make_error(ErrorCode::kOutput, std::string(what) + " " + path_ + ": " + std::strerror(err),
                    err == ENOSPC || err == EDQUOT ? "free some disk space or write elsewhere with -o"
                                                   : "choose another path with -o");
}

Status AtomicFile::commit() {
  if (fd_ < 0) return make_error(ErrorCode::kInternal, "the file " + path_ + " was already committed");
  if (error_ != 0) return fail("cannot write", error_);
  if (::fsync(fd_) != 0) return fail("cannot write", errno);
  mode_t mask = ::umask(0);  // mkstemp makes 0600; give the file the mode a plain create would
  ::umask(mask);
  ::fchmod(fd_, 0666 & ~mask);
  const int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0) {
    int err = errno;
    ::unlink(tmp_.c_str());
    return make_error(ErrorCode::kOutput, "cannot write " + path_ + ": " + std::strerror(err));
  }
  if (::rename(tmp_.c_str(), path_.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp_.c_str());
    return make_error(ErrorCode::kOutput, "cannot rename into " + path_ + ": " + std::strerror(err));
  }
  return {};
}

Status write_file_atomic(const std::string& path, std::string_view data) {
  auto file = AtomicFile::create(path);
  if (!file) return file.error();
  file->write(data);
  return file->commit();
}

}  // namespace loopperf
