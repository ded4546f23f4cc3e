#include "loopperf/profile/labels.h"

#include <array>
#include <utility>

namespace loopperf::profile {

namespace {
constexpr std::array<std::pair<Phase, std::string_view>, 9> kPhases = {{
    {Phase::kTimers, "timers"},
    {Phase::kPending, "pending"},
    {Phase::kIdle, "idle"},
    {Phase::kPrepare, "prepare"},
    {Phase::kPoll, "poll"},
    {Phase::kCheck, "check"},
    {Phase::kClose, "close"},
    {Phase::kOutsideLoop, "outside-loop"},
    {Phase::kUnknown, "unknown"},
}};
constexpr std::array<std::pair<Activity, std::string_view>, 7> kActivities = {{
    {Activity::kJs, "js"},
    {Activity::kNative, "native"},
    {Activity::kGc, "gc"},
    {Activity::kMicrotasks, "microtasks"},
    {Activity::kSyncIo, "sync-io"},
    {Activity::kIdleWait, "idle-wait"},
    {Activity::kBlocked, "blocked"},
}};
constexpr std::array<std::pair<ThreadRole, std::string_view>, 5> kRoles = {{
    {ThreadRole::kMainLoop, kMainLoopRole},
    {ThreadRole::kWorkerLoop, kWorkerLoopRole},
    {ThreadRole::kLibuvPool, kLibuvPoolRole},
    {ThreadRole::kV8Platform, kV8PlatformRole},
    {ThreadRole::kOther, kOtherRole},
}};

constexpr std::array<std::pair<Entry, std::string_view>, 8> kEntries = {{
    {Entry::kTimer, "timer"},
    {Entry::kImmediate, "immediate"},
    {Entry::kIo, "io"},
    {Entry::kClose, "close"},
    {Entry::kMicrotask, "microtask"},
    {Entry::kNextTick, "nextTick"},
    {Entry::kTopLevel, "top-level"},
    {Entry::kUnknown, "unknown"},
}};

template <typename E, size_t N>
std::string_view name_of(const std::array<std::pair<E, std::string_view>, N>& table, E e) {
  for (const auto& [k, v] : table)
    if (k == e) return v;
  return "?";
}
template <typename E, size_t N>
std::optional<E> parse_of(const std::array<std::pair<E, std::string_view>, N>& table, std::string_view s) {
  for (const auto& [k, v] : table)
    if (v == s) return k;
  return std::nullopt;
}
}  // namespace

std::string_view phase_name(Phase p) { return name_of(kPhases, p); }
std::string_view activity_name(Activity a) { return name_of(kActivities, a); }
std::string_view role_name(ThreadRole r) { return name_of(kRoles, r); }
std::optional<Phase> parse_phase(std::string_view s) { return parse_of(kPhases, s); }
std::optional<Activity> parse_activity(std::string_view s) { return parse_of(kActivities, s); }
std::optional<ThreadRole> parse_role(std::string_view s) { return parse_of(kRoles, s); }
std::string_view entry_name(Entry e) { return name_of(kEntries, e); }
std::optional<Entry> parse_entry(std::string_view s) { return parse_of(kEntries, s); }

}  // namespace loopperf::profile
