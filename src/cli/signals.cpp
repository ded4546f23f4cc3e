#include "signals.h"

#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "loopperf/process/ptrace_stop.h"

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

void on_snapshot(int signo) { g_signo.store(signo); }
}  // namespace

void install_snapshot_handler() {
  struct sigaction sa {};
  sa.sa_handler = on_snapshot;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGUSR1, &sa, nullptr);
}

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

void install_job_control() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTSTP);
  sigaddset(&set, SIGTTIN);
  sigaddset(&set, SIGTTOU);
  if (pthread_sigmask(SIG_BLOCK, &set, nullptr) != 0) return;
  std::thread([set] {
    for (;;) {
      int signo = 0;
      if (sigwait(&set, &signo) != 0) continue;
      process::close_stop_gate();
      // To this thread, not the process: a process-directed SIGSTOP may be taken by another thread a
      // moment later, and this one would reopen the gate before the stop (a Ctrl-Z in ~1% of tries
      // then froze a target thread). Sent to itself, it stops here, at the return from tgkill, and
      // returns once loopperf is continued (SIGCONT); the stop is the whole process's.
      ::syscall(SYS_tgkill, ::getpid(), ::gettid(), SIGSTOP);
      process::open_stop_gate();
    }
  }).detach();
}

PendingSignal take_signal() {
  PendingSignal s;
  s.signo = g_signo.exchange(0);
  s.from_terminal = g_from_terminal.load();
  return s;
}

bool stop_requested() { return g_stop.load(); }

}  // namespace loopperf::cli
