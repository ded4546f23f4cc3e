// `watch`'s memory of the recent past: the samples the pipeline kept (recorder.h, KeptSample) and
// the loop threads' poll waits, for the last `keep` of time and within a byte budget, oldest
// dropped first. An incident's profile is built from what it holds (incident.h).
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <deque>
#include <vector>

#include "loopperf/profile/frame.h"
#include "loopperf/profile/stack_table.h"
#include "loopperf/record/recorder.h"
#include "loopperf/sample/poll_tracer.h"

namespace loopperf::record {

class FlightRecorder {
 public:
  struct Sample {
    pid_t tid = 0;
    uint64_t time_ns = 0;
    std::vector<profile::Frame> frames;  // leaf first
    profile::StackTable::Tag tag;
    uint64_t count = 1, period = 0;
    bool cut_short = false;
  };

  FlightRecorder(uint64_t keep_ns, size_t max_bytes) : keep_ns_(keep_ns), max_bytes_(max_bytes) {}

  void kept(const KeptSample& s);
  void poll_event(const sample::PollEvent& e);
  // Forgets what is older than `now_ns` - keep, but nothing at or after `hold_from_ns` (what an
  // incident in progress will write).
  void trim(uint64_t now_ns, uint64_t hold_from_ns);

  const std::deque<Sample>& samples() const { return samples_; }
  const std::deque<sample::PollEvent>& polls() const { return polls_; }
  size_t bytes() const { return bytes_; }
  // Samples forgotten before their time for the byte budget (an incident's window then begins later).
  uint64_t dropped() const { return dropped_; }
  uint64_t dropped_polls() const { return dropped_polls_; }
  // The oldest time still held, or `now_ns` when empty.
  uint64_t oldest(uint64_t now_ns) const;
  // Where the window of an incident starting at `start_ns` begins: `keep` before it (0 at most).
  uint64_t window_start(uint64_t start_ns) const { return start_ns > keep_ns_ ? start_ns - keep_ns_ : 0; }

 private:
  static size_t cost(const Sample& s) { return sizeof(Sample) + s.frames.capacity() * sizeof(profile::Frame); }
  void pop_sample();
  void fit();  // within max_bytes

  uint64_t keep_ns_;
  size_t max_bytes_;
  std::deque<Sample> samples_;  // in the order kept (each source in time order, sources interleaved)
  std::deque<sample::PollEvent> polls_;
  size_t bytes_ = 0;
  uint64_t dropped_ = 0, dropped_polls_ = 0;
};

}  // namespace loopperf::record
