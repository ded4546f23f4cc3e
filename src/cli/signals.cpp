#include "signals.h"

#include <signal.h>

#include <atomic>

namespace loopperf::cli {
namespace {
std::atomic<int> g_signo{0};
std::atomic<bool> g_from_terminal{false};
std::atomic<bool> g_stop{false};

void on_signal(int signo, siginfo_t* info, void*) {
  // SI_KERNEL: the terminal driver (Ctrl-C); SI_USER/SI_TKILL: kill(1) and friends.
  g_from_terminal.store(info && info->si_code == SI_KERNEL);
  g_signo.store(signo);
  g_stop.store(true);
}
}  // namespace

void install_stop_handlers() {
  struct sigaction sa {};
  sa.sa_sigaction = on_signal;
  sa.sa_flags = SA_SIGINFO;  // no SA_RESTART: poll() returns EINTR so the loop reacts at once
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGHUP, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);
}

PendingSignal take_signal() {
  PendingSignal s;
  s.signo = g_signo.exchange(0);
  s.from_terminal = g_from_terminal.load();
  return s;
}

bool stop_requested() { return g_stop.load(); }

}  // namespace loopperf::cli
