// The loop metrics a diff compares, from the main loop's health (loop/health.h).
#include "loopperf/profile/recording_info.h"
#include "loopperf/diff/loop_metrics.h"

#include <cmath>
#include <cstdlib>

#include "loopperf/loop/health.h"

namespace loopperf::diff {

namespace {

// The main loop's health: the thread whose tid is the target's pid (tids differ between two runs,
// the role does not), or the only loop measured.
std::optional<loop::LoopHealth> main_loop(const profile::Profile& p) {
  std::vector<loop::LoopHealth> all = loop::read_loop_health(p);
  const int64_t pid = profile::read_recording_info(p).pid;
  for (auto& h : all)
    if (pid != 0 && h.tid == pid) return std::move(h);
  if (all.size() == 1) return std::move(all.front());
  return std::nullopt;
}

// Utilization (wall time outside the poll wait) as a proportion over the loop's busy periods: each
// busy period plus the wait after it is one trial whose busy fraction averages to the utilization.
// Var(X) <= mu (1 - mu) holds for any X in [0, 1], so the binomial variance is an upper bound while
// periods are alike; long and short periods mixed weigh unequally, which makes it approximate.
std::optional<LoopObservation> utilization(const profile::Profile& p) {
  auto h = main_loop(p);
  if (!h || h->busy_count == 0 || h->observed_ns <= 0) return std::nullopt;
  double n = static_cast<double>(h->busy_count);
  return LoopObservation{h->utilization * n, n};
}

// Stalls: busy periods longer than the recording's stall threshold, of all busy periods.
std::optional<LoopObservation> stalls(const profile::Profile& p) {
  auto h = main_loop(p);
  if (!h || h->busy_count == 0 || h->stall_count > h->busy_count) return std::nullopt;
  return LoopObservation{static_cast<double>(h->stall_count), static_cast<double>(h->busy_count)};
}

std::string different_thresholds(const profile::Profile& base, const profile::Profile& head) {
  auto b = main_loop(base), h = main_loop(head);
  if (!b || !h || b->stall_threshold_ns == h->stall_threshold_ns) return {};
  auto ms = [](int64_t ns) { return std::to_string(ns / 1'000'000) + " ms"; };
  return "recorded with different stall thresholds (" + ms(b->stall_threshold_ns) + " and " +
         ms(h->stall_threshold_ns) + ")";
}

}  // namespace

const std::vector<LoopMetric>& loop_metrics() {
  static const std::vector<LoopMetric> metrics = {
      {"utilization", "the main loop's health, loopperf:loop.<tid>.*", true, &utilization, nullptr},
      {"stalls", "the main loop's health, loopperf:loop.<tid>.*", true, &stalls, &different_thresholds},
  };
  return metrics;
}

}  // namespace loopperf::diff
