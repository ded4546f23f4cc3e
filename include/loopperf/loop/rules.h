// The classification rules as data: one table maps frame-name patterns to what a frame tells
// about the sample (GC, microtasks, synchronous I/O, a poll wait, the thread's role ...). The
// classifier (classifier.h) combines the facts with fixed priorities. Each row has a unit test.
#pragma once

#include <span>
#include <string_view>

#include "loopperf/loop/labels.h"

namespace loopperf::loop {

enum class Match { kExact, kPrefix, kContains };

enum class Fact {
  kGc,              // V8 garbage collection (main-thread or concurrent)
  kMicrotasks,      // a microtask / nextTick checkpoint
  kSyncFs,          // a libuv fs call: synchronous unless submitted to the pool (see kPoolSubmit)
  kPoolSubmit,      // uv__work_submit: an async request being queued, not done here
  kSyncCall,        // a synchronous node binding that waits for a child or a private loop
  kPollWait,        // the kernel wait inside uv__io_poll (epoll_wait / epoll_pwait)
  kPoll,            // uv__io_poll itself
  kUvRun,           // uv_run: the loop; its return address gives the phase
  kPoolThread,      // libuv threadpool worker entry
  kPlatformThread,  // V8 platform worker / delayed task scheduler
  kWorkerLoop,      // a worker_threads Worker running its own loop
  kThreadWait,      // a pool/platform thread waiting for work (condition variable)
  kThreadRoot,      // where a complete stack ends (main, start_thread ...)
  kPhaseCallback,   // a node callback only ever run from one phase (rule.phase): the fallback
                    // when uv_run's call sites are unknown (stripped binaries)
};

struct Rule {
  std::string_view pattern;
  Match match;
  Fact fact;
  std::string_view why;  // documented in docs/labels.md
  Phase phase = Phase::kUnknown;  // for kPhaseCallback
};

std::span<const Rule> rules();

// Does `function_name` (demangled; C clone suffixes such as ".part.0" allowed) match the rule?
bool rule_matches(const Rule& rule, std::string_view function_name);

// Every fact the frame name matches (a name may match several rows).
template <typename Fn>
void for_each_fact(std::string_view function_name, Fn&& fn) {
  for (const Rule& r : rules())
    if (rule_matches(r, function_name)) fn(r.fact);
}

}  // namespace loopperf::loop
