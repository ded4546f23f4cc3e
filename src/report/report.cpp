// Aggregates a labelled profile into per-thread phase/activity shares, top blockers and hints
// (hints.cpp holds the hint table).
#include "loopperf/report/report.h"

#include <algorithm>
#include <cstdlib>
#include <map>
#include <set>
#include <tuple>

#include "loopperf/profile/labels.h"
#include "loopperf/profile/thread_selector.h"
#include "loopperf/report/dump.h"
#include "loopperf/report/hints.h"
#include "loopperf/profile/recording_info.h"
#include "report_internal.h"

namespace loopperf::report {

namespace {

std::string label_or(const profile::SampleView& s, std::string_view key, std::string_view fallback) {
  std::string_view v = s.str_label(key);
  return std::string(v.empty() ? fallback : v);
}

std::vector<Share> ranked(const std::map<std::string, uint64_t>& counts, uint64_t total) {
  std::vector<Share> out;
  for (const auto& [name, n] : counts) out.push_back(Share{name, n, total ? static_cast<double>(n) / total : 0});
  std::sort(out.begin(), out.end(), [](const Share& a, const Share& b) {
    return a.samples != b.samples ? a.samples > b.samples : a.name < b.name;
  });
  return out;
}

uint64_t sample_value(const profile::SampleView& s, size_t vi) {
  return vi < s.values.size() && s.values[vi] > 0 ? static_cast<uint64_t>(s.values[vi]) : 0;
}

// The recording's own description, from its metadata.
Report report_header(const profile::Profile& p) {
  const profile::RecordingInfo rec = profile::read_recording_info(p);
  Report r;
  r.cmdline = rec.cmdline;
  r.node_version = rec.node_version;
  r.mode = rec.mode;
  r.tool = rec.tool;
  r.pid = rec.pid;
  r.time_nanos = p.time_nanos;
  r.duration_nanos = p.duration_nanos;
  r.rate_hz = rec.rate_hz;
  r.lost = rec.lost;
  return r;
}

// Step 1, shares: each thread's phase and activity shares and loop health; keeps the threads the
// selector names, loop threads first.
Status add_thread_shares(const profile::Profile& p, size_t vi, const std::string& selector, Report& r) {
  struct ThreadAcc {
    ThreadSummary t;
    std::map<std::string, uint64_t> phases, activities, entries;
  };
  std::map<int64_t, ThreadAcc> threads;
  for (const auto& s : p.samples) {
    int64_t tid = s.num_label(profile::kTidLabel).value_or(0);
    ThreadAcc& acc = threads[tid];
    acc.t.tid = tid;
    if (acc.t.name.empty()) acc.t.name = label_or(s, profile::kThreadLabel, tid ? "?" : "all");
    auto role = profile::parse_role(s.str_label(profile::kRoleLabel));
    if (role && acc.t.role == profile::ThreadRole::kOther) acc.t.role = *role;
    uint64_t v = sample_value(s, vi);
    acc.t.samples += v;
    acc.phases[label_or(s, profile::kPhaseLabel, "unlabelled")] += v;
    acc.activities[label_or(s, profile::kActivityLabel, "unlabelled")] += v;
    if (std::string_view entry = s.str_label(profile::kEntryLabel); !entry.empty()) acc.entries[std::string(entry)] += v;
    r.samples += v;
  }
  // Loop health: a loop thread that was never sampled (idle in cpu mode) still has its figures.
  for (auto& h : loop::read_loop_health(p)) {
    bool sampled = threads.count(h.tid) != 0;
    ThreadAcc& acc = threads[h.tid];
    acc.t.tid = h.tid;
    if (!sampled) acc.t.name = "?";
    if (acc.t.role == profile::ThreadRole::kOther)
      acc.t.role = h.tid == r.pid ? profile::ThreadRole::kMainLoop : profile::ThreadRole::kWorkerLoop;
    acc.t.health = std::move(h);
  }
  for (auto& [tid, acc] : threads) {
    acc.t.phases = ranked(acc.phases, acc.t.samples);
    acc.t.activities = ranked(acc.activities, acc.t.samples);
    acc.t.entries = ranked(acc.entries, acc.t.samples);
    const profile::ThreadIdentity id{.tid = acc.t.tid, .name = acc.t.name, .role = profile::role_name(acc.t.role)};
    if (profile::thread_selector_matches(selector, id)) r.threads.push_back(std::move(acc.t));
  }
  if (r.threads.empty() && !selector.empty()) {
    std::string known;
    for (const auto& [tid, acc] : threads) known += (known.empty() ? "" : ", ") + std::to_string(tid);
    return make_error(ErrorCode::kUsage, "no thread matches '" + selector + "'",
                      "give a tid (" + known + "), a thread name, or main / worker / pool / loop");
  }
  std::stable_sort(r.threads.begin(), r.threads.end(), [](const ThreadSummary& a, const ThreadSummary& b) {
    bool la = profile::is_loop_role(a.role), lb = profile::is_loop_role(b.role);
    if (la != lb) return la;
    if (a.role != b.role) return a.role < b.role;
    return a.samples > b.samples;
  });
  return {};
}

}  // namespace

namespace {

// Step 2, blockers: the heaviest stack groups on loop threads (all threads when the profile has
// none, e.g. a native program), idle-wait left out.
void add_blockers(const profile::Profile& p, size_t vi, size_t max_blockers, Report& r) {
  bool any_loop = std::any_of(r.threads.begin(), r.threads.end(),
                              [](const ThreadSummary& t) { return profile::is_loop_role(t.role); });
  std::map<int64_t, const ThreadSummary*> selected;
  for (const auto& t : r.threads)
    if (!any_loop || profile::is_loop_role(t.role)) selected[t.tid] = &t;
  auto weight = [&](size_t i) -> std::optional<uint64_t> {
    const profile::SampleView s = p.samples[i];
    if (!selected.count(s.num_label(profile::kTidLabel).value_or(0))) return std::nullopt;
    if (s.str_label(profile::kActivityLabel) == "idle-wait") return std::nullopt;
    return sample_value(s, vi);
  };
  // Ranked as the list shows them: by their share of their thread's samples.
  auto share = [&](int64_t tid, uint64_t w) {
    auto it = selected.find(tid);
    return it != selected.end() && it->second->samples ? static_cast<double>(w) / it->second->samples : 0.0;
  };
  for (StackGroup& g : group_stacks(p, weight, {.by_thread = true, .no_phase = "all", .max_groups = max_blockers, .rank = share})) {
    const ThreadSummary* t = selected[g.tid];
    Blocker b;
    b.summary = std::move(g.summary);
    b.samples = g.weight;
    b.phase = std::move(g.phase);
    b.activity = std::move(g.activity);
    b.tid = g.tid;
    b.thread = t->name;
    b.share = t->samples ? static_cast<double>(g.weight) / t->samples : 0;
    if (g.heaviest) b.frames = stack_frames(p, p.samples[*g.heaviest]);
    r.blockers.push_back(std::move(b));
  }
  // By share, as the list shows them (each of its thread's samples; with several loop threads
  // (workers) a larger thread's blocker can have more samples and a smaller share), ties in the
  // order group_stacks chose them: `--top 2` lists the first two of what `--top 10` lists.
  std::stable_sort(r.blockers.begin(), r.blockers.end(), [](const Blocker& a, const Blocker& b) { return a.share > b.share; });
  if (r.blockers.size() > max_blockers) r.blockers.resize(max_blockers);
}

// Step 3 input: what the hints read from the profile beyond the report.
HintFacts hint_facts(const profile::Profile& p, size_t vi, const Report& r) {
  HintFacts f;
  const profile::RecordingInfo rec = profile::read_recording_info(p);
  f.target_node = rec.is_node ? (*rec.is_node ? "yes" : "no") : "";
  if (rec.perf_map) f.perf_map_note = profile::format_perf_map(*rec.perf_map);
  f.perf_map = perf_map_state(rec);
  for (const auto& [k, v] : p.metadata)
    if (k == "js_names.frames.heap" && v != "0") f.heap_names = true;
  f.phase_problem = rec.phase_problem;
  std::set<int64_t> loop_tids;
  for (const auto& t : r.threads)
    if (profile::is_loop_role(t.role)) loop_tids.insert(t.tid);
  for (const auto& s : p.samples) {
    if (!loop_tids.count(s.num_label(profile::kTidLabel).value_or(0))) continue;
    uint64_t v = sample_value(s, vi);
    f.loop_samples += v;
    auto frames = expand(p, s);
    if (std::any_of(frames.begin(), frames.end(), [](const ExpandedFrame& fr) { return fr.name == "[unknown] [jit]"; }))
      f.unknown_jit_samples += v;
  }
  return f;
}

}  // namespace

Result<Report> build_report(const profile::Profile& p, const ReportOptions& opts) {
  Report r = report_header(p);
  // Shares count samples (each stands for one sampling period of the thread).
  size_t vi = p.value_index("samples").value_or(0);
  r.value_name = p.sample_types.empty() ? "samples" : p.sample_types[vi].type;
  if (p.sample_types.empty()) {
    return make_error(ErrorCode::kInput, "the profile has no sample types", "is it an empty or truncated file?");
  }
  if (auto st = add_thread_shares(p, vi, opts.thread, r); !st) return st.error();
  add_blockers(p, vi, opts.max_blockers, r);
  r.hints = evaluate_hints(r, hint_facts(p, vi, r));
  return r;
}

}  // namespace loopperf::report
