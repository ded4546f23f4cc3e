// Whether a process runs node, decided by what it runs, never by timing or its name alone: a
// wrapper's pid is looked at again when it execs (record/process_tree.h), and here a program
// counts as node when process::inspect says so (named node, or libnode.so mapped) or when its
// executable exports node's N-API (napi_module_register: every node binary has it for addons), as a
// renamed node or a single-executable application does. A process whose main thread has exited
// (ProcessInfo::proc_pid) is not node to loopperf: its loop and JavaScript names went with it.
#pragma once

#include <sys/types.h>

#include <string>

#include "loopperf/common/result.h"
#include "loopperf/process/process.h"

namespace loopperf::record {

Result<process::ProcessInfo> inspect_target(pid_t pid);

// "note: pid P's main thread has exited ...": what record and dump say of such a process.
std::string leader_exited_note(const process::ProcessInfo& info);

}  // namespace loopperf::record
