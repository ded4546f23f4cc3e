#include "loopperf/loop/rules.h"

#include <array>

namespace loopperf::loop {

namespace {
// Sources for each row: ../shared/node-internals.md sections 1.3-1.8 (measured on node 20's
// binary), libuv src/unix/{core,linux,threadpool,fs}.c, V8 src/heap/*.
constexpr std::array kRules = {
    // --- garbage collection (V8 heap) ---
    Rule{"v8::internal::Heap::CollectGarbage", Match::kPrefix, Fact::kGc, "main-thread GC entry"},
    Rule{"v8::internal::Heap::CollectAllGarbage", Match::kPrefix, Fact::kGc, "full GC request"},
    Rule{"v8::internal::Heap::CollectAllAvailableGarbage", Match::kPrefix, Fact::kGc, "last-resort GC"},
    Rule{"v8::internal::Heap::PerformGarbageCollection", Match::kPrefix, Fact::kGc, "GC body"},
    Rule{"v8::internal::Heap::FinalizeIncrementalMarking", Match::kPrefix, Fact::kGc, "incremental marking step"},
    Rule{"v8::internal::ScavengerCollector::", Match::kPrefix, Fact::kGc, "young-generation GC"},
    Rule{"v8::internal::Scavenger::", Match::kPrefix, Fact::kGc, "young-generation GC"},
    Rule{"v8::internal::MarkCompactCollector::", Match::kPrefix, Fact::kGc, "full mark-compact"},
    Rule{"v8::internal::MinorMarkCompactCollector::", Match::kPrefix, Fact::kGc, "minor mark-compact"},
    Rule{"v8::internal::IncrementalMarking::", Match::kPrefix, Fact::kGc, "incremental marking"},
    // The jobs' Task::RunInternal only: their other members (ScheduleTask, ScheduleTaskIfNeeded ...)
    // run from allocation observers in JS and merely post the task (uv_async_send), no GC.
    Rule{"v8::internal::IncrementalMarkingJob::Task::", Match::kPrefix, Fact::kGc, "incremental marking task"},
    Rule{"v8::internal::ConcurrentMarking::", Match::kPrefix, Fact::kGc, "concurrent marking (platform threads)"},
    Rule{"v8::internal::Sweeper::", Match::kPrefix, Fact::kGc, "sweeping"},
    Rule{"v8::internal::MinorGCJob::Task::", Match::kPrefix, Fact::kGc, "scheduled minor GC task"},
    Rule{"v8::internal::ScavengeJob::Task::", Match::kPrefix, Fact::kGc, "scheduled scavenge task"},
    Rule{"v8::internal::ArrayBufferSweeper::", Match::kPrefix, Fact::kGc, "array buffer sweeping"},
    Rule{"v8::internal::GlobalHandles::PostGarbageCollectionProcessing", Match::kPrefix, Fact::kGc,
         "weak callbacks after GC"},
    Rule{"PageEvacuationJob", Match::kContains, Fact::kGc, "parallel evacuation"},
    // --- microtasks and nextTick ---
    Rule{"v8::internal::MicrotaskQueue::RunMicrotasks", Match::kPrefix, Fact::kMicrotasks, "promise jobs"},
    Rule{"v8::internal::MicrotaskQueue::PerformCheckpoint", Match::kPrefix, Fact::kMicrotasks,
         "microtask checkpoint after a callback"},
    Rule{"Builtins_RunMicrotasks", Match::kPrefix, Fact::kMicrotasks, "V8 builtin running promise jobs"},
    Rule{"processTicksAndRejections", Match::kExact, Fact::kMicrotasks, "node's nextTick queue (JS)"},
    Rule{"runMicrotasks", Match::kExact, Fact::kMicrotasks, "node's microtask drain (JS)"},
    // --- synchronous I/O on the loop thread ---
    Rule{kUvFsRequests, Match::kOneOf, Fact::kSyncFs, "libuv fs request; synchronous when not queued to the pool"},
    Rule{"node::fs::ReadFileUtf8", Match::kPrefix, Fact::kSyncFs, "readFileSync(path, 'utf8') fast path (node 20)"},
    Rule{"node::fs::SyncCall", Match::kContains, Fact::kSyncFs, "node's synchronous fs binding wrapper"},
    Rule{"node::fs::FSReqWrapSync", Match::kContains, Fact::kSyncFs, "request object of a synchronous fs call"},
    Rule{"uv__work_submit", Match::kExact, Fact::kPoolSubmit, "queueing async work to the threadpool"},
    Rule{"node::SyncProcessRunner::", Match::kPrefix, Fact::kSyncCall, "spawnSync/execSync: private loop"},
    Rule{"uv_getaddrinfo", Match::kExact, Fact::kSyncFs, "DNS lookup (synchronous without a callback)"},
    // --- the loop itself ---
    Rule{"epoll_wait", Match::kExact, Fact::kPollWait, "libuv <= 1.44 poll wait"},
    Rule{"epoll_pwait", Match::kExact, Fact::kPollWait, "libuv >= 1.45 poll wait"},
    Rule{"epoll_pwait2", Match::kExact, Fact::kPollWait, "poll wait (newer glibc)"},
    Rule{"__GI_epoll_pwait", Match::kExact, Fact::kPollWait, "glibc internal name of epoll_pwait"},
    Rule{"__GI_epoll_wait", Match::kExact, Fact::kPollWait, "glibc internal name of epoll_wait"},
    Rule{"do_epoll_wait", Match::kExact, Fact::kPollWait, "kernel side of the poll wait"},
    Rule{"uv__io_poll", Match::kExact, Fact::kPoll, "libuv poll phase"},
    Rule{"uv_run", Match::kExact, Fact::kUvRun, "the event loop"},
    // --- where complete stacks end (a stack without one was cut short by the unwinder) ---
    Rule{"node::Start", Match::kPrefix, Fact::kThreadRoot, "node's main()"},
    Rule{"main", Match::kExact, Fact::kThreadRoot, "program entry"},
    Rule{"_start", Match::kExact, Fact::kThreadRoot, "program entry"},
    Rule{"__libc_start_main", Match::kExact, Fact::kThreadRoot, "program entry (glibc)"},
    Rule{"__libc_start_call_main", Match::kExact, Fact::kThreadRoot, "program entry (glibc)"},
    Rule{"start_thread", Match::kExact, Fact::kThreadRoot, "thread entry (glibc)"},
    Rule{"clone3", Match::kExact, Fact::kThreadRoot, "thread entry (glibc)"},
    Rule{"__clone3", Match::kExact, Fact::kThreadRoot, "thread entry (glibc)"},
    Rule{"clone", Match::kExact, Fact::kThreadRoot, "thread entry (glibc)"},
    // --- node callbacks that only one phase runs (used only when uv_run's call sites are unknown) ---
    Rule{"node::Environment::RunTimers", Match::kPrefix, Fact::kPhaseCallback, "the timer handle's callback",
         Phase::kTimers},
    Rule{"node::Environment::CheckImmediate", Match::kPrefix, Fact::kPhaseCallback, "the check handle's callback",
         Phase::kCheck},
    Rule{"node::PerIsolatePlatformData::FlushForegroundTasks", Match::kPrefix, Fact::kPhaseCallback,
         "V8 foreground tasks, delivered by a uv_async in poll", Phase::kPoll},
    Rule{"node::LibuvStreamWrap::OnUvRead", Match::kPrefix, Fact::kPhaseCallback, "stream data, from poll",
         Phase::kPoll},
    Rule{"node::ConnectionWrap<", Match::kPrefix, Fact::kPhaseCallback, "new connection, from poll", Phase::kPoll},
    Rule{"node::HandleWrap::OnClose", Match::kPrefix, Fact::kPhaseCallback, "close callbacks", Phase::kClose},
    // --- thread roles ---
    Rule{"worker", Match::kExact, Fact::kPoolThread, "libuv threadpool thread entry (threadpool.c)"},
    Rule{"node::(anonymous namespace)::PlatformWorkerThread", Match::kPrefix, Fact::kPlatformThread,
         "V8 platform worker"},
    Rule{"node::WorkerThreadsTaskRunner::DelayedTaskScheduler", Match::kPrefix, Fact::kPlatformThread,
         "V8 delayed-task scheduler (has its own uv loop)"},
    Rule{"v8::platform::DefaultJobWorker", Match::kPrefix, Fact::kPlatformThread, "V8 job worker"},
    Rule{"node::worker::Worker::Run", Match::kPrefix, Fact::kWorkerLoop, "worker_threads thread"},
    Rule{"uv_cond_wait", Match::kExact, Fact::kThreadWait, "pool or platform thread waiting for work"},
    Rule{"uv_cond_timedwait", Match::kExact, Fact::kThreadWait, "pool or platform thread waiting for work"},
    Rule{"uv_sem_wait", Match::kExact, Fact::kThreadWait, "inspector I/O thread waiting to be started"},
};

std::string_view without_clone_suffix(std::string_view name) {
  // Only C-style names carry GCC clone suffixes; C++ names contain "::" or "(" before any dot.
  size_t dot = name.find('.');
  if (dot == std::string_view::npos || name.find_first_of(":( ") < dot) return name;
  return name.substr(0, dot);
}
}  // namespace

std::span<const Rule> rules() { return kRules; }

bool rule_matches(const Rule& rule, std::string_view name) {
  switch (rule.match) {
    case Match::kExact: return without_clone_suffix(name) == rule.pattern;
    case Match::kPrefix: return name.substr(0, rule.pattern.size()) == rule.pattern;
    case Match::kContains: return name.find(rule.pattern) != std::string_view::npos;
    case Match::kOneOf: {
      std::string_view base = without_clone_suffix(name);
      if (base.empty()) return false;
      for (size_t pos = rule.pattern.find(base); pos != std::string_view::npos; pos = rule.pattern.find(base, pos + 1)) {
        bool starts = pos == 0 || rule.pattern[pos - 1] == ' ';
        bool ends = pos + base.size() == rule.pattern.size() || rule.pattern[pos + base.size()] == ' ';
        if (starts && ends) return true;
      }
      return false;
    }
  }
  return false;
}

bool has_fact(std::string_view function_name, Fact fact) {
  for (const Rule& r : rules())
    if (r.fact == fact && rule_matches(r, function_name)) return true;
  return false;
}

}  // namespace loopperf::loop
