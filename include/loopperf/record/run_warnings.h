#pragma once
// What a recording could not do well for one process, said once the recording is over: a perf map
// refused or missing, heap names over their budget, a distribution's node, loop phases recovered,
// the distinct-stack limit. In a recording of a process tree each process's are said with its pid.
#include <sys/types.h>

#include <string>
#include <utility>
#include <vector>

#include "loopperf/record/finish.h"
#include "loopperf/symbols/js_names.h"

namespace loopperf::record {

class Recorder;

struct RunWarning {
  std::string text;
  std::string hint;
};

struct RunWarningContext {
  pid_t pid = 0;
  bool is_node = false;
  bool launch = false;  // launch mode: loopperf turned the perf map on itself
  symbols::JsNamesMode js_names = symbols::JsNamesMode::kAuto;
};

// `fin`: the process's finished profile (its labels and phase problem).
std::vector<RunWarning> run_warnings(const Recorder& rec, const FinishedProfile& fin, const RunWarningContext& ctx);

// Each process's warnings, texts prefixed with the process they concern when there are several
// processes ("process 4242: ..."), in the order given.
std::vector<RunWarning> tree_warnings(const std::vector<std::pair<pid_t, std::vector<RunWarning>>>& by_process);

}  // namespace loopperf::record
