#include "loopperf/symbols/kernel_symbols.h"

#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <map>
#include <mutex>

namespace loopperf::symbols {

// The reading thread runs at nice 19 (it must not compete with the target) until someone waits for
// it; then at the waiter's priority. Whichever of the two comes first, the thread never stays at 19
// once `urgent` is set: it checks the flag again after lowering itself.
struct KernelSymbols::Loader {
  std::atomic<pid_t> tid{0};
  std::atomic<bool> urgent{false};
  std::atomic<int> waiter_nice{0};
};

// One reading of a kallsyms file, shared by every KernelSymbols of this process that asks for the
// same file while another still holds it: the table is the machine's, not a process's, and the
// recorders of a process tree would each spend ~40 ms of kernel time and ~5 MB on their own copy.
struct KernelSymbols::Reading {
  std::shared_ptr<Loader> loader = std::make_shared<Loader>();
  std::shared_future<std::shared_ptr<const Kallsyms>> table;
};

namespace {

std::mutex g_readings_mu;
std::map<std::string, std::weak_ptr<KernelSymbols::Reading>> g_readings;  // by path

}  // namespace

std::shared_ptr<KernelSymbols::Reading> KernelSymbols::shared_reading(const std::string& path) {
  std::lock_guard lock(g_readings_mu);
  if (auto r = g_readings[path].lock()) return r;
  auto r = std::make_shared<Reading>();
  r->table = std::async(std::launch::async, [loader = r->loader, path] {
               const id_t self = static_cast<id_t>(::gettid());
               loader->tid = static_cast<pid_t>(self);
               if (!loader->urgent) {
                 (void)::setpriority(PRIO_PROCESS, self, 19);
                 if (loader->urgent) (void)::setpriority(PRIO_PROCESS, self, loader->waiter_nice);
               }
               auto k = std::make_shared<Kallsyms>();
               k->load(path);
               return std::shared_ptr<const Kallsyms>(std::move(k));
             }).share();
  g_readings[path] = r;
  return r;
}

KernelSymbols::~KernelSymbols() {
  if (reading_) hurry();  // the last holder's destructor waits for the thread
}

void KernelSymbols::preload() {
  if (released_ || reading_) return;
  reading_ = shared_reading(path_);
}

void KernelSymbols::hurry() {
  // Waited for now (or at exit: a std::async future waits for its thread when destroyed). At nice
  // 19 on a busy machine the thread may not have run yet: give it this thread's priority, so that
  // the wait is the ~40 ms the read takes.
  Loader& loader = *reading_->loader;
  errno = 0;
  int mine = ::getpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()));
  loader.waiter_nice = errno == 0 ? mine : 0;
  loader.urgent = true;
  if (pid_t t = loader.tid; t > 0) (void)::setpriority(PRIO_PROCESS, static_cast<id_t>(t), loader.waiter_nice);
}

bool KernelSymbols::ready() const {
  if (!ready_)
    ready_ = released_ || table_ || !reading_ ||
             reading_->table.wait_for(std::chrono::seconds(0)) == std::future_status::ready;
  return ready_;
}

const Kallsyms& KernelSymbols::table() {
  static const Kallsyms kEmpty;
  if (released_) return kEmpty;
  if (!table_) {
    preload();
    hurry();
    table_ = reading_->table.get();
  }
  return *table_;
}

void KernelSymbols::release() {
  if (reading_) {
    hurry();
    reading_->table.wait();
  }
  released_ = ready_ = true;
  reading_.reset();
  table_.reset();  // freed with the last holder's
}

}  // namespace loopperf::symbols
