// The one reading of a thread selector (`report --thread T`, `convert --thread T`): docs/report.md
// and docs/convert.md list the forms.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace loopperf::profile {

// What a selector is matched against; the caller decides where each part comes from.
struct ThreadIdentity {
  std::optional<int64_t> tid;
  std::string_view name;  // the `thread` label; "" when unknown
  std::string_view role;  // the `role` label value ("main-loop" ...); "" when unknown
};

// True when `selector` names the thread: "" (every thread); a short name, which decides alone:
// "main" (main loop), "worker" / "workers" (worker loops), "pool" (libuv pool), "loop" (main and
// worker loops); else a role ("main-loop", "libuv-pool" ...), a thread name ("node"), a tid
// ("4242"), or "name (tid)" as the writers print it.
bool thread_selector_matches(std::string_view selector, const ThreadIdentity& thread);

}  // namespace loopperf::profile
