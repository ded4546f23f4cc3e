// Samples every thread of one process with per-thread cpu-clock perf events. One sampler thread
// (the caller's) polls the rings; nothing here blocks the target.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "loopperf/common/result.h"
#include "loopperf/sample/jitter.h"
#include "loopperf/sample/perf_event.h"
#include "loopperf/sample/sample_record.h"

namespace loopperf::sample {

struct SamplerConfig {
  pid_t pid = 0;
  EventConfig event;
  size_t max_threads = 1024;  // hard cap on followed threads (fds + ring memory)
  bool deferred = false;      // the events stay disabled until start()
};

struct SamplerStats {
  uint64_t samples = 0;
  uint64_t lost = 0;             // samples the kernel dropped (PERF_RECORD_LOST)
  uint64_t threads_seen = 0;
  uint64_t threads_active = 0;
  uint64_t threads_skipped = 0;  // over max_threads, or perf_event_open failed for them
  uint64_t ring_bytes = 0;       // memory currently mapped for rings
};

// One followed thread: its event, and the records drained since its period was last re-drawn.
struct Followed {
  PerfEvent event;
  uint32_t since_rearm = 0;
  uint64_t nominal_ns = 0;  // its own rate's period (Sampler::set_rate); 0: the sampler's
  // A cpu-clock sample reports the period its event was opened with, whatever PERF_EVENT_IOC_PERIOD
  // set since (the kernel's hrtimer events never update it): after set_rate, the period a sample
  // stands for is the rate's at its time, this one from `rate_since_ns` on, `before_ns` earlier.
  uint64_t rate_since_ns = 0;
  uint64_t before_ns = 0;
};

class Sampler {
 public:
  using SampleFn = std::function<void(const RawSample&)>;

  // Preflight + opens events for every current thread. The first failure on the main thread is
  // returned as an Error that names the fix; failures on other threads are counted.
  static Result<std::unique_ptr<Sampler>> create(const SamplerConfig& cfg, SampleFn on_sample);
  ~Sampler();

  // Opens events for threads that appeared since the last scan; closes those that ended.
  void scan_threads();
  // Enables the events of a deferred sampler (SamplerConfig::deferred); no-op otherwise.
  void start();
  // Waits up to `timeout` for data, then drains every ring.
  // `also_wake`: other fds whose data ends the wait too (they are not read here).
  void poll(std::chrono::milliseconds timeout, const std::vector<int>& also_wake = {});
  // Samples thread `tid` at `hz` from now on (0: the sampler's rate again); its samples report the
  // period they stand for. No-op for a thread not followed.
  void set_rate(pid_t tid, int hz);
  // Drains every ring once more (after disabling) so nothing already recorded is lost.
  void finish();

  const SamplerStats& stats() const { return stats_; }
  // Whether kernel frames are recorded: false when asked not to, or after the fallback to user
  // frames when the kernel refused them.
  bool kernel_frames() const { return cfg_.event.kernel; }
  // tid -> thread name (comm), for every thread seen, remembered after it ends.
  const std::map<pid_t, std::string>& thread_names() const { return names_; }

 private:
  Sampler(const SamplerConfig& cfg, SampleFn fn);
  bool add_thread(pid_t tid, Error* first_error);
  // Drains the rings; `rearm`: re-draw the period of threads due for it (not for ended or disabled ones).
  void drain_all(bool rearm = true);
  void handle(const perf_event_header* h, const Followed& f);
  void drain(Followed& f, bool rearm);
  // The next period of `f`: a draw around its own rate's period (jitter.h), or that period itself
  // when periods cannot be changed.
  uint64_t next_period(const Followed& f);

  SamplerConfig cfg_;
  SampleFn on_sample_;
  PeriodJitter jitter_;
  bool jitter_on_ = true;
  std::map<pid_t, Followed> events_;
  std::map<pid_t, std::string> names_;
  std::map<pid_t, bool> failed_;  // tids we could not open, not retried
  SamplerStats stats_;
  bool enabled_ = false;  // the events count (start() was called, or the sampler is not deferred)
};

}  // namespace loopperf::sample
