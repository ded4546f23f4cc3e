// The parts of finish_profile that need no live target: stalls resolved from the labelled profile,
// the default output name.
#include <catch2/catch.hpp>
#include <ctime>
#include <string>
#include <vector>

#include "loopperf/loop/health.h"
#include "loopperf/record/config.h"
#include "loopperf/record/finish.h"
#include "loopperf/report/report.h"

using namespace loopperf;
using loop::LoopHealth;
using loop::LoopHealthTracker;

namespace {
constexpr uint64_t kStart = 1'000'000'000'000;
constexpr uint64_t kMs = 1'000'000;
constexpr int64_t kThreshold = 50 * kMs;
constexpr pid_t kTid = 4242;
constexpr int kEpfd = 13;
}  // namespace

TEST_CASE("a stall without samples has no heaviest stack, and resolve_stalls says why") {
  LoopHealthTracker t(kStart, kThreshold);
  t.add_thread(kTid, true);
  t.poll_exit(kTid, kStart + 10 * kMs, kEpfd);
  t.poll_enter(kTid, kStart + 110 * kMs, kEpfd);
  t.sample(kTid, kStart + 5 * kMs, 1, 1);  // during the wait: not the stall's
  auto h = t.finish(kStart + 200 * kMs);
  REQUIRE(h[0].stalls.size() == 1);
  CHECK(h[0].stalls[0].heaviest_stack == -1);

  profile::Profile p;
  p.functions.push_back({"uv__run_timers", "uv__run_timers", "", 0});
  p.locations.push_back({});
  p.locations[0].lines.push_back({1, 0, 0});
  profile::Sample timers;
  timers.location_ids = {1};
  timers.labels = {{"phase", "timers", 0, "", false}, {"activity", "native", 0, "", false}};
  p.samples = {{}, timers, {}};
  LoopHealth with_stack = h[0];
  with_stack.stalls.push_back({0, 60 * static_cast<int64_t>(kMs), 1, false, "", ""});
  with_stack.stalls.push_back({0, 70 * static_cast<int64_t>(kMs), 7, false, "", ""});  // not in the profile
  std::vector<LoopHealth> all = {h[0], with_stack};
  record::resolve_stalls(all, p);
  CHECK(all[0].stalls[0].summary == loop::kStallNoSamples);
  CHECK(all[0].stalls[0].phase.empty());
  CHECK(all[1].stalls[1].phase == "timers");
  CHECK(all[1].stalls[1].summary == report::summarize_stack(p, p.samples[1], "timers", "native"));
  CHECK(all[1].stalls[1].summary.find("uv__run_timers") != std::string::npos);
  CHECK(all[1].stalls[2].phase.empty());
  CHECK(all[1].stalls[2].summary == "(stack not in the profile)");
}

TEST_CASE("the default output name carries the pid and the time") {
  std::time_t t = 1700000000;
  std::string name = record::default_output_name(4242, t);
  CHECK(name.rfind("loopperf-4242-", 0) == 0);
  CHECK(name.size() == std::string("loopperf-4242-YYYYmmdd-HHMMSS.pb.gz").size());
}
