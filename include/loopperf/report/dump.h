// `loopperf dump`: every thread's stack at one moment, with its role, phase and activity.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "loopperf/profile/profile.h"
#include "loopperf/report/report.h"

namespace loopperf::report {

struct DumpThread {
  int64_t tid = 0;
  std::string name, role, phase, activity;
  std::string syscall;       // "epoll_pwait", "read" ... when stopped inside a system call
  int64_t stopped_ns = 0;    // how long this thread was held
  std::string unwind_end;    // how its walk ended (unwind::end_reason_name)
  std::string error;         // why it has no stack (exited, permission ...)
  std::vector<StackFrame> frames;  // leaf first
};

struct Dump {
  int64_t pid = 0;
  std::string cmdline, node_version;
  // Where JavaScript frames got their names: "heap (V8 12.4.254.21)", "perf map", "none", or why
  // the heap could not be read ("perf map (heap: ...)").
  std::string js_names;
  int64_t max_stopped_ns = 0, total_stopped_ns = 0;
  std::vector<DumpThread> threads;
};

// Frames of one sample, leaf first, inlined frames expanded.
std::vector<StackFrame> stack_frames(const profile::Profile& p, const profile::SampleView& s);

std::string render_dump_text(const Dump& d);
std::string render_dump_json(const Dump& d);
// Several processes' dumps (dump --children): the texts one after another; in JSON
// {"processes": [dump, ...]}.
std::string render_dumps_text(const std::vector<Dump>& dumps);
std::string render_dumps_json(const std::vector<Dump>& dumps);

}  // namespace loopperf::report
