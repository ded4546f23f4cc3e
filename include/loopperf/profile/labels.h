// The label keys and thread-role values every stage reads from samples (docs/labels.md), here so
// that readers below lp_loop (formats, diff, the thread selector) need not spell them. The loop
// stage's enums (loop/labels.h) map onto the same strings.
#pragma once

#include <string_view>

namespace loopperf::profile {

// pprof label keys.
inline constexpr std::string_view kThreadLabel = "thread";
inline constexpr std::string_view kTidLabel = "tid";
inline constexpr std::string_view kPhaseLabel = "phase";
inline constexpr std::string_view kActivityLabel = "activity";
inline constexpr std::string_view kRoleLabel = "role";

// Values of the `role` label.
inline constexpr std::string_view kMainLoopRole = "main-loop";
inline constexpr std::string_view kWorkerLoopRole = "worker-loop";
inline constexpr std::string_view kLibuvPoolRole = "libuv-pool";
inline constexpr std::string_view kV8PlatformRole = "v8-platform";
inline constexpr std::string_view kOtherRole = "other";

// A thread running an event loop: the main loop or a worker_threads loop.
constexpr bool is_loop_role(std::string_view role) {
  return role == kMainLoopRole || role == kWorkerLoopRole;
}

}  // namespace loopperf::profile
