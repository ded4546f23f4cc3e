#include "loopperf/symbols/kernel_symbols.h"

#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>

namespace loopperf::symbols {

// The reading thread runs at nice 19 (it must not compete with the target) until someone waits for
// it; then at the waiter's priority. Whichever of the two comes first, the thread never stays at 19
// once `urgent` is set: it checks the flag again after lowering itself.
struct KernelSymbols::Loader {
  std::atomic<pid_t> tid{0};
  std::atomic<bool> urgent{false};
  std::atomic<int> waiter_nice{0};
};

KernelSymbols::~KernelSymbols() {
  if (future_.valid()) hurry();  // its destructor waits for the thread
}

void KernelSymbols::preload() {
  if (loaded_ || future_.valid()) return;
  loader_ = std::make_shared<Loader>();
  future_ = std::async(std::launch::async, [loader = loader_, path = path_] {
    const id_t self = static_cast<id_t>(::gettid());
    loader->tid = static_cast<pid_t>(self);
    if (!loader->urgent) {
      (void)::setpriority(PRIO_PROCESS, self, 19);
      if (loader->urgent) (void)::setpriority(PRIO_PROCESS, self, loader->waiter_nice);
    }
    Kallsyms k;
    k.load(path);
    return k;
  });
}

void KernelSymbols::hurry() {
  // Waited for now (or at exit: a std::async future waits for its thread when destroyed). At nice
  // 19 on a busy machine the thread may not have run yet: give it this thread's priority, so that
  // the wait is the ~40 ms the read takes.
  if (!loader_) return;
  errno = 0;
  int mine = ::getpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()));
  loader_->waiter_nice = errno == 0 ? mine : 0;
  loader_->urgent = true;
  if (pid_t t = loader_->tid; t > 0)
    (void)::setpriority(PRIO_PROCESS, static_cast<id_t>(t), loader_->waiter_nice);
}

bool KernelSymbols::ready() const {
  if (!ready_)
    ready_ =
        loaded_ || !future_.valid() || future_.wait_for(std::chrono::seconds(0)) == std::future_status::ready;
  return ready_;
}

const Kallsyms& KernelSymbols::table() {
  if (!loaded_) {
    loaded_ = true;
    if (future_.valid()) {
      hurry();
      kallsyms_ = future_.get();
    } else {
      kallsyms_.load(path_);
    }
  }
  return kallsyms_;
}

void KernelSymbols::release() {
  if (future_.valid()) {
    hurry();
    future_.wait();
    future_ = {};
  }
  loaded_ = ready_ = true;
  kallsyms_ = Kallsyms{};
}

}  // namespace loopperf::symbols
