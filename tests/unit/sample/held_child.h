// A child held at a pipe before it runs `sh -c SCRIPT`: events are opened on it before its exec, as
// launch mode does at its gate (process/launch.h), then release() lets it exec.
#pragma once

#include <unistd.h>

struct HeldChild {
  pid_t pid = -1;
  int gate = -1;  // the write end; the child execs when it is written to

  explicit HeldChild(const char* script) {
    int fds[2];
    if (::pipe(fds) != 0) return;
    pid = ::fork();
    if (pid == 0) {
      char c;
      ::close(fds[1]);
      if (::read(fds[0], &c, 1) != 1) ::_exit(1);
      ::execl("/bin/sh", "sh", "-c", script, static_cast<char*>(nullptr));
      ::_exit(127);
    }
    ::close(fds[0]);
    gate = fds[1];
  }
  bool release() {
    const bool ok = ::write(gate, "x", 1) == 1;
    ::close(gate);
    gate = -1;
    return ok;
  }
  ~HeldChild() {
    if (gate >= 0) ::close(gate);
  }
  HeldChild(const HeldChild&) = delete;
  HeldChild& operator=(const HeldChild&) = delete;
};
