#include "loopperf/record/flight_recorder.h"

#include <algorithm>

namespace loopperf::record {

void FlightRecorder::kept(const KeptSample& s) {
  Sample c;
  c.tid = s.tid;
  c.time_ns = s.time_ns;
  c.frames.assign(s.frames.begin(), s.frames.end());
  c.tag = s.tag;
  c.count = s.count;
  c.period = s.period;
  c.cut_short = s.cut_short;
  bytes_ += cost(c);
  samples_.push_back(std::move(c));
  fit();
}

void FlightRecorder::poll_event(const sample::PollEvent& e) {
  polls_.push_back(e);
  bytes_ += sizeof(sample::PollEvent);
  fit();
}

void FlightRecorder::fit() {
  // Over budget: the oldest go first, even when an incident holds them (its window begins later).
  // A loop that turns 100k times a second (a setImmediate chain) makes most of it poll events.
  while (bytes_ > max_bytes_ && samples_.size() + polls_.size() > 1) {
    if (!polls_.empty() && (samples_.empty() || polls_.front().time_ns <= samples_.front().time_ns)) {
      polls_.pop_front();
      bytes_ -= sizeof(sample::PollEvent);
      dropped_polls_++;
    } else {
      pop_sample();
      dropped_++;
    }
  }
}

void FlightRecorder::pop_sample() {
  bytes_ -= cost(samples_.front());
  samples_.pop_front();
}

void FlightRecorder::trim(uint64_t now_ns, uint64_t hold_from_ns) {
  const uint64_t cutoff = std::min(window_start(now_ns), hold_from_ns);
  // Sources are interleaved (rings drained in turn, wall samples in batches): a sample a little
  // out of order only waits for the next trim.
  while (!samples_.empty() && samples_.front().time_ns < cutoff) pop_sample();
  while (!polls_.empty() && polls_.front().time_ns < cutoff) {
    polls_.pop_front();
    bytes_ -= sizeof(sample::PollEvent);
  }
}

uint64_t FlightRecorder::oldest(uint64_t now_ns) const {
  uint64_t t = now_ns;
  if (!samples_.empty()) t = std::min(t, samples_.front().time_ns);
  if (!polls_.empty()) t = std::min(t, polls_.front().time_ns);
  return t;
}

}  // namespace loopperf::record
