// The vocabulary of the labels every sample carries (docs/labels.md): the keys, the libuv phases,
// activities and thread roles, and their names as written into pprof labels. Defined once, here in
// the model, so that every stage (the classifier that writes them, formats, reports and diffs that
// read them) spells them the same way.
#pragma once

#include <optional>
#include <string_view>

namespace loopperf::profile {

// pprof label keys.
inline constexpr std::string_view kThreadLabel = "thread";
inline constexpr std::string_view kTidLabel = "tid";
inline constexpr std::string_view kPidLabel = "pid";  // the process, when a recording followed several
inline constexpr std::string_view kPhaseLabel = "phase";
inline constexpr std::string_view kActivityLabel = "activity";
inline constexpr std::string_view kRoleLabel = "role";
inline constexpr std::string_view kEntryLabel = "entry";  // loop threads: how the running work was entered
// `watch`'s incident profiles: which part of the incident a sample is from.
inline constexpr std::string_view kWindowLabel = "window";
inline constexpr std::string_view kWindowBefore = "before";      // the flight recorder's, before the incident
inline constexpr std::string_view kWindowIncident = "incident";  // during it (the stall, the signal's aftermath)

// Values of the `role` label.
inline constexpr std::string_view kMainLoopRole = "main-loop";
inline constexpr std::string_view kWorkerLoopRole = "worker-loop";
inline constexpr std::string_view kLibuvPoolRole = "libuv-pool";
inline constexpr std::string_view kV8PlatformRole = "v8-platform";
inline constexpr std::string_view kOtherRole = "other";

enum class Phase { kTimers, kPending, kIdle, kPrepare, kPoll, kCheck, kClose, kOutsideLoop, kUnknown };
enum class Activity { kJs, kNative, kGc, kMicrotasks, kSyncIo, kIdleWait, kBlocked };
enum class ThreadRole { kMainLoop, kWorkerLoop, kLibuvPool, kV8Platform, kOther };
// How a loop thread's running work was entered: the innermost of a promise job (microtask), node's
// nextTick queue, or the kind of callback its phase runs (timer, immediate, I/O, close); the main
// script or node's start and exit outside the loop (top-level). kUnknown: the label is left out.
enum class Entry { kTimer, kImmediate, kIo, kClose, kMicrotask, kNextTick, kTopLevel, kUnknown };

std::string_view phase_name(Phase p);        // "timers" ... "outside-loop", "unknown"
std::string_view activity_name(Activity a);  // "js" ... "idle-wait", "blocked"
std::string_view role_name(ThreadRole r);    // kMainLoopRole ... kOtherRole
std::string_view entry_name(Entry e);        // "timer", "immediate", "io", "close", "microtask", "nextTick", "top-level"
std::optional<Phase> parse_phase(std::string_view s);
std::optional<Activity> parse_activity(std::string_view s);
std::optional<ThreadRole> parse_role(std::string_view s);
std::optional<Entry> parse_entry(std::string_view s);

// A thread running an event loop: the main loop or a worker_threads loop.
constexpr bool is_loop_role(ThreadRole r) { return r == ThreadRole::kMainLoop || r == ThreadRole::kWorkerLoop; }
constexpr bool is_loop_role(std::string_view role) {
  return role == kMainLoopRole || role == kWorkerLoopRole;
}

}  // namespace loopperf::profile
