// An incident's profile and verdict (incident.h).
#include "loopperf/record/incident.h"

#include <time.h>

#include <algorithm>
#include <cstdio>
#include <map>

#include "loopperf/common/json.h"
#include "loopperf/loop/health.h"
#include "loopperf/profile/labels.h"
#include "loopperf/record/finish.h"
#include "loopperf/record/recorder.h"
#include "loopperf/report/dump.h"

namespace loopperf::record {

namespace {

// Events reach the incident's loop health in any order; it sorts them all at its finish.
constexpr int64_t kSortAll = 1'000'000'000'000'000'000LL;

struct Moment {
  std::string iso_basic;  // 20261205T120407.123Z (file names)
  std::string iso;        // 2026-12-05T12:04:07.123Z (metadata, JSON)
  std::string clock;      // 12:04:07, local time (the verdict)
};

Moment moment(uint64_t mono_ns, const WatchContext& ctx) {
  const int64_t real = static_cast<int64_t>(mono_ns) + ctx.realtime_offset_ns;
  const time_t secs = static_cast<time_t>(real / 1'000'000'000);
  const int ms = static_cast<int>((real / 1'000'000) % 1000);
  struct tm utc {}, local {};
  gmtime_r(&secs, &utc);
  localtime_r(&secs, &local);
  char buf[64];
  Moment m;
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%S", &utc);
  m.iso_basic = buf;
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &utc);
  m.iso = buf;
  std::snprintf(buf, sizeof buf, ".%03dZ", ms);
  m.iso_basic += buf;
  m.iso += buf;
  std::strftime(buf, sizeof buf, "%H:%M:%S", &local);
  m.clock = buf;
  return m;
}

int64_t duration_ms(const Incident& inc) {
  return inc.end_ns > inc.start_ns ? static_cast<int64_t>((inc.end_ns - inc.start_ns) / 1'000'000) : 0;
}

std::string seconds(int64_t ms) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f s", static_cast<double>(ms) / 1e3);
  return buf;
}

}  // namespace

std::string_view trigger_name(Trigger t) {
  switch (t) {
    case Trigger::kStall: return "stall";
    case Trigger::kSigterm: return "sigterm";
    case Trigger::kSnapshot: return "snapshot";
    case Trigger::kExit: return "exit";
    case Trigger::kStop: return "stop";
  }
  return "stall";
}

std::string incident_file_name(const Incident& inc, const WatchContext& ctx) {
  return std::string(trigger_name(inc.trigger)) + "-" + moment(inc.start_ns, ctx).iso_basic + "-" +
         std::to_string(duration_ms(inc)) + "ms.pb.gz";
}

std::string IncidentResult::json(const Incident& inc, const WatchContext& ctx) const {
  JsonWriter w(false);
  w.begin_object();
  w.field("trigger", trigger_name(inc.trigger));
  w.field("verdict", verdict);
  w.field("file", file);
  w.field("start", moment(inc.start_ns, ctx).iso);
  w.field("duration_ms", duration_ms(inc));
  w.field("ended", inc.ended);
  w.field("pid", static_cast<int64_t>(ctx.pid));
  if (inc.tid) w.field("tid", static_cast<int64_t>(inc.tid));
  w.field("phase", phase);
  w.field("activity", activity);
  w.field("summary", summary);
  w.field("samples", incident_samples);
  w.key("frames").begin_array();
  for (const auto& f : frames) {
    w.begin_object();
    w.field("name", f.name);
    if (!f.file.empty()) w.field("file", f.file);
    if (f.line > 0) w.field("line", f.line);
    w.field("kind", f.kind);
    w.end_object();
  }
  w.end_array();
  w.end_object();
  return w.str();
}

