// What the recording pipeline (recorder.h) is asked to do: the sampling part of `record`'s options,
// kept in one struct so the command's config and the recorder share one set of fields and defaults.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>

#include "loopperf/symbols/js_names.h"
#include "loopperf/unwind/sample_unwinder.h"

namespace loopperf::record {

struct RecorderOptions {
  pid_t pid = 0;
  bool is_node = false;
  int frequency_hz = 999;
  bool kernel = true;
  unwind::UnwindMode unwind = unwind::UnwindMode::kAuto;
  uint32_t stack_bytes = 8192;
  size_t max_threads = 1024;
  size_t max_stacks = 100'000;  // --max-stacks: bounds memory (~400 B per distinct stack)
  bool wall = false;                 // --mode wall: loop threads sampled by wall clock
  size_t wall_stack_bytes = 65536;   // stack copied per wall sample (live memory, one read)
  bool loop_health = true;           // poll-wait tracepoints on every thread
  int64_t stall_threshold_ns = 50'000'000;
  // --js-names: where JavaScript frames get their names (symbols/js_names.h).
  symbols::JsNamesMode js_names = symbols::JsNamesMode::kAuto;
  // Attach mode: sampling begins when start() has set everything up, not at create(). Setting up
  // (node's symbols, the heap layout, the tracepoints) takes ~100 ms, longer than a ring of 32 KiB
  // samples holds at 999 Hz: 16-28 samples were lost at the start of every recording. Launch mode
  // samples from the exec on (the program's start is part of what it asks for).
  bool defer_sampling = false;
  // Launch mode's process tree: the recorder opens no perf events of its own; its process's cpu
  // samples come from the tree's inherited events (sample/tree_sampler.h) through on_cpu_sample,
  // and its thread names through on_thread_name.
  bool fed = false;
  // `watch`: the cpu events sample every thread at this lower rate (the flight recorder's) except
  // the threads Recorder::capture() names, which get frequency_hz; 0 = frequency_hz for all.
  int idle_frequency_hz = 0;
  // `watch`: wall samples only of the threads Recorder::capture() names, none otherwise (`wall`
  // must be set too); the wall sampler's thread runs only while there are some.
  bool wall_on_demand = false;
  // false (`watch`): samples go to the recorder's sink only (Recorder::set_sink), not into its own
  // stack table, which would grow for as long as the watch lasts.
  bool keep_stacks = true;
  // `watch`: the signals delivered to the target's threads (signal:signal_deliver, in the poll
  // tracer's rings) go to the recorder's sink: SIGTERM from an orchestrator starts an incident.
  bool watch_signals = false;
};

}  // namespace loopperf::record
