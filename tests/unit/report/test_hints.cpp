// Each row of the hint table at its threshold: it fires just above (or at, for >= rows) and not
// just below, on the smallest report that reaches the row.
#include <algorithm>
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "loopperf/profile/labels.h"
#include "loopperf/report/hints.h"

using namespace loopperf;
using report::HintFacts;
using report::PerfMapState;
using report::Report;
using report::Share;
using report::ThreadSummary;

namespace {

ThreadSummary loop_thread(uint64_t samples, std::vector<Share> activities,
                          profile::ThreadRole role = profile::ThreadRole::kMainLoop) {
  ThreadSummary t;
  t.tid = 4242;
  t.name = "node";
  t.role = role;
  t.samples = samples;
  t.activities = std::move(activities);
  return t;
}

std::vector<std::string> kinds(const Report& r, const HintFacts& f = {}) {
  std::vector<std::string> out;
  for (const auto& h : report::evaluate_hints(r, f)) out.push_back(h.kind);
  return out;
}

bool fires(const std::string& kind, const Report& r, const HintFacts& f = {}) {
  auto k = kinds(r, f);
  return std::find(k.begin(), k.end(), kind) != k.end();
}

// A report with one loop thread of `samples` samples whose `activity` has `share` of them.
Report with_activity(const std::string& activity, double share,
                     uint64_t samples = report::kMinThreadSamplesForShares) {
  Report r;
  r.threads.push_back(loop_thread(samples, {Share{activity, 1, share}}));
  return r;
}

void check_activity_row(const std::string& id, double threshold) {
  CHECK(fires(id, with_activity(id, threshold)));
  CHECK(fires(id, with_activity(id, threshold + 1e-9)));
  CHECK_FALSE(fires(id, with_activity(id, threshold - 1e-9)));
  // Too few samples on the thread, or not a loop thread: no share hint.
  CHECK_FALSE(fires(id, with_activity(id, 1.0, report::kMinThreadSamplesForShares - 1)));
  Report pool;
  pool.threads.push_back(loop_thread(1000, {Share{id, 1000, 1.0}}, profile::ThreadRole::kLibuvPool));
  CHECK_FALSE(fires(id, pool));
}

Report with_busy_period(double busy_max_ms, int64_t stall_threshold_ns) {
  Report r;
  ThreadSummary t = loop_thread(0, {});
  t.health = loop::LoopHealth{};
  t.health->tid = t.tid;
  t.health->busy_max_ms = busy_max_ms;
  t.health->stall_threshold_ns = stall_threshold_ns;
  r.threads.push_back(std::move(t));
  return r;
}

HintFacts node_facts(PerfMapState state, uint64_t loop_samples = 0, uint64_t unknown_jit = 0) {
  HintFacts f;
  f.target_node = "yes";
  f.perf_map = state;
  f.perf_map_note = state == PerfMapState::kLoaded ? "120 entries from /tmp/perf-1.map" : "";
  f.loop_samples = loop_samples;
  f.unknown_jit_samples = unknown_jit;
  return f;
}

}  // namespace

TEST_CASE("hint table: the documented hints, in the order the report lists them") {
  std::vector<std::string> ids;
  for (const auto& row : report::hint_rows()) ids.emplace_back(row.id);
  CHECK(ids == std::vector<std::string>{"missing-js-names", "stall", "off-cpu", "cpu-wait", "sync-io", "gc",
                                        "microtasks", "continuations", "phases-unknown", "lost", "not-node"});
}

namespace {

// A cpu-mode report at 999 Hz with one loop thread of `samples` samples, busy `busy_ms` of 2 s.
Report with_busy_time(uint64_t samples, double busy_ms, const std::string& mode = "cpu",
                      profile::ThreadRole role = profile::ThreadRole::kMainLoop) {
  Report r;
  r.mode = mode;
  r.rate_hz = 999;
  ThreadSummary t = loop_thread(samples, {}, role);
  loop::LoopHealth h;
  h.observed_ns = 2'000'000'000;
  h.utilization = busy_ms / 2000;
  t.health = h;
  r.threads.push_back(t);
  return r;
}

}  // namespace

