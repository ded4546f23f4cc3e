// Randomized sampling periods. A fixed period aliases with periodic work: an event loop that runs
// the same sequence of callbacks every millisecond, sampled every 1.001 ms, is seen at nearly the
// same point of its cycle sample after sample, and one function gets 45% of the samples in one run
// and 21% in the next for the same 32% of the time (measured, docs/record.md "Sampling periods").
// Each period is drawn uniformly from [0.5, 1.5] x nominal: the mean, and so the rate, is unchanged,
// and the phase of the samples against any cycle is uniform.
#pragma once

#include <cstdint>

namespace loopperf::sample {

class PeriodJitter {
 public:
  // Seeded from the clock and the address of the object: runs differ, nothing to configure.
  explicit PeriodJitter(uint64_t nominal_ns);
  PeriodJitter(uint64_t nominal_ns, uint64_t seed) : nominal_(nominal_ns), state_(seed) {}

  uint64_t nominal() const { return nominal_; }
  // The next period, in [nominal / 2, 3 x nominal / 2]; never 0.
  uint64_t next();

 private:
  uint64_t nominal_;
  uint64_t state_;  // splitmix64
};

}  // namespace loopperf::sample
