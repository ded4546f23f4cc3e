#include "loopperf/common/fd_budget.h"

#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>

namespace loopperf {

namespace {
std::atomic<uint64_t> shortages{0};
}  // namespace

bool note_fd_shortage(int err) {
  if (err != EMFILE && err != ENFILE) return false;
  shortages.fetch_add(1, std::memory_order_relaxed);
  return true;
}

uint64_t fd_shortages() { return shortages.load(std::memory_order_relaxed); }

uint64_t fd_limit() {
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) != 0 || lim.rlim_cur == RLIM_INFINITY) return 0;
  return static_cast<uint64_t>(lim.rlim_cur);
}

bool out_of_resources(const std::error_code& code) {
  return (code.category() == std::generic_category() || code.category() == std::system_category()) &&
         (code.value() == EAGAIN || code.value() == ENOMEM);
}

FdReserve::FdReserve(int count) {
  for (int i = 0; i < count; i++) {
    const int fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (fd < 0) break;
    fds_.push_back(fd);
  }
}

void FdReserve::release() {
  for (int fd : fds_) ::close(fd);
  fds_.clear();
}

}  // namespace loopperf
