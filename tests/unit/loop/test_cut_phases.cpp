// Phases for stacks cut short before uv_run: the tracker's brackets (time order, busy periods) and
// the labelling from them (loop/cut_phases.h).
#include <catch2/catch.hpp>
#include <map>
#include <string>

#include "loopperf/loop/cut_phases.h"
#include "loopperf/loop/health.h"
#include "loopperf/loop/labels.h"

using namespace loopperf;
using loop::LoopHealthTracker;
using loop::PhaseBracket;

namespace {

constexpr uint64_t kStart = 1'000'000'000'000;
constexpr uint64_t kMs = 1'000'000;
constexpr pid_t kTid = 4242;
constexpr int kEpfd = 13;

// One sample per stack index with the given phase, 10 samples and 10 ms of CPU each.
profile::Profile profile_with_phases(const std::vector<std::string>& phases) {
  profile::Profile p;
  for (const auto& ph : phases) {
    profile::Sample s;
    s.values = {10, 10 * static_cast<int64_t>(kMs)};
    s.labels.push_back(profile::Label{std::string(loop::kPhaseLabel), ph, 0, "", false});
    s.labels.push_back(profile::Label{std::string(loop::kRoleLabel), "main-loop", 0, "", false});
    p.samples.push_back(std::move(s));
  }
  return p;
}

std::map<std::tuple<uint32_t, uint32_t, uint32_t>, uint64_t> brackets_of(const loop::LoopHealth& h) {
  std::map<std::tuple<uint32_t, uint32_t, uint32_t>, uint64_t> m;
  for (const auto& b : h.brackets) m[{b.stack, b.before, b.after}] += b.weight;
  return m;
}

}  // namespace

TEST_CASE("cut-short samples are bracketed by the whole samples around them, within one busy period") {
  LoopHealthTracker t(kStart, 50 * kMs);
  t.add_thread(kTid, true, kEpfd);
  t.poll_exit(kTid, kStart + 1 * kMs, kEpfd);      // period 1
  t.sample(kTid, kStart + 2 * kMs, 5, 1, true);    // before any whole sample: period start
  t.sample(kTid, kStart + 3 * kMs, 0, 1);          // whole
  t.sample(kTid, kStart + 4 * kMs, 7, 1, true);
  t.sample(kTid, kStart + 5 * kMs, 7, 1, true);
  t.sample(kTid, kStart + 6 * kMs, 1, 1);          // whole
  t.sample(kTid, kStart + 7 * kMs, 8, 1, true);    // no whole sample after it in the period
  t.poll_enter(kTid, kStart + 8 * kMs, kEpfd);
  t.sample(kTid, kStart + 9 * kMs, 9, 1, true);    // while waiting: not in any period
  t.poll_exit(kTid, kStart + 10 * kMs, kEpfd);     // period 2: nothing carries over
  t.sample(kTid, kStart + 11 * kMs, 2, 1);
  t.sample(kTid, kStart + 12 * kMs, 7, 1, true);
  t.sample(kTid, kStart + 13 * kMs, 3, 1);
  auto h = t.finish(kStart + 20 * kMs);
  REQUIRE(h.size() == 1);
  auto m = brackets_of(h[0]);
  CHECK(m.size() == 3);
  CHECK(m[{5, PhaseBracket::kPeriodStart, 0}] == 1);
  CHECK(m[{7, 0, 1}] == 2);
  CHECK(m[{7, 2, 3}] == 1);
}

TEST_CASE("samples that arrive out of order are bracketed in time order") {
  LoopHealthTracker t(kStart, 50 * kMs);
  t.add_thread(kTid, false, kEpfd);
  t.sample(kTid, kStart + 3 * kMs, 1, 1);
  t.sample(kTid, kStart + 2 * kMs, 6, 1, true);
  t.sample(kTid, kStart + 1 * kMs, 0, 1);
  auto h = t.finish(kStart + 5 * kMs);
  auto m = brackets_of(h[0]);
  CHECK(m.size() == 1);
  CHECK(m[{6, 0, 1}] == 1);
}

TEST_CASE("a compaction renumbers the stacks of open and closed brackets") {
  LoopHealthTracker t(kStart, 50 * kMs);
  t.add_thread(kTid, false, kEpfd, 0);
  t.sample(kTid, kStart + 1 * kMs, 0, 1);
  t.sample(kTid, kStart + 2 * kMs, 2, 1, true);
  t.sample(kTid, kStart + 3 * kMs, 1, 1);
  t.flush(kStart + 1000 * kMs);  // processed: one bracket closed
  t.remap_stacks({10, 11, 12});
  auto h = t.finish(kStart + 5 * kMs);
  auto m = brackets_of(h[0]);
  CHECK(m.size() == 1);
  CHECK(m[{12, 10, 11}] == 1);
}

TEST_CASE("unknown-phase samples take the phase their brackets agree on, and only that") {
  // 0 timers, 1 timers, 2 poll, 3 pending, 4 pending, 5..8 unknown (cut short), 9 poll.
  auto p = profile_with_phases({"timers", "timers", "poll", "pending", "pending", "unknown", "unknown", "unknown",
                                "unknown", "poll"});
  loop::LoopHealth h;
  h.tid = kTid;
  h.brackets = {
      {5, 0, 1, 10},                           // timers .. timers: timers
      {6, 1, 2, 10},                           // timers .. poll: stays unknown
      {7, 3, 4, 10},                           // pending .. pending: pending runs twice, stays unknown
      {8, PhaseBracket::kPeriodStart, 9, 4},   // before the first whole sample, which is poll: poll
      {8, PhaseBracket::kPeriodStart, 0, 6},   // before a first whole sample in timers: unknown
      {0, 1, 1, 3},                            // a sample with a phase is left alone
  };
  const size_t before = p.samples.size();
  CHECK(loop::infer_cut_phases(p, {h}) == 14);
  CHECK(p.samples[5].str_label(loop::kPhaseLabel) == "timers");
  CHECK(std::vector<int64_t>(p.samples[5].values.begin(), p.samples[5].values.end()) == std::vector<int64_t>{10, 10 * static_cast<int64_t>(kMs)});
  CHECK(p.samples[6].str_label(loop::kPhaseLabel) == "unknown");
  CHECK(p.samples[7].str_label(loop::kPhaseLabel) == "unknown");
  CHECK(p.samples[0].str_label(loop::kPhaseLabel) == "timers");
  // Sample 8 is split: 4 of its 10 in poll (a new sample, its CPU time in proportion), 6 unknown.
  REQUIRE(p.samples.size() == before + 1);
  CHECK(p.samples[8].str_label(loop::kPhaseLabel) == "unknown");
  CHECK(std::vector<int64_t>(p.samples[8].values.begin(), p.samples[8].values.end()) == std::vector<int64_t>{6, 6 * static_cast<int64_t>(kMs)});
  CHECK(p.samples.back().str_label(loop::kPhaseLabel) == "poll");
  CHECK(std::vector<int64_t>(p.samples.back().values.begin(), p.samples.back().values.end()) == std::vector<int64_t>{4, 4 * static_cast<int64_t>(kMs)});
  CHECK(p.samples.back().str_label(loop::kRoleLabel) == "main-loop");
}

TEST_CASE("brackets naming samples outside the profile are ignored") {
  auto p = profile_with_phases({"poll", "unknown"});
  loop::LoopHealth h;
  h.brackets = {{1, 0, 7, 5}, {9, 0, 0, 5}};
  CHECK(loop::infer_cut_phases(p, {h}) == 0);
  CHECK(p.samples[1].str_label(loop::kPhaseLabel) == "unknown");
}
