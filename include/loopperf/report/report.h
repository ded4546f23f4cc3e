// `loopperf report`: the verdict on where an event loop spent its time, computed from any profile
// (labels written by `record`; profiles from other tools are read as one unlabelled thread).
#pragma once

#include <cstdint>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "loopperf/common/result.h"
#include "loopperf/loop/health.h"
#include "loopperf/profile/labels.h"
#include "loopperf/profile/profile.h"

namespace loopperf::report {

struct Share {
  std::string name;
  uint64_t samples = 0;
  double share = 0;  // of the thread's samples, 0..1
};

struct ThreadSummary {
  int64_t tid = 0;
  std::string name;
  profile::ThreadRole role = profile::ThreadRole::kOther;
  uint64_t samples = 0;
  std::vector<Share> phases;      // largest first
  std::vector<Share> activities;  // largest first
  std::vector<Share> entries;     // loop threads: how the work was entered (the `entry` label), largest first
  // Loop health from the poll tracepoints (loopperf:loop.<tid>.* metadata); absent when the profile
  // has none for this thread. A loop thread with health but no samples still gets a summary.
  std::optional<loop::LoopHealth> health;
};

struct StackFrame {
  std::string name;
  std::string file;
  int64_t line = 0;
  std::string kind;  // profile::frame_kind_name
};

struct Blocker {
  std::string summary;  // "poll › authMiddleware (app.js:17) › readFileSync › uv_fs_read"
  double share = 0;     // of its thread's samples
  uint64_t samples = 0;
  std::string phase, activity;
  int64_t tid = 0;
  std::string thread;
  std::vector<StackFrame> frames;  // the heaviest full stack of the group, leaf first
};

struct Hint {
  std::string kind;  // "missing-js-names", "stall", "sync-io", "gc", "microtasks", "phases-unknown", "lost", "not-node"
  std::string text;
};

struct Report {
  std::string cmdline, node_version, mode, tool;
  int64_t pid = 0;
  int64_t time_nanos = 0, duration_nanos = 0;
  int64_t rate_hz = 0;
  uint64_t samples = 0, lost = 0;
  std::string value_name;  // what shares count: "samples"
  std::vector<ThreadSummary> threads;  // loop threads first, then by samples
  std::vector<Blocker> blockers;       // heaviest first
  std::vector<Hint> hints;
};

struct ReportOptions {
  std::string thread;  // "" = all; else a selector (profile/thread_selector.h): tid, name, "main" ...
  size_t max_blockers = 10;
};

Result<Report> build_report(const profile::Profile& p, const ReportOptions& opts);

std::string render_text(const Report& r, bool stacks);
std::string render_json(const Report& r);

// Stacks grouped as "Top blockers" shows them: by thread (when `by_thread`), summary and activity,
// each group's weight summed and its heaviest stack kept for its frames. The summary's phase is the
// sample's, or `no_phase` when it has none. Used by the report and by watch's verdict, which weighs
// an incident's stacks by time.
struct StackGroup {
  int64_t tid = 0;  // 0 unless by_thread
  std::string summary, phase, activity;
  uint64_t weight = 0;
  std::optional<size_t> heaviest;  // its index in the profile's samples
};
struct GroupStacksOptions {
  bool by_thread = false;
  std::string_view no_phase = {};
  // The groups returned: the first `max_groups` by rank (weight, by default), highest first; ties
  // in the order their first samples come in the profile, so that a smaller max_groups returns the
  // first of a larger one's. A profile of millions of distinct stacks has millions of groups, and
  // only these get their summary kept.
  size_t max_groups = SIZE_MAX;
  std::function<double(int64_t tid, uint64_t weight)> rank = nullptr;
};
// `weight(i)`: sample i's weight, or nullopt to leave it out.
std::vector<StackGroup> group_stacks(const profile::Profile& p,
                                     const std::function<std::optional<uint64_t>(size_t)>& weight,
                                     const GroupStacksOptions& options);

// The one-line summary of a stack (exposed for tests): phase › user JS › … › native leaf.
std::string summarize_stack(const profile::Profile& p, const profile::SampleView& s, std::string_view phase,
                            std::string_view activity);
// "node::fs::Read(v8::FunctionCallbackInfo<...> const&)" -> "node::fs::Read".
std::string short_name(std::string_view name);

}  // namespace loopperf::report