TEST_CASE("hint off-cpu: a loop busy kOffCpuBusyFactor times longer than it ran, in cpu mode") {
  // 1.8 s busy, 0.2 s on a CPU (200 samples at 999 Hz): blocked off the CPU.
  CHECK(fires("off-cpu", with_busy_time(200, 1800)));
  // Exactly the factor, or a loop that ran about as long as it was busy: no hint.
  CHECK_FALSE(fires("off-cpu", with_busy_time(999, 2000)));
  CHECK_FALSE(fires("off-cpu", with_busy_time(1700, 1800)));
  CHECK(fires("off-cpu", with_busy_time(100, 2 * 100 * 1000.0 / 999 + 1)));
  // Busy too little to matter, wall mode (it sees the waits), a pool thread, no loop health.
  CHECK_FALSE(fires("off-cpu", with_busy_time(10, report::kMinOffCpuBusyMs - 1)));
  CHECK_FALSE(fires("off-cpu", with_busy_time(200, 1800, "wall")));
  CHECK_FALSE(fires("off-cpu", with_busy_time(200, 1800, "cpu", profile::ThreadRole::kLibuvPool)));
  Report none;
  none.mode = "cpu";
  none.rate_hz = 999;
  none.threads.push_back(loop_thread(100, {}));
  CHECK_FALSE(fires("off-cpu", none));
  // The message says what was seen and what to do.
  auto hints = report::evaluate_hints(with_busy_time(200, 1800), {});
  REQUIRE(!hints.empty());
  CHECK(hints[0].text ==
        "the main loop (node, tid 4242) was busy for 1.80 s of 2.00 s but ran on a CPU for about 0.20 s: it was "
        "blocked off the CPU for most of it (a synchronous read of a slow file, execSync, Atomics.wait, a lock), "
        "which cpu samples cannot see. Record again with --mode wall to see where it waits.");
}

TEST_CASE("hint cpu-wait: a loop runnable without a CPU for kCpuWaitShare of its busy time, off-cpu then holds back") {
  // 1.8 s busy, 0.6 s on a CPU by the scheduler, 1.1 s runnable: a loaded machine, not a blocked thread.
  Report r = with_busy_time(600, 1800);
  r.threads[0].health->cpu_ns = 600'000'000;
  r.threads[0].health->runnable_ns = 1'100'000'000;
  CHECK(fires("cpu-wait", r));
  CHECK_FALSE(fires("off-cpu", r));
  auto hints = report::evaluate_hints(r, {});
  REQUIRE(!hints.empty());
  CHECK(hints[0].text.starts_with("the main loop (node, tid 4242) was busy for 1.80 s of 2.00 s, ran on a CPU for "
                                  "0.60 s and waited 1.10 s for one: it was ready to run, not blocked"));
  // Little run delay: no cpu-wait; blocked for the rest, off-cpu says so.
  r.threads[0].health->runnable_ns = 100'000'000;
  CHECK_FALSE(fires("cpu-wait", r));
  CHECK(fires("off-cpu", r));
  // The scheduler's figures unknown (an older profile): off-cpu from the samples, as before.
  CHECK(fires("off-cpu", with_busy_time(200, 1800)));
  CHECK_FALSE(fires("cpu-wait", with_busy_time(200, 1800)));
}

TEST_CASE("hint missing-js-names: more than 1 in kUnknownJitOneIn loop samples with an unnamed JIT frame") {
  const uint64_t n = 100, at = n / report::kUnknownJitOneIn;
  CHECK(fires("missing-js-names", {}, node_facts(PerfMapState::kLoaded, n, at + 1)));
  CHECK_FALSE(fires("missing-js-names", {}, node_facts(PerfMapState::kLoaded, n, at)));
  CHECK_FALSE(fires("missing-js-names", {}, node_facts(PerfMapState::kLoaded, 0, 0)));
  // No perf map, or one that was not trusted: whatever the samples.
  CHECK(fires("missing-js-names", {}, node_facts(PerfMapState::kNone)));
  CHECK(fires("missing-js-names", {}, node_facts(PerfMapState::kIgnored)));
  CHECK_FALSE(fires("missing-js-names", {}, node_facts(PerfMapState::kNotRecorded)));
  // Only for node targets.
  HintFacts native = node_facts(PerfMapState::kNone, n, n);
  native.target_node = "no";
  CHECK_FALSE(fires("missing-js-names", {}, native));
  native.target_node = "";
  CHECK_FALSE(fires("missing-js-names", {}, native));
  // The message quotes the metadata.
  auto hints = report::evaluate_hints({}, node_facts(PerfMapState::kLoaded, n, n));
  REQUIRE(hints.size() == 1);
  CHECK(hints[0].text.find("(120 entries from /tmp/perf-1.map)") != std::string::npos);
  hints = report::evaluate_hints({}, node_facts(PerfMapState::kNotRecorded, n, n));
  CHECK(hints[0].text.find("(no perf map)") != std::string::npos);
}

