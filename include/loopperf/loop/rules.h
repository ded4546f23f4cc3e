// The classification rules as data: one table maps frame-name patterns to what a frame tells
// about the sample (GC, microtasks, synchronous I/O, a poll wait, the thread's role ...). The
// classifier (classifier.h) combines the facts with fixed priorities. Each row has a unit test.
#pragma once

#include <span>
#include <string_view>

#include "loopperf/loop/labels.h"

namespace loopperf::loop {

enum class Match {
  kExact,     // the name (C clone suffixes such as ".part.0" ignored)
  kPrefix,
  kContains,
  kOneOf,     // the name is one of the space-separated names in the pattern (clone suffixes ignored)
};

// libuv's file-system request functions: synchronous when called without a callback. Watchers
// (uv_fs_event_*, uv_fs_poll_*), accessors (uv_fs_get_*) and uv_fs_req_cleanup do no I/O.
inline constexpr std::string_view kUvFsRequests =
    "uv_fs_open uv_fs_close uv_fs_read uv_fs_write uv_fs_stat uv_fs_fstat uv_fs_lstat uv_fs_statfs "
    "uv_fs_unlink uv_fs_mkdir uv_fs_mkdtemp uv_fs_mkstemp uv_fs_rmdir uv_fs_rename uv_fs_fsync "
    "uv_fs_fdatasync uv_fs_ftruncate uv_fs_sendfile uv_fs_utime uv_fs_futime uv_fs_lutime uv_fs_access "
    "uv_fs_chmod uv_fs_fchmod uv_fs_chown uv_fs_fchown uv_fs_lchown uv_fs_link uv_fs_symlink "
    "uv_fs_readlink uv_fs_realpath uv_fs_copyfile uv_fs_scandir uv_fs_opendir uv_fs_readdir uv_fs_closedir";

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

// Does any row of kind `fact` match the frame name?
bool has_fact(std::string_view function_name, Fact fact);

}  // namespace loopperf::loop
