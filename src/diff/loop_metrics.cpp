// The loop metrics a diff compares when both profiles carry them. The keys are the contract for the
// recorder that will write them (docs/diff.md); until then every metric here is skipped.
#include "loopperf/diff/loop_metrics.h"

#include <cmath>
#include <cstdlib>
#include <string>

namespace loopperf::diff {

namespace {

std::optional<double> meta_number(const profile::Profile& p, std::string_view key) {
  std::string v(p.meta(key));
  if (v.empty()) return std::nullopt;
  char* end = nullptr;
  double d = std::strtod(v.c_str(), &end);
  if (*end != '\0' || !std::isfinite(d)) return std::nullopt;
  return d;
}

// loop.utilization: fraction of the main loop's time spent outside the poll wait, 0..1, measured over
// loop.utilization_n observations (samples or iterations; the test needs the count, not only the ratio).
std::optional<LoopObservation> utilization(const profile::Profile& p) {
  auto u = meta_number(p, "loop.utilization"), n = meta_number(p, "loop.utilization_n");
  if (!u || !n || *n <= 0 || *u < 0 || *u > 1) return std::nullopt;
  return LoopObservation{*u * *n, *n};
}

// loop.stalls of loop.iterations: iterations longer than the recorder's stall threshold.
std::optional<LoopObservation> stalls(const profile::Profile& p) {
  auto s = meta_number(p, "loop.stalls"), n = meta_number(p, "loop.iterations");
  if (!s || !n || *n <= 0 || *s < 0 || *s > *n) return std::nullopt;
  return LoopObservation{*s, *n};
}

}  // namespace

const std::vector<LoopMetric>& loop_metrics() {
  static const std::vector<LoopMetric> metrics = {
      {"utilization", "loop.utilization, loop.utilization_n", true, &utilization},
      {"stalls", "loop.stalls, loop.iterations", true, &stalls},
  };
  return metrics;
}

}  // namespace loopperf::diff
