// Helpers shared by the symbolizer tests: the native fixture (tests/native/symfixture) as a child
// process, and source-line markers of the fixture.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace fixture {

inline const std::string kBinary = LOOPPERF_SYMFIXTURE;
inline const std::string kLibrary = LOOPPERF_SYMFIXTURE_LIB;
inline const std::string kSource = LOOPPERF_SYMFIXTURE_SRC;
inline const std::string kBuildId = LOOPPERF_SYMFIXTURE_BUILD_ID;
inline const std::string kLibBuildId = LOOPPERF_SYMFIXTURE_LIB_BUILD_ID;

// Line number (1-based) of the first line of the fixture source containing `marker`, 0 if none.
inline int64_t marker_line(const std::string& marker) {
  std::ifstream in(kSource);
  std::string line;
  for (int64_t n = 1; std::getline(in, line); ++n) {
    if (line.find(marker) != std::string::npos) return n;
  }
  return 0;
}

inline bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// A child process killed (SIGKILL) and reaped when this goes out of scope.
class Child {
 public:
  Child() = default;
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  ~Child() { kill_and_reap(); }

  pid_t pid() const { return pid_; }
  void adopt(pid_t pid) { pid_ = pid; }
  void kill_and_reap() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
  }

 private:
  pid_t pid_ = -1;
};

// Runs the fixture, which reports "name=0xaddr ..." on a pipe when ready; returns the addresses.
inline std::map<std::string, uint64_t> start_fixture(Child& child) {
  std::map<std::string, uint64_t> addrs;
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return addrs;
  pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(fds[1], 3);  // dup2 clears close-on-exec on the copy
    const char* argv[] = {kBinary.c_str(), "3", nullptr};
    ::execv(argv[0], const_cast<char* const*>(argv));
    ::_exit(127);
  }
  ::close(fds[1]);
  if (pid < 0) {
    ::close(fds[0]);
    return addrs;
  }
  child.adopt(pid);
  std::string text;
  char buf[512];
  for (;;) {
    pollfd p{fds[0], POLLIN, 0};
    if (::poll(&p, 1, 10000) <= 0) break;  // the fixture answers within milliseconds
    ssize_t n = ::read(fds[0], buf, sizeof buf);
    if (n <= 0) break;
    text.append(buf, static_cast<size_t>(n));
  }
  ::close(fds[0]);
  std::istringstream in(text);
  std::string field;
  while (in >> field) {
    auto eq = field.find('=');
    if (eq == std::string::npos) continue;
    addrs[field.substr(0, eq)] = std::strtoull(field.c_str() + eq + 1, nullptr, 16);
  }
  return addrs;
}

}  // namespace fixture
