// The hint table and its evaluation (include/loopperf/report/hints.h).
#include "loopperf/report/hints.h"

#include <array>
#include <cstdio>
#include <optional>

#include "loopperf/profile/labels.h"

namespace loopperf::report {

PerfMapState perf_map_state(const profile::RecordingInfo& r) {
  if (!r.perf_map) return PerfMapState::kNotRecorded;
  switch (r.perf_map->state) {
    case profile::PerfMapInfo::State::kNone: return PerfMapState::kNone;
    case profile::PerfMapInfo::State::kIgnored: return PerfMapState::kIgnored;
    case profile::PerfMapInfo::State::kUsed: break;
  }
  return PerfMapState::kLoaded;
}

namespace {

std::string pct(double share) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%.0f%%", share * 100);
  return buf;
}

// --- missing-js-names ---

bool js_names_missing(const HintSubject& s, const HintRow& row) {
  const HintFacts& f = s.facts;
  if (f.target_node != "yes") return false;
  // Without a perf map the heap names JavaScript frames; the hint is for frames still unnamed.
  if (!f.heap_names && (f.perf_map == PerfMapState::kNone || f.perf_map == PerfMapState::kIgnored)) return true;
  return f.loop_samples && f.unknown_jit_samples * static_cast<uint64_t>(row.threshold) > f.loop_samples;
}

std::string js_names_message(const HintSubject& s, const HintRow&) {
  const std::string& note = s.facts.perf_map_note;
  if (s.facts.heap_names)
    return "some JavaScript frames are unnamed although names were read from the target's heap (" + pct(
               s.facts.loop_samples ? static_cast<double>(s.facts.unknown_jit_samples) / s.facts.loop_samples : 0) +
           " of loop samples): code V8 generated outside functions (regular expressions, stubs) or frames "
           "that moved before they were read; node's --perf-basic-prof names JIT code as well "
           "(docs/js-names.md)";
  return "JavaScript frames are unnamed (" + (note.empty() ? std::string("no perf map") : note) +
         "): start node with --perf-basic-prof (NODE_OPTIONS=--perf-basic-prof works too), or "
         "record in launch mode: loopperf record -- node app.js";
}

// A main loop's work can go to a worker; a worker's loop is already one (never advise it there).
std::string worker_advice(const ThreadSummary& t) {
  return t.role == profile::ThreadRole::kMainLoop ? ", or move it to a worker" : "";
}

// --- stall: the longest busy period exceeds the stall threshold ---

double stall_threshold_ms(const loop::LoopHealth& h, double fallback_ms) {
  return h.stall_threshold_ns > 0 ? static_cast<double>(h.stall_threshold_ns) / 1e6 : fallback_ms;
}

bool stalled(const HintSubject& s, const HintRow& row) {
  const auto& h = s.thread->health;
  return h && h->busy_max_ms > stall_threshold_ms(*h, row.threshold);
}

std::string stall_message(const HintSubject& s, const HintRow& row) {
  const ThreadSummary& t = *s.thread;
  const loop::LoopHealth& h = *t.health;
  char buf[160];
  std::string who = t.role == profile::ThreadRole::kMainLoop ? "the main loop" : "the worker loop";
  who += " (" + t.name + ", tid " + std::to_string(t.tid) + ")";
  std::string text;
  if (!h.stalls.empty()) {
    const loop::Stall& st = h.stalls.front();  // longest first
    std::snprintf(buf, sizeof buf, " was blocked for %s%.0f ms at +%.1fs", st.truncated ? "at least " : "",
                  static_cast<double>(st.duration_ns) / 1e6, static_cast<double>(st.start_ns) / 1e9);
    text = who + buf;
    if (!st.summary.empty()) text += st.phase.empty() ? " (" + st.summary + ")" : " in " + st.summary;
  } else {
    std::snprintf(buf, sizeof buf, " had a busy period of %.0f ms", h.busy_max_ms);
    text = who + buf;
  }
  if (h.stall_count > 1) {
    std::snprintf(buf, sizeof buf, "; %llu stalls > %.0f ms in all",
                  static_cast<unsigned long long>(h.stall_count), stall_threshold_ms(h, row.threshold));
    text += buf;
  }
  text += ". Nothing else ran on that loop meanwhile (timers, I/O callbacks, " +
          std::string(t.role == profile::ThreadRole::kMainLoop ? "requests" : "messages") +
          " all waited): split the work, make it asynchronous" + worker_advice(t) + ".";
  return text;
}

// --- off-cpu: a loop busy far longer than it ran, in a recording that only sees it running ---

// The loop thread's busy time (loop health), its on-CPU time (the scheduler's when recorded, else
// cpu-clock samples over the rate) and the time it was runnable waiting for a CPU (0 when unknown).
struct BusyTimes {
  double busy_ms = 0, cpu_ms = 0, runnable_ms = 0;
};
std::optional<BusyTimes> busy_times(const HintSubject& s) {
  const ThreadSummary& t = *s.thread;
  if (!profile::is_loop_role(t.role) || !t.health || s.report.rate_hz <= 0) return std::nullopt;
  // Wall mode samples the thread off the CPU too: it needs no such hint.
  if (s.report.mode != "cpu") return std::nullopt;
  const loop::LoopHealth& h = *t.health;
  BusyTimes b{h.utilization * static_cast<double>(h.observed_ns) / 1e6,
              static_cast<double>(t.samples) * 1000.0 / static_cast<double>(s.report.rate_hz), 0};
  if (h.cpu_ns >= 0) b.cpu_ms = static_cast<double>(h.cpu_ns) / 1e6;
  if (h.runnable_ns >= 0) b.runnable_ms = static_cast<double>(h.runnable_ns) / 1e6;
  return b;
}

bool off_cpu(const HintSubject& s, const HintRow& row) {
  // A thread waiting for a CPU is not blocked: that time is cpu-wait's, not off-cpu's.
  auto b = busy_times(s);
  return b && b->busy_ms >= kMinOffCpuBusyMs && b->busy_ms > row.threshold * (b->cpu_ms + b->runnable_ms);
}

// --- cpu-wait: a loop thread that was ready to run but had no CPU ---

bool cpu_wait(const HintSubject& s, const HintRow& row) {
  auto b = busy_times(s);
  return b && b->busy_ms >= kMinOffCpuBusyMs && b->runnable_ms >= row.threshold * b->busy_ms;
}

std::string cpu_wait_message(const HintSubject& s, const HintRow&) {
  const ThreadSummary& t = *s.thread;
  const BusyTimes b = *busy_times(s);
  char buf[200];
  std::snprintf(buf, sizeof buf, " was busy for %.2f s of %.2f s, ran on a CPU for %.2f s and waited %.2f s for one",
                b.busy_ms / 1e3, static_cast<double>(t.health->observed_ns) / 1e9, b.cpu_ms / 1e3,
                b.runnable_ms / 1e3);
  std::string who = t.role == profile::ThreadRole::kMainLoop ? "the main loop" : "the worker loop";
  return who + " (" + t.name + ", tid " + std::to_string(t.tid) + ")" + buf +
         ": it was ready to run, not blocked — other threads or processes, or a container's CPU quota, "
         "had the CPUs. Its busy periods and stalls are that much longer than its code alone makes them: "
         "check the machine's load (uptime, top) or the cgroup's CPU limit and throttling (cpu.max, "
         "cpu.stat).";
}

std::string off_cpu_message(const HintSubject& s, const HintRow&) {
  const ThreadSummary& t = *s.thread;
  const BusyTimes b = *busy_times(s);
  char buf[200];
  std::snprintf(buf, sizeof buf, " was busy for %.2f s of %.2f s but ran on a CPU for about %.2f s", b.busy_ms / 1e3,
                static_cast<double>(t.health->observed_ns) / 1e9, b.cpu_ms / 1e3);
  std::string who = t.role == profile::ThreadRole::kMainLoop ? "the main loop" : "the worker loop";
  return who + " (" + t.name + ", tid " + std::to_string(t.tid) + ")" + buf +
         ": it was blocked off the CPU for most of it (a synchronous read of a slow file, execSync, "
         "Atomics.wait, a lock), which cpu samples cannot see. Record again with --mode wall to see where "
         "it waits.";
}

// --- activity shares of a loop thread ---

bool activity_share_reached(const HintSubject& s, const HintRow& row) {
  const ThreadSummary& t = *s.thread;
  return profile::is_loop_role(t.role) && t.samples >= kMinThreadSamplesForShares &&
         s.activity->name == row.activity && s.activity->share >= row.threshold;
}

// "12% of node (main-loop, tid 4242)", and the heaviest blocker of that activity when there is one.
std::string share_of_thread(const HintSubject& s) {
  const ThreadSummary& t = *s.thread;
  return pct(s.activity->share) + " of " + t.name + " (" + std::string(profile::role_name(t.role)) + ", tid " +
         std::to_string(t.tid) + ")";
}
// " — heaviest: SUMMARY" of the thread's heaviest blocker (of `activity`, when given), or "".
std::string heaviest_blocker_of(const Report& r, int64_t tid, std::string_view activity = {}) {
  for (const auto& b : r.blockers)
    if (b.tid == tid && (activity.empty() || b.activity == activity)) return " — heaviest: " + b.summary;
  return "";
}

std::string heaviest_blocker(const HintSubject& s) {
  return heaviest_blocker_of(s.report, s.thread->tid, s.activity->name);
}

std::string sync_io_message(const HintSubject& s, const HintRow&) {
  return share_of_thread(s) + " is synchronous I/O on the event loop" + heaviest_blocker(s) +
         ". Everything else on that loop waits meanwhile: use the async API (fs.promises, child_process.spawn)" +
         (s.thread->role == profile::ThreadRole::kMainLoop ? ", cache the result, or move it to a worker."
                                                           : " or cache the result.");
}
std::string gc_message(const HintSubject& s, const HintRow&) {
  return share_of_thread(s) + " is garbage collection" + heaviest_blocker(s) +
         ". Allocate less in hot paths; if the heap is near its limit raise --max-old-space-size, for "
         "short-lived garbage try --max-semi-space-size.";
}
std::string microtasks_message(const HintSubject& s, const HintRow&) {
  return share_of_thread(s) + " is the microtask machinery itself (the queue's drain, promise reaction jobs with "
         "little code of their own)" + heaviest_blocker(s) +
         ": a flood of tiny promise jobs or nextTick callbacks keeps the loop from I/O.";
}

// --- continuations: most of a loop's work entered as promise jobs or nextTick callbacks ---

double continuation_share(const ThreadSummary& t) {
  double share = 0;
  for (const auto& e : t.entries)
    if (e.name == profile::entry_name(profile::Entry::kMicrotask) || e.name == profile::entry_name(profile::Entry::kNextTick))
      share += e.share;
  return share;
}

bool continuations(const HintSubject& s, const HintRow& row) {
  const ThreadSummary& t = *s.thread;
  if (!profile::is_loop_role(t.role) || t.samples < kMinThreadSamplesForShares) return false;
  // The machinery dominating is the microtasks hint's.
  for (const auto& a : t.activities)
    if (a.name == profile::activity_name(profile::Activity::kMicrotasks) && a.share >= kMicrotasksShare) return false;
  // A loop that is mostly idle between short continuations is fine: the statement is for one that
  // is kept from its I/O (a busy period beyond the stall threshold), or whose health is unknown.
  if (t.health && t.health->busy_max_ms <= stall_threshold_ms(*t.health, kDefaultStallThresholdMs)) return false;
  return continuation_share(t) >= row.threshold;
}

std::string continuations_message(const HintSubject& s, const HintRow&) {
  const ThreadSummary& t = *s.thread;
  return pct(continuation_share(t)) + " of " + t.name + " (" + std::string(profile::role_name(t.role)) + ", tid " +
         std::to_string(t.tid) + ") runs as promise continuations or nextTick callbacks (entry=microtask, nextTick)" +
         heaviest_blocker_of(s.report, t.tid) +
         ": this work does not yield to I/O between its steps (an await of a value already there does not wait for "
         "the loop). If it is long, split it with setImmediate" +
         worker_advice(t) + ".";
}

// --- the recording itself ---

bool phases_unknown(const HintSubject& s, const HintRow&) { return !s.facts.phase_problem.empty(); }
std::string phases_unknown_message(const HintSubject& s, const HintRow&) {
  return "loop phases are unknown: " + s.facts.phase_problem;
}

bool samples_lost(const HintSubject& s, const HintRow& row) {
  return s.report.lost >= static_cast<uint64_t>(row.threshold);
}
std::string lost_message(const HintSubject& s, const HintRow&) {
  return std::to_string(s.report.lost) + " samples were lost: record at a lower rate (-F)";
}

bool not_node(const HintSubject& s, const HintRow&) { return s.facts.target_node == "no"; }
std::string not_node_message(const HintSubject&, const HintRow&) {
  return "the target is not node: a native profile, without JavaScript names or phases";
}

// In the order the report lists them.
constexpr std::array kHintRows = {
    HintRow{"missing-js-names", HintScope::kProfile, "", "loop samples per sample with an unnamed JIT frame",
            static_cast<double>(kUnknownJitOneIn), js_names_missing, js_names_message},
    HintRow{"stall", HintScope::kThread, "", "longest busy period, ms (the profile's stall threshold first)",
            kDefaultStallThresholdMs, stalled, stall_message},
    HintRow{"off-cpu", HintScope::kThread, "",
            "busy time over on-CPU time of a loop thread, cpu mode (and >= kMinOffCpuBusyMs busy)",
            kOffCpuBusyFactor, off_cpu, off_cpu_message},
    HintRow{"cpu-wait", HintScope::kThread, "",
            "share of a loop thread's busy time runnable without a CPU (and >= kMinOffCpuBusyMs busy)", kCpuWaitShare,
            cpu_wait, cpu_wait_message},
    HintRow{"sync-io", HintScope::kActivity, "sync-io", "share of a loop thread's samples", kSyncIoShare,
            activity_share_reached, sync_io_message},
    HintRow{"gc", HintScope::kActivity, "gc", "share of a loop thread's samples", kGcShare,
            activity_share_reached, gc_message},
    HintRow{"microtasks", HintScope::kActivity, "microtasks", "share of a loop thread's samples",
            kMicrotasksShare, activity_share_reached, microtasks_message},
    HintRow{"continuations", HintScope::kThread, "",
            "share of a loop thread's samples with entry microtask or nextTick (microtasks under kMicrotasksShare)",
            kContinuationsShare, continuations, continuations_message},
    HintRow{"phases-unknown", HintScope::kProfile, "", "a phase problem noted by record", 0, phases_unknown,
            phases_unknown_message},
    HintRow{"lost", HintScope::kProfile, "", "samples lost", static_cast<double>(kMinLostSamples),
            samples_lost, lost_message},
    HintRow{"not-node", HintScope::kProfile, "", "the target is not node", 0, not_node, not_node_message},
};

}  // namespace

std::span<const HintRow> hint_rows() { return kHintRows; }

std::vector<Hint> evaluate_hints(const Report& r, const HintFacts& facts) {
  std::vector<Hint> out;
  auto try_row = [&](const HintRow& row, const ThreadSummary* t, const Share* a) {
    HintSubject s{r, facts, t, a};
    if (row.fires(s, row)) out.push_back(Hint{std::string(row.id), row.message(s, row)});
  };
  const std::span<const HintRow> rows = hint_rows();
  for (size_t i = 0; i < rows.size();) {
    switch (rows[i].scope) {
      case HintScope::kProfile:
        try_row(rows[i++], nullptr, nullptr);
        break;
      case HintScope::kThread:
        for (const auto& t : r.threads) try_row(rows[i], &t, nullptr);
        i++;
        break;
      case HintScope::kActivity: {
        size_t end = i;
        while (end < rows.size() && rows[end].scope == HintScope::kActivity) end++;
        for (const auto& t : r.threads)
          for (const auto& a : t.activities)
            for (size_t k = i; k < end; k++) try_row(rows[k], &t, &a);
        i = end;
        break;
      }
    }
  }
  return out;
}

}  // namespace loopperf::report
