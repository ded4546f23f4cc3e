// `dump`: every thread's stack at one moment. Each thread is stopped with ptrace only while its own
// stack is read (PTRACE_SEIZE + PTRACE_INTERRUPT, never SIGSTOP), then detached; everything that
// needs no stop is prepared first. Symbolized and labelled by finish_profile, exactly as record.
#pragma once

#include <sys/types.h>

#include <functional>

#include "loopperf/symbols/js_names.h"

#include "loopperf/common/result.h"
#include "loopperf/report/dump.h"

namespace loopperf::record {

struct DumpConfig {
  pid_t pid = 0;
  // Where JavaScript frames get their names (--js-names). Heap names are read while each thread
  // is still stopped.
  symbols::JsNamesMode js_names = symbols::JsNamesMode::kAuto;
  // Called while thread `tid` is held in its ptrace stop, before its stack is read. Lets a test
  // observe (or kill us during) the stop; never set by the CLI.
  std::function<void(pid_t tid)> while_stopped;
};

// A permission error ends the dump (nothing can be read); a thread that exits or cannot be stopped
// gets its own `error` and the others are still dumped.
Result<report::Dump> take_dump(const DumpConfig& cfg);

// `cfg.pid`'s dump and, after it, each of its descendant processes' as they are when it ends (dump
// --children), one process after another: each thread is held only for its own walk. A descendant
// that cannot be dumped (it exited meanwhile, it is not ours) is left out with a line in
// `skipped`; the first process's error is the result's.
Result<std::vector<report::Dump>> take_dumps(const DumpConfig& cfg, std::vector<std::string>& skipped);

}  // namespace loopperf::record
