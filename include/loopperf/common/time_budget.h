// A share of wall time that some optional work may take: a token bucket filled at `share` ns per ns
// of wall time, up to `burst` ns. The caller asks before the work and charges what it took.
//
// Used where the work's cost is not ours to bound: reading a target's memory waits for the target's
// mmap lock, which a process that maps and unmaps all the time (threads, isolates, code pages) holds
// for long stretches on a loaded machine. Without a bound the recording falls behind the target,
// overruns its duration and loses samples.
#pragma once

#include <algorithm>
#include <cstdint>

namespace loopperf {

class TimeBudget {
 public:
  // share <= 0: unlimited.
  TimeBudget(double share = 0, uint64_t burst_ns = 0) : share_(share), burst_(static_cast<double>(burst_ns)),
                                                        tokens_(static_cast<double>(burst_ns)) {}

  // May the work run now? Refills from the time passed since the last call.
  bool allow(uint64_t now_ns) {
    if (share_ <= 0) return true;
    if (last_ != 0 && now_ns > last_) tokens_ = std::min(burst_, tokens_ + share_ * static_cast<double>(now_ns - last_));
    last_ = now_ns;
    if (tokens_ > 0) return true;
    refused_++;
    return false;
  }
  void charge(uint64_t ns) {
    if (share_ > 0) tokens_ -= static_cast<double>(ns);
    spent_ += ns;
  }

  uint64_t refused() const { return refused_; }
  uint64_t spent_ns() const { return spent_; }

 private:
  double share_, burst_, tokens_;
  uint64_t last_ = 0, refused_ = 0, spent_ = 0;
};

}  // namespace loopperf
