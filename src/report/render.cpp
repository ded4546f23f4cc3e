// Text and JSON renderings of a Report (docs/report.md documents both).
#include <cstdio>
#include <ctime>

#include "loopperf/common/duration.h"
#include "loopperf/common/json.h"
#include "loopperf/report/report.h"

namespace loopperf::report {

namespace {

std::string bar(double share, int width = 24) {
  int full = static_cast<int>(share * width + 0.5);
  std::string out;
  for (int i = 0; i < width; i++) out += i < full ? "█" : "·";
  return out;
}

std::string fmt(const char* f, auto... args) {
  char buf[512];
  std::snprintf(buf, sizeof buf, f, args...);
  return buf;
}

std::string when(int64_t time_nanos) {
  if (!time_nanos) return "?";
  std::time_t t = static_cast<std::time_t>(time_nanos / 1'000'000'000);
  std::tm tm{};
  localtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  return buf;
}

void shares_table(std::string& out, const char* title, const std::vector<Share>& shares) {
  out += fmt("  %-13s\n", title);
  for (const auto& s : shares) {
    if (s.share < 0.005 && shares.size() > 1) continue;
    out += fmt("    %-13s %s %5.1f%%  %8llu\n", s.name.c_str(), bar(s.share).c_str(), s.share * 100,
               static_cast<unsigned long long>(s.samples));
  }
}

// Loop health of one thread: utilization, iterations/s, busy-period percentiles, the longest stalls.
void health_text(std::string& out, const loop::LoopHealth& h) {
  constexpr size_t kTextStalls = 10;
  out += fmt("  %-13s utilization %.1f%%, %.1f iterations/s (%llu in %s)\n", "loop", h.utilization * 100,
             h.iterations_per_sec, static_cast<unsigned long long>(h.iterations),
             format_duration(std::chrono::nanoseconds(h.observed_ns)).c_str());
  if (h.busy_count == 0)
    out += fmt("  %-13s none (the loop waited throughout)\n", "busy periods");
  else
    out += fmt("  %-13s %llu: p50 %.2f ms, p99 %.2f ms, max %.1f ms\n", "busy periods",
               static_cast<unsigned long long>(h.busy_count), h.busy_p50_ms, h.busy_p99_ms, h.busy_max_ms);
  if (h.cpu_ns >= 0 && h.runnable_ns >= 0)
    out += fmt("  %-13s on a CPU %.2f s, runnable without one %.2f s\n", "scheduler", static_cast<double>(h.cpu_ns) / 1e9,
               static_cast<double>(h.runnable_ns) / 1e9);
  double threshold_ms = h.stall_threshold_ns > 0 ? static_cast<double>(h.stall_threshold_ns) / 1e6 : 50;
  out += fmt("  stalls > %g ms: %llu", threshold_ms, static_cast<unsigned long long>(h.stall_count));
  out += h.stall_count > h.stalls.size() ? fmt(" (the longest %zu kept)\n", h.stalls.size()) : "\n";
  for (size_t i = 0; i < h.stalls.size() && i < kTextStalls; i++) {
    const loop::Stall& s = h.stalls[i];
    // "≥": the recording's start or end cut the stall, so it lasted at least that long.
    out += fmt("    +%.3fs  %s%8.1f ms  ", static_cast<double>(s.start_ns) / 1e9, s.truncated ? "≥" : " ",
               static_cast<double>(s.duration_ns) / 1e6);
    out += s.summary + "\n";
  }
  if (h.stalls.size() > kTextStalls)
    out += fmt("    … %zu more (--format json lists them all)\n", h.stalls.size() - kTextStalls);
}

void health_json(JsonWriter& w, const loop::LoopHealth& h) {
  w.key("loop").begin_object();
  w.field("utilization", h.utilization)
      .field("iterations_per_sec", h.iterations_per_sec)
      .field("busy_p50_ms", h.busy_p50_ms)
      .field("busy_p99_ms", h.busy_p99_ms)
      .field("busy_max_ms", h.busy_max_ms);
  if (h.cpu_ns >= 0) w.field("cpu_ms", static_cast<double>(h.cpu_ns) / 1e6);
  if (h.runnable_ns >= 0) w.field("runnable_ms", static_cast<double>(h.runnable_ns) / 1e6);
  w.key("stalls").begin_array();
  for (const auto& s : h.stalls) {
    w.begin_object()
        .field("start_ms", static_cast<double>(s.start_ns) / 1e6)
        .field("duration_ms", static_cast<double>(s.duration_ns) / 1e6)
        .field("phase", s.phase)
        .field("summary", s.summary)
        .field("truncated", s.truncated)
        .end_object();
  }
  w.end_array();
  w.end_object();
}

}  // namespace

std::string render_text(const Report& r, bool stacks) {
  std::string out;
  std::string target = r.cmdline.empty() ? "(unknown command line)" : r.cmdline;
  out += "target    " + target;
  if (r.pid) out += fmt("  (pid %lld)", static_cast<long long>(r.pid));
  out += "\n";
  if (!r.node_version.empty()) out += "node      " + r.node_version + "\n";
  out += "recorded  " + when(r.time_nanos);
  if (r.duration_nanos) out += " for " + format_duration(std::chrono::nanoseconds(r.duration_nanos));
  if (r.rate_hz) out += fmt(" at %lld Hz", static_cast<long long>(r.rate_hz));
  if (!r.mode.empty()) out += " (" + r.mode + ")";
  out += fmt(", %llu samples, %llu lost\n", static_cast<unsigned long long>(r.samples),
             static_cast<unsigned long long>(r.lost));

  for (const auto& t : r.threads) {
    if (!profile::is_loop_role(t.role)) continue;
    out += fmt("\n%s loop — %s (tid %lld), %llu samples\n", t.role == profile::ThreadRole::kMainLoop ? "main" : "worker",
               t.name.c_str(), static_cast<long long>(t.tid), static_cast<unsigned long long>(t.samples));
    shares_table(out, "phase", t.phases);
    shares_table(out, "activity", t.activities);
    if (!t.entries.empty()) shares_table(out, "entry", t.entries);
    if (t.health) health_text(out, *t.health);
  }

  size_t loop_threads = 0;
  for (const auto& t : r.threads) loop_threads += profile::is_loop_role(t.role);
  out += "\nTop blockers";
  out += r.blockers.empty() ? ": none (the loop threads were idle or not sampled)\n" : "\n";
  for (size_t i = 0; i < r.blockers.size(); i++) {
    const Blocker& b = r.blockers[i];
    out += fmt("  %5.1f%%  %s  [%s]", b.share * 100, b.summary.c_str(), b.activity.c_str());
    if (loop_threads > 1 && b.tid) out += fmt("  (%s %lld)", b.thread.c_str(), static_cast<long long>(b.tid));
    out += "\n";
    if (stacks) {
      for (const auto& f : b.frames) {
        out += "           " + f.name;
        if (!f.file.empty()) out += fmt("  %s:%lld", f.file.c_str(), static_cast<long long>(f.line));
        out += "\n";
      }
      out += "\n";
    }
  }
  if (!stacks && !r.blockers.empty()) out += "  (full stacks: --stacks)\n";

  out += "\nThreads\n";
  out += fmt("  %-8s %-16s %-12s %10s\n", "tid", "name", "role", "samples");
  for (const auto& t : r.threads)
    out += fmt("  %-8lld %-16s %-12s %10llu\n", static_cast<long long>(t.tid), t.name.c_str(),
               std::string(profile::role_name(t.role)).c_str(), static_cast<unsigned long long>(t.samples));

  if (!r.hints.empty()) {
    out += "\nHints\n";
    for (const auto& h : r.hints) out += "  - " + h.text + "\n";
  }
  return out;
}

std::string render_json(const Report& r) {
  JsonWriter w;
  w.begin_object();
  w.field("version", 1);
  w.key("target").begin_object();
  w.field("cmdline", r.cmdline).field("pid", r.pid).field("node_version", r.node_version).end_object();
  w.key("recording").begin_object();
  w.field("time_nanos", r.time_nanos)
      .field("duration_nanos", r.duration_nanos)
      .field("rate_hz", r.rate_hz)
      .field("mode", r.mode)
      .field("samples", r.samples)
      .field("lost", r.lost)
      .end_object();
  w.key("threads").begin_array();
  for (const auto& t : r.threads) {
    w.begin_object();
    w.field("tid", t.tid).field("name", t.name).field("role", profile::role_name(t.role)).field("samples", t.samples);
    w.key("phases").begin_object();
    for (const auto& s : t.phases) w.field(s.name, s.share);
    w.end_object();
    w.key("activities").begin_object();
    for (const auto& s : t.activities) w.field(s.name, s.share);
    w.end_object();
    w.key("entries").begin_object();
    for (const auto& s : t.entries) w.field(s.name, s.share);
    w.end_object();
    if (t.health) health_json(w, *t.health);
    w.end_object();
  }
  w.end_array();
  w.key("blockers").begin_array();
  for (const auto& b : r.blockers) {
    w.begin_object();
    w.field("summary", b.summary)
        .field("share", b.share)
        .field("samples", b.samples)
        .field("phase", b.phase)
        .field("activity", b.activity)
        .field("tid", b.tid)
        .field("thread", b.thread);
    w.key("frames").begin_array();
    for (const auto& f : b.frames) {
      w.begin_object().field("name", f.name).field("file", f.file).field("line", f.line).field("kind", f.kind);
      w.end_object();
    }
    w.end_array();
    w.end_object();
  }
  w.end_array();
  w.key("hints").begin_array();
  for (const auto& h : r.hints) w.begin_object().field("kind", h.kind).field("text", h.text).end_object();
  w.end_array();
  w.end_object();
  return w.str() + "\n";
}

}  // namespace loopperf::report
