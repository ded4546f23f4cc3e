#include "loopperf/process/stop_watchdog.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstring>

namespace loopperf::process {

namespace {

// In a page shared with the watchdog (MAP_SHARED survives the fork).
struct Shared {
  std::atomic<int> stops{0};
};
static_assert(std::atomic<int>::is_always_lock_free, "the counter is shared between processes");

Shared* g_shared = nullptr;

// loopperf's state letter from /proc/PID/stat ('T': stopped by a signal), 0 when it cannot be read.
// The comm field may hold spaces and parentheses: the state follows the last ')'.
char state_of(const char* stat_path) {
  const int fd = ::open(stat_path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  char buf[512];
  const ssize_t n = ::read(fd, buf, sizeof buf - 1);
  ::close(fd);
  if (n <= 0) return 0;
  buf[n] = '\0';
  const char* close_paren = std::strrchr(buf, ')');
  return close_paren != nullptr && close_paren[1] == ' ' ? close_paren[2] : 0;
}

[[noreturn]] void watch(pid_t parent) {
  ::setpgid(0, 0);
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != parent) ::_exit(0);  // loopperf died before PDEATHSIG was armed
  ::prctl(PR_SET_NAME, "loopperf-guard");
  // Nothing of loopperf's is needed here: no open file (its output, the pipes of whoever waits
  // for its stdout and stderr to close) stays open on its account.
  if (const int null = ::open("/dev/null", O_RDWR | O_CLOEXEC); null >= 0) {
    for (int fd = 0; fd < 3; fd++) ::dup2(null, fd);
  }
  ::syscall(SYS_close_range, 3U, ~0U, 0U);
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGPIPE, SIGTSTP, SIGTTIN, SIGTTOU}) ::signal(sig, SIG_IGN);
  char stat_path[64];
  std::snprintf(stat_path, sizeof stat_path, "/proc/%d/stat", static_cast<int>(parent));
  const timespec period{0, 5'000'000};
  for (;;) {
    ::nanosleep(&period, nullptr);
    if (g_shared->stops.load() == 0) continue;
    const char state = state_of(stat_path);
    if (state == 0) ::_exit(0);  // loopperf is gone
    if (state != 'T' || g_shared->stops.load() == 0) continue;
    // SIGCONT first: a stop signal generated while SIGCONT is pending is what survives, not the
    // other way round (SIGCONT discards pending stop signals).
    ::kill(parent, SIGCONT);
    ::kill(parent, SIGTSTP);
  }
}

}  // namespace

bool start_stop_watchdog() {
  if (g_shared != nullptr) return true;
  void* page = ::mmap(nullptr, sizeof(Shared), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (page == MAP_FAILED) return false;
  g_shared = new (page) Shared;
  const pid_t parent = ::getpid();
  const pid_t child = ::fork();
  if (child < 0) return false;
  if (child == 0) watch(parent);
  return true;
}

void stop_begins() {
  if (g_shared != nullptr) g_shared->stops.fetch_add(1);
}

void stop_ends() {
  if (g_shared != nullptr) g_shared->stops.fetch_sub(1);
}

}  // namespace loopperf::process
