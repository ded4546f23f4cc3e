#include "loopperf/sample/jitter.h"

#include "loopperf/common/duration.h"

#include <time.h>

namespace loopperf::sample {

PeriodJitter::PeriodJitter(uint64_t nominal_ns) : nominal_(nominal_ns) {
  state_ = monotonic_ns() ^ reinterpret_cast<uintptr_t>(this);
}

uint64_t PeriodJitter::next() {
  // splitmix64: tiny, fast, and good enough to decorrelate sample times from the target's cycles.
  uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  z ^= z >> 31;
  // Uniform in [0, 1) from the top 53 bits, then [0.5, 1.5) x nominal.
  double u = static_cast<double>(z >> 11) * 0x1.0p-53;
  uint64_t period = static_cast<uint64_t>(static_cast<double>(nominal_) * (0.5 + u));
  return period ? period : 1;
}

}  // namespace loopperf::sample
