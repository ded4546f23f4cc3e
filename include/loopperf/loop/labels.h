// The vocabulary of the labels every sample carries (docs/labels.md): libuv phase, activity and
// thread role. Names are the strings written into pprof labels.
#pragma once

#include <optional>
#include <string_view>

namespace loopperf::loop {

enum class Phase { kTimers, kPending, kIdle, kPrepare, kPoll, kCheck, kClose, kOutsideLoop, kUnknown };
enum class Activity { kJs, kNative, kGc, kMicrotasks, kSyncIo, kIdleWait, kBlocked };
enum class ThreadRole { kMainLoop, kWorkerLoop, kLibuvPool, kV8Platform, kOther };

std::string_view phase_name(Phase p);        // "timers" ... "outside-loop", "unknown"
std::string_view activity_name(Activity a);  // "js" ... "idle-wait", "blocked"
std::string_view role_name(ThreadRole r);    // "main-loop", "worker-loop", "libuv-pool", "v8-platform", "other"
std::optional<Phase> parse_phase(std::string_view s);
std::optional<Activity> parse_activity(std::string_view s);
std::optional<ThreadRole> parse_role(std::string_view s);

inline bool is_loop_role(ThreadRole r) { return r == ThreadRole::kMainLoop || r == ThreadRole::kWorkerLoop; }

// pprof label keys.
inline constexpr std::string_view kPhaseLabel = "phase";
inline constexpr std::string_view kActivityLabel = "activity";
inline constexpr std::string_view kRoleLabel = "role";
inline constexpr std::string_view kThreadLabel = "thread";
inline constexpr std::string_view kTidLabel = "tid";

}  // namespace loopperf::loop
