// /proc/PID/status, parsed by one parser for everyone who needs a field of it (process facts,
// the perf map's trust rules, node --version's credentials).
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "loopperf/common/result.h"

namespace loopperf::process {

struct ProcStatus {
  std::string name;  // "Name:" (the kernel escapes newlines in it)
  char state = 0;    // first letter of "State:": 'R', 'S', 'Z', ...; 0 when absent
  pid_t tgid = 0;    // 0 when absent
  pid_t ppid = 0;
  std::vector<pid_t> nspid;  // "NSpid:", outermost namespace first; empty on kernels without it
  std::optional<uid_t> uid;  // real uid ("Uid:" field 0)
  std::optional<gid_t> gid;  // real gid ("Gid:" field 0)

  bool is_zombie() const { return state == 'Z' || state == 'X'; }
  // The pid inside the innermost pid namespace (the last NSpid field), or `fallback` without one.
  pid_t innermost_pid(pid_t fallback) const { return nspid.empty() ? fallback : nspid.back(); }
};

// Parses the text of a status file. Unknown and malformed lines are skipped: fields keep their
// defaults.
ProcStatus parse_status(std::string_view text);

// Reads and parses /proc/PID/status. kPermission when /proc hides it from us, kNoProcess otherwise.
// (A zombie's status reads fine: check is_zombie().)
Result<ProcStatus> read_status(pid_t pid);

}  // namespace loopperf::process
