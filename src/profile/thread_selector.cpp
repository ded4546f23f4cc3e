#include "loopperf/profile/thread_selector.h"

#include <string>

#include "loopperf/profile/labels.h"

namespace loopperf::profile {

bool thread_selector_matches(std::string_view sel, const ThreadIdentity& t) {
  if (sel.empty()) return true;
  // The short names are reserved: `--thread worker` must not also take pool threads named "worker".
  if (sel == "main") return t.role == kMainLoopRole;
  if (sel == "worker" || sel == "workers") return t.role == kWorkerLoopRole;
  if (sel == "pool") return t.role == kLibuvPoolRole;
  if (sel == "loop") return is_loop_role(t.role);
  if (!t.role.empty() && sel == t.role) return true;
  if (!t.name.empty() && sel == t.name) return true;
  if (!t.tid) return false;
  const std::string tid = std::to_string(*t.tid);
  return sel == tid || sel == std::string(t.name) + " (" + tid + ")";
}

}  // namespace loopperf::profile
