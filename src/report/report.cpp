// Aggregates a labelled profile into per-thread phase/activity shares, top blockers and hints.
#include "loopperf/report/report.h"

#include <algorithm>
#include <cstdlib>
#include <map>
#include <optional>
#include <set>

#include "loopperf/report/dump.h"
#include "report_internal.h"

namespace loopperf::report {

namespace {

int64_t meta_int(const profile::Profile& p, std::string_view key) {
  std::string v(p.meta(key));
  return v.empty() ? 0 : std::strtoll(v.c_str(), nullptr, 10);
}

std::string label_or(const profile::Sample& s, std::string_view key, std::string_view fallback) {
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

bool thread_selected(const std::string& want, const ThreadSummary& t) {
  if (want.empty()) return true;
  if (want == std::to_string(t.tid) || want == t.name) return true;
  std::string role(loop::role_name(t.role));
  if (want == role) return true;
  if (want == "main") return t.role == loop::ThreadRole::kMainLoop;
  if (want == "worker" || want == "workers") return t.role == loop::ThreadRole::kWorkerLoop;
  if (want == "pool") return t.role == loop::ThreadRole::kLibuvPool;
  if (want == "loop") return loop::is_loop_role(t.role);
  return false;
}

std::string pct(double share) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%.0f%%", share * 100);
  return buf;
}

// The longest busy period, when it exceeds the stall threshold: nothing else ran on that loop meanwhile.
std::optional<Hint> stall_hint(const ThreadSummary& t) {
  if (!t.health) return std::nullopt;
  const loop::LoopHealth& h = *t.health;
  double threshold_ms = h.stall_threshold_ns > 0 ? static_cast<double>(h.stall_threshold_ns) / 1e6 : 50;
  if (h.busy_max_ms <= threshold_ms) return std::nullopt;
  char buf[160];
  std::string who = t.role == loop::ThreadRole::kMainLoop ? "the main loop" : "the worker loop";
  who += " (" + t.name + ", tid " + std::to_string(t.tid) + ")";
  std::string text;
  if (!h.stalls.empty()) {
    const loop::Stall& s = h.stalls.front();  // longest first
    std::snprintf(buf, sizeof buf, " was blocked for %s%.0f ms at +%.1fs", s.truncated ? "at least " : "",
                  static_cast<double>(s.duration_ns) / 1e6, static_cast<double>(s.start_ns) / 1e9);
    text = who + buf;
    if (!s.summary.empty()) text += s.phase.empty() ? " (" + s.summary + ")" : " in " + s.summary;
  } else {
    std::snprintf(buf, sizeof buf, " had a busy period of %.0f ms", h.busy_max_ms);
    text = who + buf;
  }
  if (h.stall_count > 1) {
    std::snprintf(buf, sizeof buf, "; %llu stalls > %.0f ms in all", static_cast<unsigned long long>(h.stall_count),
                  threshold_ms);
    text += buf;
  }
  text += ". Nothing else ran on that loop meanwhile (timers, I/O callbacks, requests all waited): split the "
          "work, make it asynchronous, or move it to a worker.";
  return Hint{"stall", text};
}

}  // namespace

Result<Report> build_report(const profile::Profile& p, const ReportOptions& opts) {
  Report r;
  r.cmdline = std::string(p.meta("target.cmdline"));
  r.node_version = std::string(p.meta("target.node_version"));
  r.mode = std::string(p.meta("mode"));
  r.tool = std::string(p.meta("tool"));
  r.pid = meta_int(p, "target.pid");
  r.time_nanos = p.time_nanos;
  r.duration_nanos = p.duration_nanos;
  r.rate_hz = meta_int(p, "rate_hz");
  r.lost = static_cast<uint64_t>(meta_int(p, "lost"));
  // Shares count samples (each stands for one sampling period of the thread).
  size_t vi = p.value_index("samples").value_or(0);
  r.value_name = p.sample_types.empty() ? "samples" : p.sample_types[vi].type;
  if (p.sample_types.empty()) {
    return make_error(ErrorCode::kInput, "the profile has no sample types", "is it an empty or truncated file?");
  }

  // Per thread.
  struct ThreadAcc {
    ThreadSummary t;
    std::map<std::string, uint64_t> phases, activities;
  };
  std::map<int64_t, ThreadAcc> threads;
  auto value_of = [&](const profile::Sample& s) -> uint64_t {
    return vi < s.values.size() && s.values[vi] > 0 ? static_cast<uint64_t>(s.values[vi]) : 0;
  };
  for (const auto& s : p.samples) {
    int64_t tid = s.num_label("tid").value_or(0);
    ThreadAcc& acc = threads[tid];
    acc.t.tid = tid;
    if (acc.t.name.empty()) acc.t.name = label_or(s, "thread", tid ? "?" : "all");
    auto role = loop::parse_role(s.str_label("role"));
    if (role && acc.t.role == loop::ThreadRole::kOther) acc.t.role = *role;
    uint64_t v = value_of(s);
    acc.t.samples += v;
    acc.phases[label_or(s, "phase", "unlabelled")] += v;
    acc.activities[label_or(s, "activity", "unlabelled")] += v;
    r.samples += v;
  }
  // Loop health: a loop thread that was never sampled (idle in cpu mode) still has its figures.
  for (auto& h : loop::read_loop_health(p)) {
    bool sampled = threads.count(h.tid) != 0;
    ThreadAcc& acc = threads[h.tid];
    acc.t.tid = h.tid;
    if (!sampled) acc.t.name = "?";
    if (acc.t.role == loop::ThreadRole::kOther)
      acc.t.role = h.tid == r.pid ? loop::ThreadRole::kMainLoop : loop::ThreadRole::kWorkerLoop;
    acc.t.health = std::move(h);
  }
  for (auto& [tid, acc] : threads) {
    acc.t.phases = ranked(acc.phases, acc.t.samples);
    acc.t.activities = ranked(acc.activities, acc.t.samples);
    if (thread_selected(opts.thread, acc.t)) r.threads.push_back(std::move(acc.t));
  }
  if (r.threads.empty() && !opts.thread.empty()) {
    std::string known;
    for (const auto& [tid, acc] : threads) known += (known.empty() ? "" : ", ") + std::to_string(tid);
    return make_error(ErrorCode::kUsage, "no thread matches '" + opts.thread + "'",
                      "give a tid (" + known + "), a thread name, or main / worker / pool / loop");
  }
  std::stable_sort(r.threads.begin(), r.threads.end(), [](const ThreadSummary& a, const ThreadSummary& b) {
    bool la = loop::is_loop_role(a.role), lb = loop::is_loop_role(b.role);
    if (la != lb) return la;
    if (a.role != b.role) return a.role < b.role;
    return a.samples > b.samples;
  });

  // Blockers: on loop threads (all threads when the profile has none, e.g. a native program).
  bool any_loop = std::any_of(r.threads.begin(), r.threads.end(),
                              [](const ThreadSummary& t) { return loop::is_loop_role(t.role); });
  std::map<int64_t, const ThreadSummary*> selected;
  for (const auto& t : r.threads)
    if (!any_loop || loop::is_loop_role(t.role)) selected[t.tid] = &t;
  struct Group {
    Blocker b;
    uint64_t heaviest = 0;
    const profile::Sample* heaviest_sample = nullptr;
  };
  std::map<std::tuple<int64_t, std::string, std::string>, Group> groups;
  for (const auto& s : p.samples) {
    int64_t tid = s.num_label("tid").value_or(0);
    auto sel = selected.find(tid);
    if (sel == selected.end()) continue;
    std::string activity = label_or(s, "activity", "");
    if (activity == "idle-wait") continue;
    std::string phase = label_or(s, "phase", "");
    std::string summary = summarize_stack(p, s, phase.empty() ? "all" : phase, activity);
    Group& g = groups[{tid, summary, activity}];
    uint64_t v = value_of(s);
    g.b.summary = summary;
    g.b.samples += v;
    g.b.phase = phase;
    g.b.activity = activity;
    g.b.tid = tid;
    g.b.thread = sel->second->name;
    if (v > g.heaviest) {
      g.heaviest = v;
      g.heaviest_sample = &s;
    }
  }
  for (auto& [key, g] : groups) {
    const ThreadSummary* t = selected[g.b.tid];
    g.b.share = t->samples ? static_cast<double>(g.b.samples) / t->samples : 0;
    if (g.heaviest_sample) g.b.frames = stack_frames(p, *g.heaviest_sample);
    r.blockers.push_back(std::move(g.b));
  }
  std::sort(r.blockers.begin(), r.blockers.end(), [](const Blocker& a, const Blocker& b) {
    return a.samples != b.samples ? a.samples > b.samples : a.summary < b.summary;
  });
  if (r.blockers.size() > opts.max_blockers) r.blockers.resize(opts.max_blockers);

  // Hints.
  std::string perf_map(p.meta("perf_map"));
  bool node = p.meta("target.node") == "yes";
  uint64_t unknown_jit = 0, loop_samples = 0;
  for (const auto& s : p.samples) {
    auto sel = selected.find(s.num_label("tid").value_or(0));
    if (sel == selected.end() || !loop::is_loop_role(sel->second->role)) continue;
    uint64_t v = value_of(s);
    loop_samples += v;
    auto frames = expand(p, s);
    if (std::any_of(frames.begin(), frames.end(), [](const ExpandedFrame& f) { return f.name == "[unknown] [jit]"; }))
      unknown_jit += v;
  }
  if (node && (perf_map == "none" || perf_map.rfind("ignored", 0) == 0 ||
               (loop_samples && unknown_jit * 10 > loop_samples))) {
    r.hints.push_back({"missing-js-names",
                       "JavaScript frames are unnamed (" + (perf_map.empty() ? std::string("no perf map") : perf_map) +
                           "): start node with --perf-basic-prof (NODE_OPTIONS=--perf-basic-prof works too), or "
                           "record in launch mode: loopperf record -- node app.js"});
  }
  for (const auto& t : r.threads)
    if (auto hint = stall_hint(t)) r.hints.push_back(std::move(*hint));
  for (const auto& t : r.threads) {
    if (!loop::is_loop_role(t.role) || t.samples < 20) continue;
    for (const auto& a : t.activities) {
      std::string who = t.name + " (" + std::string(loop::role_name(t.role)) + ", tid " + std::to_string(t.tid) + ")";
      std::string top;
      for (const auto& b : r.blockers)
        if (b.tid == t.tid && b.activity == a.name) {
          top = " — heaviest: " + b.summary;
          break;
        }
      if (a.name == "sync-io" && a.share >= 0.05)
        r.hints.push_back({"sync-io", pct(a.share) + " of " + who + " is synchronous I/O on the event loop" + top +
                                          ". Every other request waits meanwhile: use the async API (fs.promises, "
                                          "child_process.spawn), cache the result, or move it to a worker."});
      if (a.name == "gc" && a.share >= 0.10)
        r.hints.push_back({"gc", pct(a.share) + " of " + who + " is garbage collection" + top +
                                     ". Allocate less in hot paths; if the heap is near its limit raise "
                                     "--max-old-space-size, for short-lived garbage try --max-semi-space-size."});
      if (a.name == "microtasks" && a.share >= 0.30)
        r.hints.push_back({"microtasks", pct(a.share) + " of " + who +
                                             " runs in microtask / nextTick checkpoints" + top +
                                             ": a long promise chain or a nextTick flood keeps the loop from I/O."});
    }
  }
  if (!p.meta("phase_problem").empty())
    r.hints.push_back({"phases-unknown", "loop phases are unknown: " + std::string(p.meta("phase_problem"))});
  if (r.lost > 0)
    r.hints.push_back({"lost", std::to_string(r.lost) + " samples were lost: record at a lower rate (-F)"});
  if (p.meta("target.node") == "no")
    r.hints.push_back({"not-node", "the target is not node: a native profile, without JavaScript names or phases"});
  return r;
}

}  // namespace loopperf::report