Result<IncidentResult> write_incident(Recorder& rec, const FlightRecorder& flight, const loop::StallDetector& detector,
                                      const Incident& inc, const WatchContext& ctx, const std::string& dir) {
  // The window: `keep` before the incident, or as much as the flight recorder still holds.
  const uint64_t from = std::max(flight.window_start(inc.start_ns), std::min(flight.oldest(inc.start_ns), inc.start_ns));
  const uint64_t to = std::max(inc.end_ns, inc.start_ns);

  profile::StackTable table(rec.options().max_stacks);
  loop::LoopHealthTracker health(from, ctx.stall_threshold_ns, kSortAll);
  for (pid_t tid : detector.loops()) {
    const loop::LoopWait w = detector.loop_wait(tid).value_or(loop::LoopWait{});
    health.add_thread(tid, false, w.epfd(), 0, w.frame());
  }
  std::map<uint32_t, uint64_t> during;  // stack index -> nanoseconds, the verdict's samples
  const bool whole_window = inc.end_ns <= inc.start_ns;
  IncidentResult out;
  for (const auto& s : flight.samples()) {
    if (s.time_ns < from || s.time_ns > to) continue;
    profile::StackTable::Tag tag = s.tag;
    tag.window = s.time_ns < inc.start_ns ? 1 : 2;
    const uint32_t index = table.add(s.tid, s.frames, s.period, tag, s.count);
    health.sample(s.tid, s.time_ns, index, s.count, s.cut_short);
    out.samples += s.count;
    // The verdict's samples: the stuck thread's during the stall, every thread's during a SIGTERM's
    // aftermath; a snapshot (or a stop, an exit) has no duration: the main thread's over the window.
    const bool verdicts = whole_window ? s.tid == ctx.pid : tag.window == 2 && (inc.tid == 0 || s.tid == inc.tid);
    if (verdicts) {
      during[index] += s.period;
      out.incident_samples += s.count;
    }
  }
  for (const auto& e : flight.polls()) {
    if (e.time_ns < from || e.time_ns > to) continue;
    feed_poll_event(health, e);
  }

  rec.symbolizer().refresh();  // code compiled since the last refresh (the perf map) is named
  profile::BuildInfo build;
  build.thread_names = rec.thread_names();
  build.period_ns = 1'000'000'000LL / ctx.rate_hz;
  build.time_nanos = static_cast<int64_t>(from) + ctx.realtime_offset_ns;
  build.duration_nanos = static_cast<int64_t>(to - from);
  build.main_binary = ctx.exe;
  build.wall_mode = true;
  profile::RecordingInfo ri;
  ri.tool = "loopperf " LOOPPERF_VERSION;
  ri.mode = "wall";
  ri.pid = ctx.pid;
  ri.cmdline = ctx.cmdline;
  ri.is_node = ctx.is_node;
  ri.node_version = ctx.node_version;
  ri.rate_hz = ctx.rate_hz;
  ri.samples = out.samples;
  ri.lost = rec.stats().lost;
  ri.threads = rec.stats().threads_seen;
  ri.threads_skipped = rec.stats().threads_skipped;
  ri.stacks_overflowed = table.overflowed();
  ri.kernel_frames = rec.kernel_frames();
  ri.unwind = unwind::unwind_mode_name(rec.options().unwind);
  ri.perf_map = perf_map_info(rec.symbolizer().perf_map_status());
  ri.details = rec.details();
  for (auto& [key, value] : ri.details) {  // the recorder keeps no table of its own: the incident's
    if (key == "stacks.distinct") value = std::to_string(table.entries().size());
    if (key == "stacks.nodes") value = std::to_string(table.nodes());
  }
  FinishOptions fo;
  fo.pid = ctx.pid;
  fo.is_node = ctx.is_node;
  fo.build = std::move(build);
  fo.recording = std::move(ri);
  fo.health = &health;
  fo.end_ns = to;
  FinishedProfile fin = finish_profile(table, rec.symbolizer(), std::move(fo));
  profile::Profile& p = fin.profile;

  // The verdict: the incident's heaviest stack by time, grouped as report's "Top blockers" groups
  // stacks (report::group_stacks: by summary and activity). One stall's samples spread over many
  // stacks that differ only below their named frames (addresses inside OpenSSL, say); counted one
  // by one, a single 20 ms sample at the flight recorder's rate outweighed each of them and named
  // the handler instead of authMiddleware. The frames are the group's heaviest stack's.
  std::vector<std::optional<uint64_t>> ns_of(p.samples.size());
  for (const auto& [index, ns] : during)
    if (index < p.samples.size()) ns_of[index] = ns_of[index].value_or(0) + ns;
  const auto groups = report::group_stacks(p, [&](size_t i) { return ns_of[i]; }, {});
  const report::StackGroup* verdict = groups.empty() ? nullptr : &groups.front();
  if (verdict) {
    out.phase = verdict->phase;
    out.activity = verdict->activity;
    out.summary = verdict->summary;
    if (verdict->heaviest) out.frames = report::stack_frames(p, p.samples[*verdict->heaviest]);
  } else {
    out.summary = whole_window ? "no samples of the main thread in the window" : "no samples during the incident";
  }

  const Moment at = moment(inc.start_ns, ctx);
  const int64_t ms = duration_ms(inc);
  p.set_meta("incident.trigger", std::string(trigger_name(inc.trigger)));
  p.set_meta("incident.start", at.iso);
  p.set_meta("incident.start_ms", std::to_string((inc.start_ns - from) / 1'000'000));
  p.set_meta("incident.duration_ms", std::to_string(ms));
  p.set_meta("incident.ended", inc.ended ? "1" : "0");
  if (inc.tid) p.set_meta("incident.tid", std::to_string(inc.tid));
  p.set_meta("incident.phase", out.phase);
  p.set_meta("incident.activity", out.activity);
  p.set_meta("incident.summary", out.summary);
  p.set_meta("incident.samples", std::to_string(out.incident_samples));
  p.set_meta("incident.before_ms", std::to_string((inc.start_ns - from) / 1'000'000));
  p.set_meta("incident.stall_threshold_ms", std::to_string(ctx.stall_threshold_ns / 1'000'000));
  p.set_meta("incident.idle_rate_hz", std::to_string(ctx.idle_rate_hz));
  p.set_meta("incident.flight_dropped", std::to_string(flight.dropped()));
  p.set_meta("incident.flight_dropped_polls", std::to_string(flight.dropped_polls()));

  std::string what = std::string(trigger_name(inc.trigger));
  if (inc.trigger == Trigger::kStall) {
    out.verdict = "stall " + seconds(ms) + (inc.ended ? "" : "+") + " at " + at.clock + " ";
  } else if (inc.trigger == Trigger::kSigterm) {
    out.verdict = "SIGTERM to the target at " + at.clock + ", " + seconds(ms) + " until " +
                  (inc.ended ? "it exited" : "the capture ended") + ": ";
  } else {
    // A snapshot, a stop or an exit: the window up to that moment.
    out.verdict = what + " at " + at.clock + " (the last " + seconds(static_cast<int64_t>((to - from) / 1'000'000)) + "): ";
  }
  out.verdict += out.summary;
  if (!out.activity.empty() && verdict) out.verdict += "  [" + out.activity + "]";

  out.file = dir + "/" + incident_file_name(inc, ctx);
  if (auto st = write_or_rescue(p, out.file, ctx.pid); !st) return st.error();
  return out;
}

}  // namespace loopperf::record