TEST_CASE("perf_map metadata: the three forms record writes, and none at all") {
  auto state = [](const char* perf_map) {
    profile::Profile p;
    if (perf_map) p.set_meta("perf_map", perf_map);
    return report::perf_map_state(profile::read_recording_info(p));
  };
  CHECK(state(nullptr) == PerfMapState::kNotRecorded);
  CHECK(state("none") == PerfMapState::kNone);
  CHECK(state("ignored /tmp/perf-1.map: not owned by the target's user") == PerfMapState::kIgnored);
  CHECK(state("120 entries from /tmp/perf-1.map") == PerfMapState::kLoaded);
}

TEST_CASE("hint stall: the longest busy period exceeds the profile's stall threshold") {
  CHECK(fires("stall", with_busy_period(100.001, 100'000'000)));
  CHECK_FALSE(fires("stall", with_busy_period(100, 100'000'000)));
  CHECK_FALSE(fires("stall", with_busy_period(99.999, 100'000'000)));
  // No threshold in the profile: kDefaultStallThresholdMs.
  CHECK(fires("stall", with_busy_period(report::kDefaultStallThresholdMs + 0.001, 0)));
  CHECK_FALSE(fires("stall", with_busy_period(report::kDefaultStallThresholdMs, 0)));
  // Without loop health, no stall hint.
  Report none;
  none.threads.push_back(loop_thread(100, {}));
  CHECK_FALSE(fires("stall", none));
}

TEST_CASE("hint sync-io: kSyncIoShare of a loop thread's samples") {
  check_activity_row("sync-io", report::kSyncIoShare);
}

TEST_CASE("hint gc: kGcShare of a loop thread's samples") { check_activity_row("gc", report::kGcShare); }

TEST_CASE("hint microtasks: kMicrotasksShare of a loop thread's samples") {
  check_activity_row("microtasks", report::kMicrotasksShare);
}

TEST_CASE("activity hints of a thread follow its activities' share order") {
  Report r;
  r.threads.push_back(
      loop_thread(100, {Share{"gc", 40, 0.4}, Share{"microtasks", 35, 0.35}, Share{"sync-io", 25, 0.25}}));
  CHECK(kinds(r) == std::vector<std::string>{"gc", "microtasks", "sync-io"});
}

TEST_CASE("hint phases-unknown: record noted why the phases are unknown") {
  HintFacts f;
  CHECK_FALSE(fires("phases-unknown", {}, f));
  f.phase_problem = "uv_run not found in the node binary";
  CHECK(fires("phases-unknown", {}, f));
}

TEST_CASE("hint lost: kMinLostSamples samples lost") {
  Report r;
  r.lost = report::kMinLostSamples;
  CHECK(fires("lost", r));
  r.lost = report::kMinLostSamples - 1;
  CHECK_FALSE(fires("lost", r));
}

TEST_CASE("hint not-node: only when record says the target is not node") {
  HintFacts f;
  f.target_node = "no";
  CHECK(fires("not-node", {}, f));
  f.target_node = "yes";
  CHECK_FALSE(fires("not-node", {}, f));
  f.target_node = "";  // another tool's profile: unknown, no hint
  CHECK_FALSE(fires("not-node", {}, f));
}

TEST_CASE("the loop stage's role names are profile/labels.h's") {
  CHECK(profile::role_name(profile::ThreadRole::kMainLoop) == profile::kMainLoopRole);
  CHECK(profile::role_name(profile::ThreadRole::kWorkerLoop) == profile::kWorkerLoopRole);
  CHECK(profile::role_name(profile::ThreadRole::kLibuvPool) == profile::kLibuvPoolRole);
  CHECK(profile::role_name(profile::ThreadRole::kV8Platform) == profile::kV8PlatformRole);
  CHECK(profile::role_name(profile::ThreadRole::kOther) == profile::kOtherRole);
  CHECK(profile::kRoleLabel == profile::kRoleLabel);
  CHECK(profile::kThreadLabel == profile::kThreadLabel);
  CHECK(profile::kTidLabel == profile::kTidLabel);
  CHECK(profile::kPhaseLabel == profile::kPhaseLabel);
  CHECK(profile::kActivityLabel == profile::kActivityLabel);
}
